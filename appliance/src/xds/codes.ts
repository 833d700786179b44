/**
 * XDS.b constants and the CI-SIS codes of the KOS published to the DMP.
 * Source of the codes: ../shared/fixtures/spec/valuesets/drimbox-xds-kos-codes.json (compiled from the ANS
 * terminology JDV_J02/J04/J06/J07/J10/J58/J197 and TRE_A09), explained in ../shared/reference/ci-sis-imaging.md §2.
 * XDS identifiers: IHE ITI TF-3 §4.2.5 (classification and identification schemes), §4.2.2 (associations).
 */

export interface Code {
  code: string;
  scheme: string;
  display: string;
}

/** Classification and ExternalIdentifier schemes (drimbox-xds-kos-codes.json "xdsClassificationSchemes"). */
export const SCHEME = {
  submissionSetNode: 'urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd',
  submissionSetAuthor: 'urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d',
  submissionSetContentType: 'urn:uuid:aa543740-bdda-424e-8c96-df4873be8500',
  submissionSetPatientId: 'urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446',
  submissionSetSourceId: 'urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832',
  submissionSetUniqueId: 'urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8',
  documentEntryStable: 'urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1',
  documentEntryOnDemand: 'urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248',
  author: 'urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d',
  classCode: 'urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a',
  typeCode: 'urn:uuid:f0306f51-975f-434e-a61c-c59651d33983',
  confidentialityCode: 'urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f',
  formatCode: 'urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d',
  healthcareFacilityTypeCode: 'urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1',
  practiceSettingCode: 'urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead',
  eventCodeList: 'urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4',
  patientId: 'urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427',
  uniqueId: 'urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab',
} as const;

export const SLOT_REFERENCE_ID_LIST = 'urn:ihe:iti:xds:2013:referenceIdList';

/** ExternalIdentifier display names (IHE ITI TF-3 Table 4.2.5.2-1). */
export const EI_NAME = {
  ssPatientId: 'XDSSubmissionSet.patientId',
  ssSourceId: 'XDSSubmissionSet.sourceId',
  ssUniqueId: 'XDSSubmissionSet.uniqueId',
  dePatientId: 'XDSDocumentEntry.patientId',
  deUniqueId: 'XDSDocumentEntry.uniqueId',
} as const;

/** The KOS DocumentEntry (drimbox-xds-kos-codes.json "kosDocumentEntry"). */
export const KOS = {
  mimeType: 'application/dicom',
  title: "Reference d'Objets d'un Examen d'Imagerie",
  typeCode: { code: 'IMG-KOS', scheme: '1.2.250.1.213.1.1.4.12', display: "Reference d'objets d'un examen d'imagerie" },
  classCode: { code: '31', scheme: '1.2.250.1.213.1.1.4.1', display: 'Imagerie médicale' },
  formatCode: {
    code: '1.2.840.10008.5.1.4.1.1.88.59',
    scheme: '1.2.840.10008.2.6.1',
    display: "Document Références d'objets d'un examen d'imagerie selon profil IHE RAD XDS-I",
  },
  languageCode: 'fr-FR',
} as const satisfies Record<string, string | Code>;

/** The IHE DSG signature DocumentEntry (drimbox-xds-kos-codes.json "signatureDocumentEntry"). */
export const SIGNATURE_ENTRY = {
  mimeType: 'text/xml',
  title: 'Source',
  classCode: { code: 'urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1', scheme: 'URN', display: 'Digital Signature' },
  typeCode: { code: 'E1762', scheme: 'ASTM', display: 'Full Document' },
  formatCode: { code: 'http://www.w3.org/2000/09/xmldsig#', scheme: 'URN', display: 'Default Signature Style' },
  eventCode: { code: '1.2.840.10065.1.12.1.14', scheme: '1.2.840.10065.1.12', display: 'Source' },
  languageCode: 'art',
} as const satisfies Record<string, string | Code>;

/** JDV_J58-ConfidentialityCode-DMP (drimbox-xds-kos-codes.json "confidentialityCode"). */
export const CONFIDENTIALITY = {
  normal: { code: 'N', scheme: '2.16.840.1.113883.5.25', display: 'Normal' },
  maskedFromProfessionals: { code: 'MASQUE_PS', scheme: '1.2.250.1.213.1.1.4.13', display: 'Masqué aux professionnels de santé' },
  invisibleToPatient: { code: 'INVISIBLE_PATIENT', scheme: '1.2.250.1.213.1.1.4.13', display: 'Non visible par le patient' },
  invisibleToLegalRepresentatives: {
    code: 'INVISIBLE_REPRESENTANTS_LEGAUX',
    scheme: '1.2.250.1.213.1.1.4.13',
    display: 'Non visible par les représentants légaux du patient',
  },
} as const satisfies Record<string, Code>;

/** eventCodeList schemes (drimbox-xds-kos-codes.json "eventCodeList"). */
export const EVENT_SCHEME = {
  /** JDV_ModaliteAcquisition_CISIS: DICOM CID 29 codes. */
  modality: '1.2.250.1.213.1.1.5.618',
  /**
   * JDV_RegionAnatomique_CISIS. The samples use 1.2.250.1.213.2.5 (the CCAM OID) with SNOMED codes, a known bug;
   * the JDV OID mirrors what is done for modalities and what the ANS consumer filters on (ci-sis-imaging.md §2.1 [G]).
   */
  anatomicRegion: '1.2.250.1.213.1.1.5.695',
} as const;

/** TRE_A01-CadreExercice (practiceSettingCode), TRE_R02-SecteurActivite (healthcareFacilityTypeCode). */
export const PRACTICE_SETTING_SCHEME = '1.2.250.1.213.1.1.4.9';
export const FACILITY_TYPE_SCHEME = '1.2.250.1.71.4.2.4';

