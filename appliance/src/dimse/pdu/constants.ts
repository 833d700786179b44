/** PDU types (PS3.8 §9.3.1). */
export const PduType = {
  AssociateRq: 0x01,
  AssociateAc: 0x02,
  AssociateRj: 0x03,
  PDataTf: 0x04,
  ReleaseRq: 0x05,
  ReleaseRp: 0x06,
  Abort: 0x07,
} as const;

/** Item types of A-ASSOCIATE-RQ/AC (PS3.8 §9.3.2-9.3.3, PS3.7 Annex D.3.3). */
export const ItemType = {
  ApplicationContext: 0x10,
  PresentationContextRq: 0x20,
  PresentationContextAc: 0x21,
  AbstractSyntax: 0x30,
  TransferSyntax: 0x40,
  UserInformation: 0x50,
  MaximumLength: 0x51,
  ImplementationClassUid: 0x52,
  AsyncOperationsWindow: 0x53,
  RoleSelection: 0x54,
  ImplementationVersionName: 0x55,
} as const;

/** The DICOM Application Context Name (PS3.7 Annex A.2.1). */
export const DICOM_APPLICATION_CONTEXT = '1.2.840.10008.3.1.1.1';

/** Presentation context result/reason of an A-ASSOCIATE-AC (PS3.8 Table 9-18). */
export const ContextResult = {
  Acceptance: 0,
  UserRejection: 1,
  NoReason: 2,
  AbstractSyntaxNotSupported: 3,
  TransferSyntaxesNotSupported: 4,
} as const;

/** A-ASSOCIATE-RJ result, source and reason/diag. (PS3.8 Table 9-21). */
export const RejectResult = { Permanent: 1, Transient: 2 } as const;
export const RejectSource = { ServiceUser: 1, ServiceProviderAcse: 2, ServiceProviderPresentation: 3 } as const;
export const RejectReason = {
  /** Source 1 (service user). */
  NoReasonGiven: 1,
  ApplicationContextNameNotSupported: 2,
  CallingAeNotRecognized: 3,
  CalledAeNotRecognized: 7,
  /** Source 2 (ACSE). */
  ProtocolVersionNotSupported: 2,
  /** Source 3 (presentation). */
  TemporaryCongestion: 1,
  LocalLimitExceeded: 2,
} as const;

/** A-ABORT source and reason/diag. (PS3.8 Table 9-26). */
export const AbortSource = { ServiceUser: 0, ServiceProvider: 2 } as const;
export const AbortReason = {
  NotSpecified: 0,
  UnrecognizedPdu: 1,
  UnexpectedPdu: 2,
  UnrecognizedPduParameter: 4,
  UnexpectedPduParameter: 5,
  InvalidPduParameterValue: 6,
} as const;

/** Bounds on what a peer may send in an association PDU. */
export const MAX_AE_TITLE = 16;
export const MAX_UID = 64;
/** Odd presentation context IDs 1-255 (PS3.8 §9.3.2.2): at most 128 contexts. */
export const MAX_CONTEXTS = 128;
export const MAX_TRANSFER_SYNTAXES_PER_CONTEXT = 64;
export const MAX_ROLE_SELECTIONS = 128;
/** Implementation Version Name: 1 to 16 characters (PS3.7 D.3.3.2.3). */
export const MAX_VERSION_NAME = 16;
