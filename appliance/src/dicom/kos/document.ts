import type { DcmDataset } from '../dataset/dcmjs.js';
import { codeItem, integerString, personName, sequence, text } from '../dataset/elements.js';
import { dicomInstant } from '../dataset/datetime.js';
import { writePart10 } from '../dataset/part10.js';
import { EXPLICIT_VR_LE } from '../transfer-syntax-uids.js';
import { EncodeError } from '../dataset/encode.js';
import { KEY_OBJECT_DESCRIPTION, KOS_SERIES_NUMBER, KOS_SOP_CLASS_UID, KOS_TEMPLATE, type Code } from './codes.js';
import { KosBuildError } from './errors.js';
import { referenceValueType } from './value-type.js';
import { createUid, isValidUid } from '../uid.js';
import type { KosSeriesRef, KosStudy } from './types.js';
import { fitText, fitPersonName } from './vr.js';

/**
 * Assembles a Key Object Selection Document (PS3.3 A.35.4): Patient, General Study, Key Object Document Series,
 * General Equipment, Key Object Document, SR Document Content (TID 2010) and SOP Common modules.
 * Shared by the IMG-KOS manifest and the IOCM rejection note; they differ by title, patient and request.
 */
export interface KosDocumentParts {
  title: Code;
  /** Patient Module attributes, already encoded. */
  patient: DcmDataset;
  study: KosStudy;
  studyDate?: string;
  studyTime?: string;
  /** Referenced Request Sequence items (Key Object Document Module, Type 1C). */
  requests: DcmDataset[];
  /** Base of the per-series Retrieve URL (WADO-RS); none: no Retrieve URL. */
  retrieveBaseUrl?: string;
  /** Text of the (113012, DCM, "Key Object Description") item; none: no TEXT item. */
  description?: string;
  uidRoot: string;
  now: Date;
  sopInstanceUid?: string;
  seriesInstanceUid?: string;
  manufacturer: string;
  institutionName?: string;
}

export interface KosDocument {
  part10: Buffer;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  instanceCount: number;
}

interface CleanSeries extends KosSeriesRef {
  retrieveUrl?: string;
}

export function composeKos(parts: KosDocumentParts): KosDocument {
  const studyUid = checkedUid(parts.study.studyInstanceUid, 'Study Instance UID');
  const sopInstanceUid = parts.sopInstanceUid ? checkedUid(parts.sopInstanceUid, 'KOS SOP Instance UID') : newUid(parts.uidRoot);
  const seriesInstanceUid = parts.seriesInstanceUid ? checkedUid(parts.seriesInstanceUid, 'KOS Series Instance UID') : newUid(parts.uidRoot);
  const base = parts.retrieveBaseUrl === undefined ? undefined : checkedBaseUrl(parts.retrieveBaseUrl);
  const series = cleanSeries(parts.study.series, studyUid, base);
  const instanceCount = series.reduce((n, s) => n + s.instances.length, 0);
  if (instanceCount === 0) throw new KosBuildError(`study ${studyUid} has no instance to reference: a KOS needs at least one`);

  const created = dicomInstant(parts.now);
  const study = parts.study;
  const dataset: DcmDataset = {
    // SOP Common
    '00080005': text('CS', 'ISO_IR 192'), // UTF-8: French names and accents
    '00080012': text('DA', created.date),
    '00080013': text('TM', created.time),
    '00080016': text('UI', KOS_SOP_CLASS_UID),
    '00080018': text('UI', sopInstanceUid),
    '00080201': text('SH', created.timezoneOffset),
    ...parts.patient,
    // General Study
    '0020000D': text('UI', studyUid),
    '00080020': text('DA', parts.studyDate),
    '00080030': text('TM', parts.studyTime),
    '00080090': personName(fitPersonName(study.referringPhysicianName)),
    '00200010': text('SH', fitText('SH', study.studyId)),
    // Empty in every ANS and PoC sample: the accession lives in the Referenced Request Sequence (ci-sis-imaging.md §1.3).
    '00080050': text('SH'),
    '00081030': text('LO', fitText('LO', study.studyDescription)),
    // Key Object Document Series
    '00080060': text('CS', 'KO'),
    '0020000E': text('UI', seriesInstanceUid),
    '00200011': integerString(KOS_SERIES_NUMBER),
    '00080021': text('DA', created.date),
    '00080031': text('TM', created.time),
    '00081111': sequence(),
    // General Equipment
    '00080070': text('LO', fitText('LO', parts.manufacturer)),
    ...(parts.institutionName ? { '00080080': text('LO', fitText('LO', parts.institutionName)) } : {}),
    // Key Object Document
    '00200013': integerString(1),
    '00080023': text('DA', created.date),
    '00080033': text('TM', created.time),
    ...(parts.requests.length ? { '0040A370': sequence(...parts.requests) } : {}),
    '0040A375': sequence(evidenceItem(studyUid, series)),
    // SR Document Content
    '0040A040': text('CS', 'CONTAINER'),
    '0040A043': sequence(codeItem(parts.title)),
    '0040A050': text('CS', 'SEPARATE'),
    '0040A504': sequence({ '00080105': text('CS', KOS_TEMPLATE.mappingResource), '0040DB00': text('CS', KOS_TEMPLATE.identifier) }),
    '0040A730': sequence(...contentItems(series, parts.description)),
  };
  let part10: Buffer;
  try {
    part10 = writePart10(dataset, { sopClassUid: KOS_SOP_CLASS_UID, sopInstanceUid, transferSyntaxUid: EXPLICIT_VR_LE });
  } catch (err) {
    // A value the checks above let through; still the input's fault, reported as such.
    if (err instanceof EncodeError) throw new KosBuildError(`cannot encode the KOS of study ${studyUid}: ${err.message}`);
    throw err;
  }
  return { part10, sopInstanceUid, seriesInstanceUid, instanceCount };
}