/** Assigning authorities (drimbox-xds-kos-codes.json "otherOids"). */
export const OID = {
  rpps: '1.2.250.1.71.4.2.1',
  structure: '1.2.250.1.71.4.2.2',
  professionVihf: '1.2.250.1.71.1.2.7',
  specialtyVihf: '1.2.250.1.71.4.2.5',
  purposeOfUseVihf: '1.2.250.1.213.1.1.4.248',
} as const;

/** referenceIdList CX-5 types (JDV_J197; format in IHE ITI TF-3 §4.2.3.2.28). */
export const REFERENCE_ID_TYPE = {
  accession: 'urn:ihe:iti:xds:2013:accession',
  order: 'urn:ihe:iti:xds:2013:order',
  studyInstanceUid: 'urn:ihe:iti:xds:2016:studyInstanceUID',
  uniqueId: 'urn:ihe:iti:xds:2013:uniqueId',
  referral: 'urn:ihe:iti:xds:2013:referral',
  encounterId: 'urn:ihe:iti:xds:2015:encounterId',
  workflowInstanceId: 'urn:ihe:iti:xdw:2013:workflowInstanceId',
} as const;

export const ASSOCIATION = {
  hasMember: 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember',
  replace: 'urn:ihe:iti:2007:AssociationType:RPLC',
  signs: 'urn:ihe:iti:2007:AssociationType:signs',
  updateAvailabilityStatus: 'urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus',
} as const;

export const STATUS = {
  approved: 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved',
  deprecated: 'urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated',
  /** DMP-specific deletion status used by the ANS demonstrator (ans-reference-drimbox.md §3.6). */
  deleted: 'urn:asip:ci-sis:2010:StatusType:Deleted',
} as const;

export const RESPONSE_STATUS = {
  success: 'urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success',
  failure: 'urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure',
  partialSuccess: 'urn:ihe:iti:2007:ResponseStatusType:PartialSuccess',
} as const;

/** Registry stored query ids (IHE ITI TF-2a §3.18.4.1.2.3.7). */
export const STORED_QUERY = {
  findDocuments: 'urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d',
  findDocumentsByReferenceId: 'urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492',
  getDocuments: 'urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4',
  getAssociations: 'urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155',
} as const;

/** WS-Addressing actions (IHE ITI TF-2; ans-reference-drimbox.md §3.2). */
export const ACTION = {
  provideAndRegister: 'urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b',
  registryStoredQuery: 'urn:ihe:iti:2007:RegistryStoredQuery',
  retrieveDocumentSet: 'urn:ihe:iti:2007:RetrieveDocumentSet',
  updateDocumentSet: 'urn:ihe:iti:2010:UpdateDocumentSet',
} as const;

export const NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  wsa: 'http://www.w3.org/2005/08/addressing',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  hl7: 'urn:hl7-org:v3',
  rim: 'urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0',
  rs: 'urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0',
  lcm: 'urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0',
  query: 'urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0',
  xdsb: 'urn:ihe:iti:xds-b:2007',
  xop: 'http://www.w3.org/2004/08/xop/include',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  /** XAdES 1.3.2 (ETSI TS 101 903), the version IHE DSG refers to. */
  xades: 'http://uri.etsi.org/01903/v1.3.2#',
} as const;

/**
 * DICOM CID 29 acquisition modality meanings, for eventCodeList display names
 * (../shared/fixtures/spec/valuesets/bcom-ValueSet_AcquisitionModality.json).
 */
export const MODALITY_DISPLAY: Readonly<Record<string, string>> = {
  AR: 'Autorefraction', BDUS: 'Ultrasound Bone Densitometry', BI: 'Biomagnetic Imaging', BMD: 'Bone Mineral Densitometry',
  CR: 'Computed Radiography', CT: 'Computed Tomography', DG: 'Diaphanography', DMS: 'Dermoscopy', DX: 'Digital Radiography',
  ECG: 'Electrocardiography', EEG: 'Electroencephalography', EMG: 'Electromyography', EOG: 'Electrooculography',
  EPS: 'Cardiac Electrophysiology', ES: 'Endoscopy', GM: 'General Microscopy', HD: 'Hemodynamic Waveform',
  IO: 'Intra-oral Radiography', IVOCT: 'Intravascular Optical Coherence Tomography', IVUS: 'Intravascular Ultrasound',
  KER: 'Keratometry', LEN: 'Lensometry', LS: 'Laser Scan', MG: 'Mammography', MR: 'Magnetic Resonance',
  NM: 'Nuclear Medicine', OAM: 'Ophthalmic Axial Measurements', OCT: 'Optical Coherence Tomography',
  OP: 'Ophthalmic Photography', OPM: 'Ophthalmic Mapping', OPT: 'Ophthalmic Tomography',
  OPTBSV: 'Ophthalmic Tomography B-scan Volume Analysis', OPTENF: 'Ophthalmic Tomography En Face',
  OPV: 'Ophthalmic Visual Field', OSS: 'Optical Surface Scanner', PT: 'Positron emission tomography',
  PX: 'Panoramic X-Ray', RF: 'Radiofluoroscopy', RG: 'Radiographic imaging', RTIMAGE: 'RT Image', SM: 'Slide Microscopy',
  SRF: 'Subjective Refraction', TG: 'Thermography', US: 'Ultrasound', VA: 'Visual Acuity', XA: 'X-Ray Angiography',
  XC: 'External-camera Photography',
};

/** Modalities that describe the KOS or a derived object, not an acquisition: never an eventCode. */
export const NON_ACQUISITION_MODALITIES: ReadonlySet<string> = new Set(['KO', 'SR', 'PR', 'REG', 'SEG', 'DOC', 'OT', 'RTSTRUCT', 'RTPLAN']);
