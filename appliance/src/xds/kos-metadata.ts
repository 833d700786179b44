import type { ReportEvent } from '../report/types.js';
import { CONFIDENTIALITY, EVENT_SCHEME, MODALITY_DISPLAY, NON_ACQUISITION_MODALITIES, REFERENCE_ID_TYPE, type Code } from './codes.js';
import { cx, hl7Escape, isOid, MetadataError, xcn, xon } from './hl7-types.js';
import type { AuthorValue } from './metadata.js';
import type { KosFacts, XdsSubmissionContext } from './types.js';

/* The KOS-specific XDS metadata values, from the report and the KOS (ci-sis-imaging.md §2.1). */

/** Confidentiality from the report's DMP flags (JDV_J58): N always, plus each visibility restriction asked for. */
export function confidentialityCodes(flags: ReportEvent['dmp']): Code[] {
  const codes: Code[] = [CONFIDENTIALITY.normal];
  if (flags.maskedFromProfessionals) codes.push(CONFIDENTIALITY.maskedFromProfessionals);
  if (flags.invisibleToPatient) codes.push(CONFIDENTIALITY.invisibleToPatient);
  if (flags.invisibleToLegalRepresentatives) codes.push(CONFIDENTIALITY.invisibleToLegalRepresentatives);
  return codes;
}

/** eventCodeList: one code per acquisition modality (KOS series and report), one per anatomic region of the report. */
export function eventCodes(report: ReportEvent, facts: KosFacts): Code[] {
  const modalities = new Map<string, Code>();
  const addModality = (code: string, display?: string) => {
    const m = code.trim().toUpperCase();
    if (!m || NON_ACQUISITION_MODALITIES.has(m) || modalities.has(m)) return;
    modalities.set(m, { code: m, scheme: EVENT_SCHEME.modality, display: MODALITY_DISPLAY[m] ?? display ?? m });
  };
  facts.modalities.forEach((m) => addModality(m));
  report.modalities.forEach((m) => addModality(m.code, m.display));
  const regions = new Map<string, Code>();
  for (const r of report.regions) {
    if (r.code && !regions.has(r.code)) regions.set(r.code, { code: r.code, scheme: EVENT_SCHEME.anatomicRegion, display: r.display ?? r.code });
  }
  return [...modalities.values(), ...regions.values()];
}

/** referenceIdList CX values (IHE ITI TF-3 §4.2.3.2.28; ci-sis-imaging.md §2.1). */
export function referenceIds(report: ReportEvent, facts: KosFacts, warnings: string[]): string[] {
  const out: string[] = [];
  const acc = report.accession;
  if (acc?.value) {
    if (acc.issuerOid && isOid(acc.issuerOid)) out.push(cx(acc.value, acc.issuerOid, REFERENCE_ID_TYPE.accession));
    else warnings.push(`accession number ${acc.value} has no issuer OID: left out of referenceIdList`);
  } else {
    warnings.push('the report carries no accession number');
  }
  // "Only the CX.1 and CX.5 components shall be present" for a Study Instance UID.
  out.push(`${hl7Escape(facts.studyInstanceUid)}^^^^${REFERENCE_ID_TYPE.studyInstanceUid}`);
  const order = report.placerOrder?.value ? report.placerOrder : report.fillerOrder;
  if (order?.value) {
    if (order.issuerOid && isOid(order.issuerOid)) out.push(cx(order.value, order.issuerOid, REFERENCE_ID_TYPE.order));
    else warnings.push(`order number ${order.value} has no issuer OID: left out of referenceIdList`);
  }
  return out;
}

/** Author (and legal authenticator): the radiologist who validated the report, for the report's structure or the box's. */
export function authorOf(report: ReportEvent, context: XdsSubmissionContext): AuthorValue {
  const org = report.organisation;
  const structureId = org?.id?.value || context.structure.id;
  const structureName = org?.name || context.structure.name;
  const authority = org?.id?.value && org.id.issuerOid && isOid(org.id.issuerOid) ? org.id.issuerOid : undefined;
  return {
    person: xcn(report.legalAuthenticator, 'author (validating radiologist)'),
    institutions: [xon(structureName, structureId, authority)],
  };
}

export function checkConsistency(report: ReportEvent, facts: KosFacts): void {
  if (!isOid(facts.sopInstanceUid)) throw new MetadataError(`KOS SOP Instance UID "${facts.sopInstanceUid}" is not a UID`);
  if (!isOid(facts.studyInstanceUid)) throw new MetadataError(`Study Instance UID "${facts.studyInstanceUid}" is not a UID`);
  if (report.studyInstanceUid && report.studyInstanceUid !== facts.studyInstanceUid) {
    throw new MetadataError(`the KOS references study ${facts.studyInstanceUid} but the report is about ${report.studyInstanceUid}`);
  }
}
