import type { ReportEvent } from './types.js';

/** A value the box or the DMP would refuse later: said before the ACK, with where it is in the message. */
export interface LimitProblem {
  location: string;
  text: string;
}

// DICOM value lengths (PS3.5 Table 6.2-1): PN 64 characters per component group, LO 64, SH 16, UI 64. The KOS
// carries these values, and `dciodvfy` (and the DMP's checks of the KOS) refuse longer ones. ebRIM slot and
// ExternalIdentifier values are at most 256 characters (ebRIM 3.0 LongName/ShortName, ITI TF-3 §4.2.3).
const PN_GROUP = 64;
const LO = 64;
const SH = 16;
const UI = 64;
const EBRIM = 256;
/** Control characters (an escaped \X0D\ in an identifier): no identifier may carry them. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Checks the values of a report that end up in the KOS and the DMP metadata. The first problem found, or
 * undefined; locations are the HL7 fields the values come from (PID-5 name, PID-3 identifiers, OBR-18 accession).
 */
export function checkReportLimits(report: ReportEvent): LimitProblem | undefined {
  const p = report.patient;
  const name = [p.birthName, p.givenNames ?? p.firstGivenName].filter(Boolean).join('^');
  const checks: [boolean, string, string][] = [
    [name.length > PN_GROUP, 'PID^1^5', `the patient's name has ${name.length} characters, more than the ${PN_GROUP} DICOM allows (PS3.5 PN)`],
    [CONTROL.test(name), 'PID^1^5', "the patient's name holds a control character"],
  ];
  for (const [what, id] of [['INS', p.ins?.value], ['IPP', p.ipp?.value]] as const) {
    if (id === undefined) continue;
    checks.push([id.length > LO, 'PID^1^3', `the ${what} has ${id.length} characters, more than ${LO}`]);
    checks.push([CONTROL.test(id), 'PID^1^3', `the ${what} holds a control character`]);
  }
  const accession = report.accession?.value;
  if (accession !== undefined) {
    checks.push([accession.length > SH, 'OBR^1^18', `the accession number has ${accession.length} characters, more than the ${SH} DICOM allows (PS3.5 SH)`]);
    checks.push([CONTROL.test(accession), 'OBR^1^18', 'the accession number holds a control character']);
  }
  for (const uid of report.studyInstanceUids ?? (report.studyInstanceUid ? [report.studyInstanceUid] : [])) {
    checks.push([uid.length > UI || !/^[0-9.]+$/.test(uid), 'OBX^1^5', `Study Instance UID "${uid.slice(0, 80)}" is not a UID of at most ${UI} characters`]);
  }
  const id = report.document.id;
  if (id !== undefined) checks.push([id.length > EBRIM, 'OBX^1^5', `the document id has ${id.length} characters, more than the DMP's ${EBRIM}`]);
  const found = checks.find(([bad]) => bad);
  return found && { location: found[1], text: found[2] };
}
