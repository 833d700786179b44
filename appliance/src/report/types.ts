/**
 * The imaging report event the box acts on, whatever carried it (HL7 v2 ORU/MDM/OMI, or a CDA posted over HTTP).
 * Values and their origin: ../shared/reference/ci-sis-imaging.md §1.2, §1.3, §5.
 */

/** An identifier with its assigning authority as an ISO OID (HL7 CX-4 "&OID&ISO", DICOM Issuer Qualifiers). */
export interface IssuedId {
  value: string;
  /** OID of the assigning authority (may be empty when the sender gave none). */
  issuerOid: string;
  /** Namespace id / display name of the authority when given (e.g. "ASIP-SANTE-INS-NIR"). */
  issuerName?: string;
}

export interface CodedValue {
  code: string;
  /** Code system as the source gives it: an OID in a CDA (1.2.840.10008.2.16.4 = DCM), a name in HL7 (LN). */
  scheme: string;
  /** Code system name when the source gives one besides the OID (CDA codeSystemName, e.g. "DCM", "SNOMED CT"). */
  schemeName?: string;
  display?: string;
}

/** A person: the validating radiologist (RPPS), an author. */
export interface Professional {
  /** RPPS / ADELI number, usually under OID 1.2.250.1.71.4.2.1. */
  id?: IssuedId;
  family?: string;
  given?: string;
  prefix?: string;
  /** The structure the person acts for (CDA representedOrganization, PRT-8 of the sender). */
  organisation?: Organisation;
}

/** A health structure: FINESS (geographic or legal) or other structure id. */
export interface Organisation {
  id?: IssuedId;
  name?: string;
  /** FINEG / FINEJ / IDNST... when known (HL7 XON-7). */
  idType?: string;
}

export interface Patient {
  /** INS matricule with its OID (1.2.250.1.213.1.4.8 NIR, .9 NIA, .10 NIR test, .11 démonstration). */
  ins?: IssuedId;
  /** IPP of the producing site, with issuer. */
  ipp?: IssuedId;
  /** Birth name (nom de naissance). */
  birthName?: string;
  /** First birth given name (premier prénom de naissance). */
  firstGivenName?: string;
  /** All birth given names, space separated as in INS. */
  givenNames?: string;
  usedName?: string;
  usedGivenName?: string;
  /** YYYYMMDD */
  birthDate?: string;
  /** M, F or U (INS allows M/F; U when unknown). */
  sex?: 'M' | 'F' | 'U';
  /** INSEE code of the birth place. */
  birthPlaceCode?: string;
}

/** DMP flags carried by the MetaDMPMSS OBX segments (ci-sis-imaging.md §5). */
export interface DmpFlags {
  /** DESTDMP: whether the report (and thus the KOS) goes to the DMP at all. Default true. */
  sendToDmp: boolean;
  maskedFromProfessionals: boolean; // MASQUE_PS
  invisibleToPatient: boolean; // INVISIBLE_PATIENT
  invisibleToLegalRepresentatives: boolean; // INVISIBLE_REP_LEGAUX
}

/**
 * publish, replace (a corrected report), withdraw (report deleted, exam cancelled); refresh: the exam changed
 * (OMI^O23 other than a cancellation, ci-sis-imaging.md §1.3 "Update triggers"): its published manifest is rebuilt
 * from the PACS with the report already archived — re-published only if the images differ.
 */
export type ReportAction = 'publish' | 'replace' | 'withdraw' | 'refresh';

export interface ReportEvent {
  action: ReportAction;
  /** What carried it: 'ORU^R01', 'MDM^T02', 'MDM^T10', 'MDM^T04', 'OMI^O23', 'CDA'. */
  trigger: string;
  /** MSH-10 of the HL7 message, when it came over HL7. */
  messageControlId?: string;
  patient: Patient;
  studyInstanceUid?: string;
  /** Every Study Instance UID of the report when it documents several exams (one CDA serviceEvent each); the first is studyInstanceUid. */
  studyInstanceUids?: string[];
  accession?: IssuedId;
  placerOrder?: IssuedId;
  fillerOrder?: IssuedId;
  /** Modality codes from the CDA serviceEvent (DICOM CID 29), e.g. CT. */
  modalities: CodedValue[];
  /** Anatomic regions from the CDA serviceEvent (SNOMED CT). */
  regions: CodedValue[];
  /** Exam description (serviceEvent code displayName, OBR-4 text...). */
  examDescription?: string;
  /** Exam period, as HL7/CDA TS strings (YYYYMMDDhhmmss[+zzzz]). */
  examStart?: string;
  examEnd?: string;
  document: {
    /** CDA ClinicalDocument/id (root^extension), = TXA-12 in MDM. */
    id?: string;
    setId?: string;
    version?: number;
    /** Id of the document this one replaces (relatedDocument RPLC, TXA-13). */
    replaces?: string;
    /** Title of the CDA. */
    title?: string;
    effectiveTime?: string;
    /** Document type (CDA code, TXA-2, OBX-3), e.g. 18748-4 LOINC. */
    typeCode?: CodedValue;
    /** CDA confidentialityCode (N, R, V). */
    confidentialityCode?: string;
  };
  legalAuthenticator?: Professional;
  /** Author of the report (CDA author/assignedAuthor). */
  author?: Professional;
  /** Who asked for the transaction (PRT with PRT-4 'SB': PRT-5 person, PRT-8 organisation); used for the VIHF. */
  sender?: Professional;
  /** Structure that produced the exam (PRT-8, CDA performer/custodian/legalAuthenticator organisation). */
  organisation?: Organisation;
  dmp: DmpFlags;
  /** What the parser tolerated or could not reconcile (for logs and the technician's `hl7 parse`), never PHI. */
  warnings?: string[];
}
