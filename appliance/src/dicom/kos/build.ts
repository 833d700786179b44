import type { IssuedId, ReportEvent } from '../../report/types.js';
import type { DcmDataset } from '../dataset/dcmjs.js';
import { personName, sequence, text } from '../dataset/elements.js';
import { splitHl7Timestamp } from '../dataset/datetime.js';
import { insIssuerName, MANIFEST } from './codes.js';
import { composeKos } from './document.js';
import { KosBuildError } from './errors.js';
import { isValidUid } from '../uid.js';
import { checkedIdentifier, fitText, personNameOf, validDate, validTime } from './vr.js';
import type { BuiltKos, KosBuildInput, KosStudy } from './types.js';

/**
 * Builds the IMG-KOS manifest of one exam (ci-sis-imaging.md §1): patient as INS, the request that links it to
 * the report, one Retrieve URL per series on this box, TID 2010 content. Throws KosBuildError on inputs that
 * would make a KOS the DMP or a consumer cannot use.
 */
export function buildKos(input: KosBuildInput): BuiltKos {
  const { report, study } = input;
  const studyUid = study.studyInstanceUid?.trim();
  if (report.studyInstanceUid && report.studyInstanceUid.trim() !== studyUid) {
    throw new KosBuildError(
      `the report is for study ${report.studyInstanceUid} but the images found are study ${studyUid}: refusing to publish a KOS linking them`,
    );
  }
  const { date: studyDate, time: studyTime } = studyDateTime(study, report);
  const built = composeKos({
    title: MANIFEST,
    patient: insPatient(report),
    study,
    studyDate,
    studyTime,
    requests: [requestItem(report, studyUid)],
    retrieveBaseUrl: input.retrieveBaseUrl,
    description: keyObjectDescription(study, report),
    uidRoot: input.uidRoot,
    now: input.now ?? new Date(),
    sopInstanceUid: input.sopInstanceUid,
    seriesInstanceUid: input.seriesInstanceUid,
    manufacturer: input.manufacturer ?? 'DRIMbox',
    institutionName: input.institutionName ?? report.organisation?.name,
  });
  return { ...built, studyInstanceUid: studyUid };
}

/** Study date/time from the PACS; else the exam start of the report; else its document time. */
function studyDateTime(study: KosStudy, report: ReportEvent): { date?: string; time?: string } {
  const date = validDate(study.studyDate);
  if (date) return { date, time: validTime(study.studyTime) };
  for (const ts of [report.examStart, report.document.effectiveTime]) {
    const split = splitHl7Timestamp(ts);
    if (split.date) return split;
  }
  return {};
}

function issuerOid(id: IssuedId, what: string): string | undefined {
  const oid = id.issuerOid?.trim();
  if (!oid) return undefined;
  if (!isValidUid(oid)) throw new KosBuildError(`issuer of the ${what} "${oid}" is not an ISO OID`);
  return oid;
}

/** HL7 v2 Hierarchic Designator macro item with the OID as Universal Entity ID (PS3.3 Table 10-17). */
function issuerItem(oid: string): DcmDataset {
  return { '00400032': text('UT', oid), '00400033': text('CS', 'ISO') };
}

/** Patient Module with the INS as Patient ID (ci-sis-imaging.md §1.2). */
function insPatient(report: ReportEvent): DcmDataset {
  const p = report.patient;
  const ins = p.ins;
  const id = checkedIdentifier('LO', ins?.value, 'INS');
  if (!ins || !id) {
    throw new KosBuildError('the report has no INS: DRIM-M identifies the patient by the qualified INS (PID-3 or CDA recordTarget)');
  }
  const oid = issuerOid(ins, 'INS');
  if (!oid) throw new KosBuildError(`the INS ${id} has no OID: expected 1.2.250.1.213.1.4.8 (NIR), .9 (NIA), .10 or .11 (test)`);
  const issuer = insIssuerName(oid);
  const name = personNameOf(p.birthName, p.firstGivenName);
  // ANS sample: used name first, then birth names (ci-sis-imaging.md §1.2).
  const otherNames = [personNameOf(p.usedName, p.usedGivenName), personNameOf(p.birthName, p.givenNames ?? p.firstGivenName)];
  return {
    '00100010': personName(name),
    '00100020': text('LO', id),
    '00100021': text('LO', issuer),
    '00100024': sequence(issuerItem(oid)),
    '00100030': text('DA', validDate(p.birthDate)),
    // INS sex is M/F; "U" (unknown) stays empty rather than becoming DICOM "O" (other).
    '00100040': text('CS', p.sex === 'M' || p.sex === 'F' ? p.sex : undefined),
    '00101001': personName(...new Set(otherNames.filter((n): n is string => !!n))),
    '00101002': sequence({
      '00100020': text('LO', id),
      '00100021': text('LO', issuer),
      '00100022': text('CS', 'TEXT'),
      '00100024': sequence(issuerItem(oid)),
    }),
    // INSEE code of the birth place, as in the ANS sample (ci-sis-imaging.md §1.2).
    ...(p.birthPlaceCode ? { '00104000': text('LT', fitText('LT', p.birthPlaceCode)) } : {}),
  };
}

/** Referenced Request Sequence item: accession, orders and study that tie the KOS to the report (§1.3). */
function requestItem(report: ReportEvent, studyUid: string): DcmDataset {
  const accession = report.accession && checkedIdentifier('SH', report.accession.value, 'accession number');
  const accessionIssuer = report.accession && issuerOid(report.accession, 'accession number');
  const placer = report.placerOrder && checkedIdentifier('LO', report.placerOrder.value, 'placer order number');
  const placerIssuer = report.placerOrder && issuerOid(report.placerOrder, 'placer order number');
  const filler = report.fillerOrder && checkedIdentifier('LO', report.fillerOrder.value, 'filler order number');
  const fillerIssuer = report.fillerOrder && issuerOid(report.fillerOrder, 'filler order number');
  return {
    '0020000D': text('UI', studyUid),
    '00081110': sequence(),
    '00080050': text('SH', accession),
    ...(accessionIssuer ? { '00080051': sequence(issuerItem(accessionIssuer)) } : {}),
    '00402016': text('LO', placer),
    ...(placerIssuer ? { '00400026': sequence(issuerItem(placerIssuer)) } : {}),
    '00402017': text('LO', filler),
    ...(fillerIssuer ? { '00400027': sequence(issuerItem(fillerIssuer)) } : {}),
    '00401001': text('SH'),
    '00321060': text('LO', fitText('LO', report.examDescription)),
    '00321064': sequence(),
  };
}

/**
 * Human summary in the layout of the ANS demonstrator and samples, which consumers built on it parse to list
 * series and modalities (ans-reference-drimbox.md §2.4: "Examen : …", "Acte = …", "Série-<uid> : <modality> @ : <desc>").
 */
function keyObjectDescription(study: KosStudy, report: ReportEvent): string {
  const lines = [`Examen : ${study.studyDescription ?? ''}`, `Acte = ${report.examDescription ?? ''}`];
  for (const s of study.series) {
    if (s.instances.length) lines.push(`Série-${s.seriesInstanceUid} : ${s.modality ?? ''} @ : ${s.seriesDescription ?? ''}`);
  }
  return lines.join('\n') + '\n';
}
