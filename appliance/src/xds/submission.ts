import { createHash, randomUUID } from 'node:crypto';
import type { Signer } from '../auth/signer/signer.js';
import type { ReportEvent } from '../report/types.js';
import { ASSOCIATION, CONFIDENTIALITY, EVENT_SCHEME, FACILITY_TYPE_SCHEME, KOS, NS, PRACTICE_SETTING_SCHEME, SIGNATURE_ENTRY, type Code } from './codes.js';
import { dtm, insPatientId, sourcePatientId, sourcePatientInfo, tsToUtcDtm } from './hl7-types.js';
import { newSubmissionIds, type SubmissionIds } from './ids.js';
import { authorOf, checkConsistency, confidentialityCodes, eventCodes, referenceIds } from './kos-metadata.js';
import { associationXml, documentEntryXml, hasMember, submissionSetXml, submitObjectsRequestXml, type DocumentEntryMetadata } from './metadata.js';
import type { KosFacts, XdsSubmissionContext } from './types.js';
import { esc } from './xml.js';
import { buildXadesSignature } from './xades.js';

export type { SubmissionIds } from './ids.js';
export { newSubmissionIds, newSubmissionSetUniqueId, uuidOid } from './ids.js';

export interface ProvideAndRegisterInput {
  report: ReportEvent;
  kos: { bytes: Buffer; facts: KosFacts };
  context: XdsSubmissionContext;
  signer: Signer;
  /** entryUUID of the DocumentEntry this KOS replaces (RPLC), found by ITI-18 on the previous uniqueId. */
  replacesEntryUUID?: string;
  ids?: Partial<SubmissionIds>;
  now?: Date;
}

export interface SubmissionDocument {
  /** ExtrinsicObject id = Document/@id. */
  entryUUID: string;
  uniqueId: string;
  mimeType: string;
  bytes: Buffer;
}

export interface BuiltSubmission {
  ids: SubmissionIds;
  /** xdsb:ProvideAndRegisterDocumentSetRequest with xop:Include where each document goes (cid = `contentIds`). */
  requestXml: string;
  documents: SubmissionDocument[];
  /** Content-ID (without angle brackets) of each document's MIME part, by entryUUID. */
  contentIds: Record<string, string>;
  /** Data the report lacked that the metadata would normally carry (published anyway). */
  warnings: string[];
}

function sha1Hex(bytes: Buffer): string {
  return createHash('sha1').update(bytes).digest('hex');
}

/**
 * Builds the ITI-41 request of a KOS publication (or replacement): SubmissionSet, KOS DocumentEntry, the IHE DSG
 * signature DocumentEntry and document, HasMember / signs / RPLC associations.
 */
