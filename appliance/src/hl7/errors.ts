/** HL7 v2 acknowledgment codes of the original mode (table 0008): accept, error, reject. */
export type AckCode = 'AA' | 'AE' | 'AR';

/**
 * HL7 error codes (table 0357) the box uses in ERR-3. AE = the content is wrong (fix it before resending);
 * AR = the message was refused as a whole (header, structure, or the box could not take it: resend later).
 */
export const hl7ErrorCodes = {
  /** Table 0357 "Message accepted": with severity W, a warning on an accepted message. */
  messageAccepted: '0',
  segmentSequence: '100',
  requiredFieldMissing: '101',
  dataTypeError: '102',
  tableValueNotFound: '103',
  unsupportedMessageType: '200',
  unsupportedEventCode: '201',
  unsupportedProcessingId: '202',
  unsupportedVersionId: '203',
  unknownKeyIdentifier: '204',
  duplicateKeyIdentifier: '205',
  applicationInternalError: '207',
} as const;

export const hl7ErrorTexts: Record<string, string> = {
  '0': 'Message accepted',
  '100': 'Segment sequence error',
  '101': 'Required field missing',
  '102': 'Data type error',
  '103': 'Table value not found',
  '200': 'Unsupported message type',
  '201': 'Unsupported event code',
  '202': 'Unsupported processing id',
  '203': 'Unsupported version id',
  '204': 'Unknown key identifier',
  '205': 'Duplicate key identifier',
  '207': 'Application internal error',
};

/** What an ACK says about a refused message: ERR-8 text, ERR-2 location (e.g. 'PID^1^3'), ERR-3 code. */
export interface AckError {
  text: string;
  location?: string;
  hl7ErrorCode?: string;
  /** ERR-4 (HL7 table 0516): E for a refusal; W for a warning on an accepted message (AA). */
  severity?: 'E' | 'W';
}

/**
 * An error that knows how to be acknowledged. The MLLP server turns any thrown Hl7Error into a NACK
 * with its code, location and text; any other error becomes AR 207 (retryable).
 */
export class Hl7Error extends Error implements AckError {
  readonly ackCode: Exclude<AckCode, 'AA'>;
  readonly location?: string;
  readonly hl7ErrorCode: string;
  readonly text: string;

  constructor(ackCode: Exclude<AckCode, 'AA'>, text: string, location?: string, hl7ErrorCode: string = hl7ErrorCodes.applicationInternalError) {
    super(location ? `${location}: ${text}` : text);
    this.name = 'Hl7Error';
    this.ackCode = ackCode;
    this.text = text;
    this.location = location;
    this.hl7ErrorCode = hl7ErrorCode;
  }
}

/** The bytes are not an HL7 v2 message the box can read (structure, MSH, charset). Always AR. */
export class Hl7ParseError extends Hl7Error {
  constructor(text: string, location?: string, hl7ErrorCode: string = hl7ErrorCodes.dataTypeError) {
    super('AR', text, location, hl7ErrorCode);
    this.name = 'Hl7ParseError';
  }
}

export function isAckable(err: unknown): err is Hl7Error {
  return err instanceof Hl7Error;
}
