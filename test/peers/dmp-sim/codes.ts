import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The reference material copied into the repository (test/fixtures/reference, origins in its README). */
export const REFERENCE_DIR = fileURLToPath(new URL('../../fixtures/reference/', import.meta.url));
export const DEFAULT_SCHEMA_DIR = join(REFERENCE_DIR, 'spec/xsd');

interface CodesFile {
  xdsClassificationSchemes: Record<string, string>;
  confidentialityCode: { codes: { code: string; codingScheme: string }[] };
  practiceSettingCode: { codingScheme_TRE_A01_CadreExercice: string; codes: string[] };
  healthcareFacilityTypeCode: { codingScheme_TRE_R02_SecteurActivite: string };
  eventCodeList: { modality: { codingScheme: string } };
  referenceIdListTypes: { codes: string[] };
  insOids: Record<string, string>;
}

// Compiled from the ANS terminology: ../shared/fixtures/spec/valuesets/drimbox-xds-kos-codes.json.
const file = JSON.parse(readFileSync(join(REFERENCE_DIR, 'spec/valuesets/drimbox-xds-kos-codes.json'), 'utf8')) as CodesFile;
const scheme = (key: string): string => {
  const v = file.xdsClassificationSchemes[key];
  if (!v) throw new Error(`drimbox-xds-kos-codes.json has no classification scheme "${key}"`);
  return v;
};

/** ebRIM classification / identification schemes of XDS (IHE ITI TF-3 Table 4.2.5-1). */
export const UUID = {
  ssNode: scheme('submissionSet.classificationNode'),
  ssAuthor: scheme('submissionSet.author'),
  ssContentType: scheme('submissionSet.contentTypeCode'),
  ssPatientId: scheme('submissionSet.patientId'),
  ssSourceId: scheme('submissionSet.sourceId'),
  ssUniqueId: scheme('submissionSet.uniqueId'),
  deStable: scheme('documentEntry.objectType.stable'),
  deAuthor: scheme('documentEntry.author'),
  deClass: scheme('documentEntry.classCode'),
  deType: scheme('documentEntry.typeCode'),
  deConfidentiality: scheme('documentEntry.confidentialityCode'),
  deFormat: scheme('documentEntry.formatCode'),
  deFacility: scheme('documentEntry.healthcareFacilityTypeCode'),
  dePractice: scheme('documentEntry.practiceSettingCode'),
  deEvent: scheme('documentEntry.eventCodeList'),
  dePatientId: scheme('documentEntry.patientId'),
  deUniqueId: scheme('documentEntry.uniqueId'),
} as const;

export const REFERENCE_ID_LIST_SLOT = scheme('slot.referenceIdList');
export const REFERENCE_ID_TYPES = new Set(file.referenceIdListTypes.codes); // JDV_J197
export const INS_OIDS = new Set(Object.keys(file.insOids).filter((k) => /^[0-9.]+$/.test(k)));
export const CONFIDENTIALITY = file.confidentialityCode.codes; // JDV_J58
export const PRACTICE_SETTING = { scheme: file.practiceSettingCode.codingScheme_TRE_A01_CadreExercice, codes: new Set(file.practiceSettingCode.codes) }; // JDV_J04
export const FACILITY_TYPE_SCHEME = file.healthcareFacilityTypeCode.codingScheme_TRE_R02_SecteurActivite; // TRE_R02
export const MODALITY_SCHEME = file.eventCodeList.modality.codingScheme; // JDV_ModaliteAcquisition_CISIS

interface FhirValueSet {
  compose: { include: { concept?: { code: string }[] }[] };
}
// DICOM CID 29 acquisition modalities, the PoC's copy: ../shared/fixtures/spec/valuesets/bcom-ValueSet_AcquisitionModality.json.
const modalityFile = JSON.parse(readFileSync(join(REFERENCE_DIR, 'spec/valuesets/bcom-ValueSet_AcquisitionModality.json'), 'utf8')) as FhirValueSet;
export const MODALITY_CODES = new Set(modalityFile.compose.include.flatMap((i) => (i.concept ?? []).map((c) => c.code)));
/** Anatomic region eventCode schemes: SNOMED CT or the JDV (ci-sis-imaging.md §2.1, [G] for the exact one). */
export const REGION_SCHEMES = new Set(['2.16.840.1.113883.6.96', '1.2.250.1.213.1.1.5.695']);
/** The CCAM OID the ANS samples wrongly put on SNOMED region codes. */
export const SAMPLE_REGION_SCHEME = '1.2.250.1.213.2.5';

/** ci-sis-imaging.md §2.1: the KOS DocumentEntry. */
export const KOS = {
  mimeType: 'application/dicom',
  typeCode: { code: 'IMG-KOS', scheme: '1.2.250.1.213.1.1.4.12' },
  classCode: { code: '31', scheme: '1.2.250.1.213.1.1.4.1' },
  formatCode: { code: '1.2.840.10008.5.1.4.1.1.88.59', scheme: '1.2.840.10008.2.6.1' },
  sopClass: '1.2.840.10008.5.1.4.1.1.88.59',
  languageCode: 'fr-FR',
} as const;

/** ci-sis-imaging.md §2.3: the signature DocumentEntry (IHE DSG). */
export const SIGNATURE = {
  mimeType: 'text/xml',
  classCode: { code: 'urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1', scheme: 'URN' },
  typeCode: { code: 'E1762', scheme: 'ASTM' },
  formatCode: { code: 'http://www.w3.org/2000/09/xmldsig#', scheme: 'URN' },
  purpose: '1.2.840.10065.1.12.1.14',
} as const;

export const ASSOCIATION = {
  hasMember: 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember',
  signs: 'urn:ihe:iti:2007:AssociationType:signs',
  rplc: 'urn:ihe:iti:2007:AssociationType:RPLC',
  updateAvailabilityStatus: 'urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus',
} as const;

export const ENTRY_STATUS = {
  Approved: 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved',
  Deprecated: 'urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated',
  // The DMP's own "deleted" status, sent by ITI-57 (ans-reference-drimbox.md §3.6).
  Deleted: 'urn:asip:ci-sis:2010:StatusType:Deleted',
} as const;
export type EntryStatus = keyof typeof ENTRY_STATUS;

export function statusFromUrn(urn: string): EntryStatus | undefined {
  return (Object.keys(ENTRY_STATUS) as EntryStatus[]).find((k) => ENTRY_STATUS[k] === urn);
}

/** WS-Addressing actions per endpoint (ans-reference-drimbox.md §3.2). */
export const ACTIONS = {
  iti18: { endpoint: 'registry', action: 'urn:ihe:iti:2007:RegistryStoredQuery', response: 'urn:ihe:iti:2007:RegistryStoredQueryResponse' },
  iti57: { endpoint: 'registry', action: 'urn:ihe:iti:2010:UpdateDocumentSet', response: 'urn:ihe:iti:2010:UpdateDocumentSetResponse' },
  iti41: { endpoint: 'repository', action: 'urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b', response: 'urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse' },
  iti43: { endpoint: 'repository', action: 'urn:ihe:iti:2007:RetrieveDocumentSet', response: 'urn:ihe:iti:2007:RetrieveDocumentSetResponse' },
} as const;
export type Transaction = keyof typeof ACTIONS;
export type Endpoint = 'registry' | 'repository';

/** Stored query ids (IHE ITI TF-2a 3.18.4.1.2.3.7). */
export const QUERY = {
  findDocuments: 'urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d',
  findDocumentsByReferenceId: 'urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492',
  getDocuments: 'urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4',
  getAssociations: 'urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155',
} as const;