export async function buildProvideAndRegister(input: ProvideAndRegisterInput): Promise<BuiltSubmission> {
  const { report, context, kos } = input;
  const now = input.now ?? new Date();
  checkConsistency(report, kos.facts);
  const ids: SubmissionIds = { ...newSubmissionIds(context, now), ...input.ids };
  const warnings: string[] = [];

  const patientId = insPatientId(report.patient.ins);
  const srcPatientId = sourcePatientId(report.patient);
  const srcPatientInfo = sourcePatientInfo(report.patient);
  const authorValue = authorOf(report, context);
  const legalAuthenticator = authorValue.person;
  const facility: Code = { code: context.facilityType.code, scheme: FACILITY_TYPE_SCHEME, display: context.facilityType.display };
  const practice: Code = { code: context.practiceSetting.code, scheme: PRACTICE_SETTING_SCHEME, display: context.practiceSetting.display };
  const submissionTime = dtm(now);
  const kosUniqueId = kos.facts.sopInstanceUid;

  const events = eventCodes(report, kos.facts);
  if (!events.some((e) => e.scheme === EVENT_SCHEME.modality)) warnings.push('no acquisition modality known for the eventCodeList');
  if (!events.some((e) => e.scheme === EVENT_SCHEME.anatomicRegion)) warnings.push('the report names no anatomic region');

  const kosEntry: DocumentEntryMetadata = {
    entryUUID: ids.kosEntryUUID,
    mimeType: KOS.mimeType,
    uniqueId: kosUniqueId,
    patientId,
    title: KOS.title,
    comments: report.examDescription,
    creationTime: dtm(kos.facts.createdAt ?? now),
    languageCode: KOS.languageCode,
    serviceStartTime: tsToUtcDtm(report.examStart),
    serviceStopTime: tsToUtcDtm(report.examEnd),
    hash: sha1Hex(kos.bytes),
    size: kos.bytes.length,
    legalAuthenticator,
    sourcePatientId: srcPatientId,
    sourcePatientInfo: srcPatientInfo,
    referenceIds: referenceIds(report, kos.facts, warnings),
    author: authorValue,
    classCode: KOS.classCode,
    typeCode: KOS.typeCode,
    formatCode: KOS.formatCode,
    confidentialityCodes: confidentialityCodes(report.dmp),
    eventCodes: events,
    healthcareFacilityTypeCode: facility,
    practiceSettingCode: practice,
  };

  const signatureBytes = await buildXadesSignature({
    submissionSetUniqueId: ids.submissionSetUniqueId,
    documents: [{ uniqueId: kosUniqueId, bytes: kos.bytes }],
    algorithm: context.signatureAlgorithm,
    signer: input.signer,
    now,
  });
  const signatureEntry: DocumentEntryMetadata = {
    entryUUID: ids.signatureEntryUUID,
    mimeType: SIGNATURE_ENTRY.mimeType,
    uniqueId: ids.signatureUniqueId,
    patientId,
    title: SIGNATURE_ENTRY.title,
    creationTime: submissionTime,
    languageCode: SIGNATURE_ENTRY.languageCode,
    serviceStartTime: submissionTime,
    serviceStopTime: submissionTime,
    hash: sha1Hex(signatureBytes),
    size: signatureBytes.length,
    legalAuthenticator,
    sourcePatientId: srcPatientId,
    sourcePatientInfo: srcPatientInfo,
    referenceIds: [],
    author: authorValue,
    classCode: SIGNATURE_ENTRY.classCode,
    typeCode: SIGNATURE_ENTRY.typeCode,
    formatCode: SIGNATURE_ENTRY.formatCode,
    // drimbox-xds-kos-codes.json "signatureDocumentEntry.confidentiality": the signature is technical, hidden.
    confidentialityCodes: [CONFIDENTIALITY.normal, CONFIDENTIALITY.maskedFromProfessionals, CONFIDENTIALITY.invisibleToPatient],
    eventCodes: [SIGNATURE_ENTRY.eventCode],
    healthcareFacilityTypeCode: facility,
    practiceSettingCode: practice,
  };

  const registryObjects = [
    submissionSetXml({
      entryUUID: ids.submissionSetEntryUUID,
      uniqueId: ids.submissionSetUniqueId,
      sourceId: context.sourceIdOid,
      patientId,
      submissionTime,
      author: authorValue,
      contentTypeCode: context.contentType,
    }),
    documentEntryXml(kosEntry),
    documentEntryXml(signatureEntry),
    hasMember(ids.submissionSetEntryUUID, ids.kosEntryUUID),
    hasMember(ids.submissionSetEntryUUID, ids.signatureEntryUUID),
    associationXml(ASSOCIATION.signs, ids.signatureEntryUUID, ids.submissionSetEntryUUID),
  ];
  if (input.replacesEntryUUID) {
    registryObjects.push(associationXml(ASSOCIATION.replace, ids.kosEntryUUID, input.replacesEntryUUID));
  }

  const documents: SubmissionDocument[] = [
    { entryUUID: ids.kosEntryUUID, uniqueId: kosUniqueId, mimeType: KOS.mimeType, bytes: kos.bytes },
    { entryUUID: ids.signatureEntryUUID, uniqueId: ids.signatureUniqueId, mimeType: SIGNATURE_ENTRY.mimeType, bytes: signatureBytes },
  ];
  const contentIds: Record<string, string> = {};
  documents.forEach((d, i) => {
    contentIds[d.entryUUID] = `doc${i + 1}.${randomUUID()}@drimbox`;
  });
  const requestXml =
    `<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="${NS.xdsb}">` +
    submitObjectsRequestXml(registryObjects) +
    documents
      // Content-IDs are made of URL-safe characters only, so the cid: URL needs no escaping (RFC 2392).
      .map((d) => `<xdsb:Document id="${esc(d.entryUUID)}"><xop:Include xmlns:xop="${NS.xop}" href="cid:${contentIds[d.entryUUID]}"/></xdsb:Document>`)
      .join('') +
    `</xdsb:ProvideAndRegisterDocumentSetRequest>`;
  return { ids, requestXml, documents, contentIds, warnings };
}