function newUid(root: string): string {
  try {
    return createUid(root);
  } catch (err) {
    throw new KosBuildError((err as Error).message);
  }
}

function checkedUid(uid: string, what: string): string {
  const trimmed = uid?.trim() ?? '';
  if (!isValidUid(trimmed)) throw new KosBuildError(`${what} "${uid}" is not a valid DICOM UID (digits and dots, at most 64 characters)`);
  return trimmed;
}

function checkedBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new KosBuildError(`retrieve base URL "${raw}" is not a URL: expected this box's public WADO-RS base, e.g. https://db1.example.fr/dicom-web`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new KosBuildError(`retrieve base URL "${raw}" must be http(s)`);
  if (url.search || url.hash) throw new KosBuildError(`retrieve base URL "${raw}" must not carry a query or fragment`);
  return url.href.replace(/\/+$/, '');
}

/** Validates UIDs, drops duplicate instances and empty series, orders instances by Instance Number when known. */
function cleanSeries(series: KosSeriesRef[], studyUid: string, base: string | undefined): CleanSeries[] {
  const seenSeries = new Set<string>();
  const seenInstances = new Set<string>();
  const out: CleanSeries[] = [];
  for (const s of series) {
    const seriesUid = checkedUid(s.seriesInstanceUid, `Series Instance UID in study ${studyUid}`);
    if (seenSeries.has(seriesUid)) throw new KosBuildError(`series ${seriesUid} is listed twice in study ${studyUid}`);
    seenSeries.add(seriesUid);
    const instances = [];
    for (const i of s.instances) {
      const sop = checkedUid(i.sopInstanceUid, `SOP Instance UID in series ${seriesUid}`);
      const sopClass = checkedUid(i.sopClassUid, `SOP Class UID of instance ${sop}`);
      if (seenInstances.has(sop)) continue;
      seenInstances.add(sop);
      instances.push({ ...i, sopInstanceUid: sop, sopClassUid: sopClass });
    }
    if (!instances.length) continue;
    instances.sort((a, b) => (a.instanceNumber ?? Infinity) - (b.instanceNumber ?? Infinity));
    out.push({
      ...s,
      seriesInstanceUid: seriesUid,
      instances,
      retrieveUrl: base && `${base}/studies/${studyUid}/series/${seriesUid}`,
    });
  }
  return out;
}

function sopReference(i: { sopClassUid: string; sopInstanceUid: string }): DcmDataset {
  return { '00081150': text('UI', i.sopClassUid), '00081155': text('UI', i.sopInstanceUid) };
}

/** Current Requested Procedure Evidence Sequence item (Hierarchical SOP Instance Reference Macro). */
function evidenceItem(studyUid: string, series: CleanSeries[]): DcmDataset {
  return {
    '0020000D': text('UI', studyUid),
    '00081115': sequence(
      ...series.map((s) => ({
        '0020000E': text('UI', s.seriesInstanceUid),
        // One WADO-RS URL per series on this box, not on the PACS (ci-sis-imaging.md §1.4).
        ...(s.retrieveUrl ? { '00081190': text('UR', s.retrieveUrl) } : {}),
        '00081199': sequence(...s.instances.map(sopReference)),
      })),
    ),
  };
}

/** TID 2010 content: the optional description first (row order of the template), then one item per instance. */
function contentItems(series: CleanSeries[], description: string | undefined): DcmDataset[] {
  const items: DcmDataset[] = [];
  if (description) {
    items.push({
      '0040A010': text('CS', 'CONTAINS'),
      '0040A040': text('CS', 'TEXT'),
      '0040A043': sequence(codeItem(KEY_OBJECT_DESCRIPTION)),
      '0040A160': text('UT', description),
    });
  }
  for (const s of series) {
    for (const i of s.instances) {
      items.push({
        '0040A010': text('CS', 'CONTAINS'),
        '0040A040': text('CS', referenceValueType(i.sopClassUid)),
        '00081199': sequence(sopReference(i)),
      });
    }
  }
  return items;
}
