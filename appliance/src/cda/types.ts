import type { CodedValue, IssuedId, Organisation, Patient, Professional } from '../report/types.js';

/** One documentationOf/serviceEvent: in an imaging report, one exam (DICOM study). */
export interface CdaServiceEvent {
  /** serviceEvent/id: the Study Instance UID (DICOM PS3.20). */
  studyInstanceUid?: string;
  code?: CodedValue;
  /** Translations qualified 121139 (DCM "Modality"), or in the DCM code system. */
  modalities: CodedValue[];
  /** Translations qualified 39111-0 (LOINC "anatomic location"), or in SNOMED CT. */
  regions: CodedValue[];
  start?: string;
  end?: string;
  performer?: Professional;
}

/** What the box reads from a CDA R2 imaging report header (ci-sis-imaging.md §1.3, §5). */
export interface CdaHeader {
  /** ClinicalDocument/id as root^extension, or root alone. */
  documentId?: string;
  setId?: string;
  version?: number;
  title?: string;
  effectiveTime?: string;
  typeCode?: CodedValue;
  confidentialityCode?: string;
  patient: Patient;
  author?: Professional;
  legalAuthenticator?: Professional;
  custodian?: Organisation;
  /** inFulfillmentOf/order/id: root = issuer OID, extension = placer order number. */
  placerOrder?: IssuedId;
  /** inFulfillmentOf/order/ps3-20:accessionNumber: root = issuer OID, extension = accession number. */
  accession?: IssuedId;
  serviceEvents: CdaServiceEvent[];
  /** relatedDocument[@typeCode='RPLC']/parentDocument/id. */
  replaces?: string;
  warnings: string[];
}
