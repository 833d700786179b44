import type { Code } from './codes.js';

export type { Code } from './codes.js';

/** VIHF Authentification_Mode (ci-sis-imaging.md §4): INDIRECTE for the unattended source (server certificate). */
/** DIRECTE: the professional authenticated with their own CPS card (direct mode); the others: the structure's certificate. */
export type VihfAuthMode = 'DIRECTE' | 'INDIRECTE' | 'INDIRECTE_RENFORCEE';

export type XmlSignatureAlgorithm = 'rsa-sha256' | 'rsa-sha1';

/** Who the box is and where it publishes: everything a DMP transaction needs that is not in the report. */
export interface XdsSubmissionContext {
  /** The software as declared to the DMP (VIHF LPS_* attributes). */
  lps: { id: string; name: string; version: string; homologationId: string };
  /**
   * The structure the box publishes for, used when the report names none. `id` is the structure identifier as the
   * DMP knows it (Identifiant_Structure, XON-10 of authorInstitution, under OID 1.2.250.1.71.4.2.2).
   */
  structure: { id: string; name: string };
  /** OID of this box as a submission source (XDSSubmissionSet.sourceId); SubmissionSet uniqueIds are made under it. */
  sourceIdOid: string;
  /** healthcareFacilityTypeCode, TRE_R02-SecteurActivite (e.g. SA07); also the VIHF Secteur_Activite. */
  facilityType: { code: string; display: string };
  /** practiceSettingCode, TRE_A01-CadreExercice (e.g. AMBULATOIRE). */
  practiceSetting: { code: string; display: string };
  /** SubmissionSet contentTypeCode (samples use TRE_R209-TypeActivite, 1.2.250.1.213.2.2). */
  contentType: Code;
  /** The validating radiologist's role in the VIHF: profession (TRE_G15) and speciality (TRE_R38). */
  authorRole: { profession: Code; specialty: Code };
  vihf: { mode: VihfAuthMode };
  /** XML signature algorithm for the VIHF and the XAdES document (rsa-sha1 only for legacy platforms). */
  signatureAlgorithm: XmlSignatureAlgorithm;
}

/** What the DRIMbox knows of the KOS it publishes, besides its bytes (from the KOS builder or parseKos). */
export interface KosFacts {
  sopInstanceUid: string;
  studyInstanceUid: string;
  /** Modalities of the referenced series (DICOM CID 29 codes), e.g. ['CT']. */
  modalities: string[];
  /** Instance Creation Date/Time of the KOS, when known. */
  createdAt?: Date;
}

/** A DocumentEntry as the registry returns it (ITI-18 LeafClass). Codes keep their scheme and display. */
export interface DocumentEntry {
  entryUUID: string;
  uniqueId: string;
  /** Full status URN (Approved, Deprecated...). */
  availabilityStatus: string;
  status: 'Approved' | 'Deprecated' | 'Other';
  patientId?: string;
  mimeType?: string;
  objectType?: string;
  title?: string;
  comments?: string;
  repositoryUniqueId?: string;
  homeCommunityId?: string;
  hash?: string;
  size?: number;
  /** XDS DTM values as given (UTC, YYYY[MM[DD[hh[mm[ss]]]]]). */
  creationTime?: string;
  serviceStartTime?: string;
  serviceStopTime?: string;
  languageCode?: string;
  typeCode?: Code;
  classCode?: Code;
  formatCode?: Code;
  healthcareFacilityTypeCode?: Code;
  practiceSettingCode?: Code;
  confidentialityCodes: Code[];
  eventCodes: Code[];
  /** eventCodes in the modality scheme. */
  modalities: Code[];
  /** eventCodes in the anatomic region scheme(s). */
  regions: Code[];
  authors: Author[];
  legalAuthenticator?: string;
  sourcePatientId?: string;
  sourcePatientInfo: string[];
  referenceIds: ReferenceId[];
  /** Every Slot, raw. */
  slots: Record<string, string[]>;
}

export interface Author {
  /** XCN as sent. */
  person?: string;
  /** XON values as sent. */
  institutions: string[];
  roles: string[];
  specialties: string[];
}

export interface ReferenceId {
  value: string;
  /** OID of CX-4 (empty for the Study Instance UID, which carries none). */
  assigningAuthority?: string;
  type: string;
  raw: string;
}

export interface SubmissionSetInfo {
  entryUUID: string;
  uniqueId?: string;
  sourceId?: string;
  patientId?: string;
  submissionTime?: string;
  contentTypeCode?: Code;
  authors: Author[];
  availabilityStatus?: string;
}

export interface AssociationInfo {
  id: string;
  type: string;
  sourceObject: string;
  targetObject: string;
  slots: Record<string, string[]>;
}
