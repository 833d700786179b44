/** HL7 v2 for the box: parsing (charsets, escapes), ACK/NACK, MLLP listener and client, CI-SIS segment readers. */
export { buildAck, readAck, type AckOptions, type AckSummary } from './ack.js';
export type { Hl7Charset, Hl7Encoding } from './charset.js';
export { Hl7Error, Hl7ParseError, hl7ErrorCodes, isAckable, type AckCode, type AckError } from './errors.js';
export { escapeHl7, unescapeHl7, type Hl7Separators } from './escape.js';
export { Hl7Field, Hl7Message, Hl7Repetition, Hl7Segment } from './message.js';
export { openMllp, sendMllp, type MllpConnection, type SendMllpOptions } from './mllp-client.js';
export { DEFAULT_MAX_FRAME_BYTES, frameMllp, MllpDecoder, type MllpEvent } from './mllp-framing.js';
export { startMllpServer, type MllpHandler, type MllpMeta, type MllpServer, type MllpServerOptions, type MllpStats } from './mllp-server.js';
export { parseHl7Message } from './parse.js';
