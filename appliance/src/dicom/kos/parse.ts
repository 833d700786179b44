import type { DcmDataset } from '../dataset/dcmjs.js';
import { readCode, readItems, readString } from '../dataset/elements.js';
import { readPart10 } from '../dataset/part10.js';
import { isRejectionTitle, KOS_SOP_CLASS_UID } from './codes.js';
import { KosParseError } from './errors.js';
import type { KosManifest, KosManifestSeries } from './types.js';

/**
 * Reads any Key Object Selection document: ours, other DRIMboxes' (Implicit VR, ISO_IR 100, no Content Template
 * Sequence), IOCM rejection notes. Refuses, with a KosParseError saying what was found, anything that is not a
 * KOS or does not say which instances it references.
 */
export function parseKos(part10: Buffer | Uint8Array): KosManifest {
  let file;
  try {
    file = readPart10(part10);
  } catch (err) {
    throw new KosParseError(`not a KOS: ${(err as Error).message}`, { cause: err });
  }
  const ds = file.dataset;
  const sopClassUid = readString(ds, '00080016') ?? readString(file.meta, '00020002');
  if (sopClassUid !== KOS_SOP_CLASS_UID) {
    throw new KosParseError(
      `not a KOS: SOP Class UID is ${sopClassUid ?? 'missing'}, expected ${KOS_SOP_CLASS_UID} (Key Object Selection Document)`,
    );
  }
  const sopInstanceUid = uid(readString(ds, '00080018') ?? readString(file.meta, '00020003'), 'SOP Instance UID (0008,0018)');
  const studyInstanceUid = uid(readString(ds, '0020000D'), 'Study Instance UID (0020,000D)');
  const documentTitle = readCode(readItems(ds, '0040A043')[0]);
  const request = readItems(ds, '0040A370')[0];

  const manifest: KosManifest = {
    sopInstanceUid,
    sopClassUid,
    ...(documentTitle ? { documentTitle } : {}),
    patient: patientOf(ds),
    studyInstanceUid,
    series: evidenceOf(ds, sopInstanceUid),
  };
  // The accession sits in the Referenced Request Sequence in DRIM-M KOS; other producers put it at the top level.
  const accession =
    issued(request, '00080050', '00080051') ?? issued(ds, '00080050', '00080051');
  if (accession) manifest.accession = accession;
  const placerOrder = issued(request, '00402016', '00400026');
  if (placerOrder) manifest.placerOrder = placerOrder;
  const contentDate = readString(ds, '00080023');
  if (contentDate) manifest.contentDate = contentDate;
  if (isRejectionTitle(documentTitle)) manifest.rejection = true;
  return manifest;
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new KosParseError(`KOS without ${what}`);
  return value;
}

/**
 * UIDs end up in WADO-RS paths and database keys: only numbers separated by single dots are let through (dcmjs
 * already strips other characters, which can leave "..": refused here). Leading zeros, which PS3.5 forbids but
 * some producers write, are tolerated.
 */
function uid(value: string | undefined, what: string): string {
  const v = required(value, what);
  if (v.length > 64 || !/^\d+(\.\d+)*$/.test(v)) {
    throw new KosParseError(`${what} "${v.slice(0, 80)}" is not a UID (numbers separated by single dots, at most 64 characters)`);
  }
  return v;
}

function issued(ds: DcmDataset | undefined, valueTag: string, issuerSequenceTag: string) {
  const value = readString(ds, valueTag);
  if (!value) return undefined;
  const issuerOid = readString(readItems(ds, issuerSequenceTag)[0], '00400032');
  return issuerOid ? { value, issuerOid } : { value };
}

function patientOf(ds: DcmDataset): KosManifest['patient'] {
  const entries = {
    id: readString(ds, '00100020'),
    issuer: readString(ds, '00100021'),
    issuerOid: readString(readItems(ds, '00100024')[0], '00400032'),
    name: readString(ds, '00100010'),
    birthDate: readString(ds, '00100030'),
    sex: readString(ds, '00100040'),
  };
  return Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));
}

/** Current Requested Procedure Evidence Sequence → series with their instances (Hierarchical SOP Instance Reference). */
function evidenceOf(ds: DcmDataset, sopInstanceUid: string): KosManifestSeries[] {
  const studies = readItems(ds, '0040A375');
  if (!studies.length) {
    throw new KosParseError(`KOS ${sopInstanceUid} has no Current Requested Procedure Evidence Sequence (0040,A375): it references nothing`);
  }
  const out: KosManifestSeries[] = [];
  for (const study of studies) {
    const studyUidValue = readString(study, '0020000D');
    const studyUid = studyUidValue && uid(studyUidValue, `Study Instance UID in the evidence of KOS ${sopInstanceUid}`);
    for (const series of readItems(study, '00081115')) {
      const seriesUid = uid(readString(series, '0020000E'), `Series Instance UID in the evidence of KOS ${sopInstanceUid}`);
      const instances = readItems(series, '00081199').map((ref) => ({
        sopClassUid: uid(readString(ref, '00081150'), `Referenced SOP Class UID in series ${seriesUid}`),
        sopInstanceUid: uid(readString(ref, '00081155'), `Referenced SOP Instance UID in series ${seriesUid}`),
      }));
      const entry: KosManifestSeries = { seriesInstanceUid: seriesUid, instances };
      if (studyUid) entry.studyInstanceUid = studyUid;
      const retrieveUrl = readString(series, '00081190');
      if (retrieveUrl) entry.retrieveUrl = retrieveUrl;
      const retrieveAeTitle = readString(series, '00080054');
      if (retrieveAeTitle) entry.retrieveAeTitle = retrieveAeTitle;
      out.push(entry);
    }
  }
  if (!out.some((s) => s.instances.length)) {
    throw new KosParseError(`KOS ${sopInstanceUid} references no instance in its evidence sequence`);
  }
  return out;
}
