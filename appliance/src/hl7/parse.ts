import { charsetFromMsh18, decodeMessage } from './charset.js';
import { Hl7ParseError, hl7ErrorCodes } from './errors.js';
import type { Hl7Separators } from './escape.js';
import { Hl7Message, Hl7Segment } from './message.js';

// HL7 table 0076 message types (v2.3.1-2.9) plus CI-SIS ZAM business acknowledgments; Zxx are site-defined.
const knownMessageTypes = new Set(
  'ACK ADR ADT BAR BPS BRP BRT BTS CCF CCI CCM CCQ CCR CCU CQU CRM CSU DBC DBU DEL DEO DER DFT DPR DRC DRG DSR EAC EAN EAR EHC ESR ESU GET INR INU LSR LSU MDM MFD MFK MFN MFQ MFR NMD NMQ NMR OMB OMD OMG OMI OML OMN OMP OMQ OMS OPL OPR OPU ORA ORB ORD ORF ORG ORI ORL ORM ORN ORP ORR ORS ORU OSM OSQ OSR OSU OUL PEX PGL PIN PMU PPG PPP PPR PPT PPV PRR PTR QBP QCK QCN QRY QSB QSX QVR RAR RAS RCI RCL RDE RDR RDS RDY REF RER RGR RGV ROC ROR RPA RPI RPL RPR RQA RQC RQI RQP RRA RRD RRE RRG RRI RSP RTB SCN SDN SDR SIU SLN SLR SMD SQM SQR SRM SRR SSR SSU STC STI SUR TBR TCR TCU UDM VXQ VXR VXU VXX'.split(' '),
);

/**
 * Reads one HL7 v2 message from its bytes (as framed by MLLP, or a file). Segments end with CR; CRLF and
 * LF-only files are tolerated. Separators come from MSH-1/MSH-2, the charset from MSH-18.
 * Throws Hl7ParseError (AR) naming the segment/field when the bytes are not a message the box can read.
 */
export function parseHl7Message(bytes: Buffer): Hl7Message {
  const warnings: string[] = [];
  const body = stripLeading(bytes, warnings);
  if (body.length === 0) throw new Hl7ParseError('empty message', 'MSH^1', hl7ErrorCodes.segmentSequence);

  const head = body.subarray(0, Math.min(body.length, 3)).toString('latin1');
  if (head === 'FHS' || head === 'BHS') {
    throw new Hl7ParseError('batch files (FHS/BHS) are not accepted: send one message per MLLP frame', `${head}^1`, hl7ErrorCodes.unsupportedMessageType);
  }
  if (head !== 'MSH') {
    throw new Hl7ParseError(`the message does not start with an MSH segment (starts with '${printable(body.subarray(0, 20))}')`, 'MSH^1', hl7ErrorCodes.segmentSequence);
  }

  const headerLine = firstLine(body).toString('latin1');
  const separators = readSeparators(headerLine);
  const headerParts = headerLine.split(separators.field);
  const msh18 = (headerParts[17] ?? '').split(separators.repetition)[0] ?? '';
  const charset = charsetFromMsh18(msh18, body, warnings);
  const text = decodeMessage(body, charset);

  const ctx = { seps: separators, encoding: charset.encoding };
  const segments: Hl7Segment[] = [];
  const occurrences = new Map<string, number>();
  splitSegments(text).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    const name = raw.slice(0, 3);
    if (!/^[A-Z][A-Z0-9]{2}$/.test(name) || (raw.length > 3 && raw[3] !== separators.field)) {
      throw new Hl7ParseError(`line ${line} is not a segment: '${printable(Buffer.from(raw.slice(0, 20)))}' (a segment starts with a three-character id and '${separators.field}')`, undefined, hl7ErrorCodes.segmentSequence);
    }
    const sequence = (occurrences.get(name) ?? 0) + 1;
    occurrences.set(name, sequence);
    if (name === 'MSH' && sequence > 1) {
      throw new Hl7ParseError(`a second MSH starts at line ${line}: one message per frame`, `MSH^${sequence}`, hl7ErrorCodes.segmentSequence);
    }
    const fields = raw.split(separators.field);
    if (name === 'MSH') fields.splice(1, 0, separators.field);
    segments.push(new Hl7Segment(name, sequence, line, fields, ctx));
  });

  const message = new Hl7Message(segments, separators, charset, warnings);
  checkHeader(message);
  return message;
}

function checkHeader(message: Hl7Message): void {
  const type = message.messageType;
  if (type === '') throw new Hl7ParseError('MSH-9 (message type) is empty', 'MSH^1^9', hl7ErrorCodes.requiredFieldMissing);
  if (!knownMessageTypes.has(type) && !/^Z[A-Z0-9]{2}$/.test(type)) {
    throw new Hl7ParseError(`MSH-9 message type '${message.header.field(9).raw}' is not an HL7 message type`, 'MSH^1^9', hl7ErrorCodes.unsupportedMessageType);
  }
  if (message.triggerEvent === '' && type !== 'ACK') {
    throw new Hl7ParseError(`MSH-9 '${type}' has no trigger event (MSH-9.2)`, 'MSH^1^9', hl7ErrorCodes.requiredFieldMissing);
  }
  if (message.controlId.trim() === '') throw new Hl7ParseError('MSH-10 (message control id) is empty', 'MSH^1^10', hl7ErrorCodes.requiredFieldMissing);
  if (message.version.trim() === '') throw new Hl7ParseError('MSH-12 (version id) is empty', 'MSH^1^12', hl7ErrorCodes.requiredFieldMissing);
}

function readSeparators(headerLine: string): Hl7Separators {
  const field = headerLine[3];
  if (field === undefined || /[A-Za-z0-9\s]/.test(field)) {
    throw new Hl7ParseError('MSH-1 (field separator) is missing or invalid', 'MSH^1^1', hl7ErrorCodes.dataTypeError);
  }
  const end = headerLine.indexOf(field, 4);
  const encoding = end < 0 ? headerLine.slice(4) : headerLine.slice(4, end);
  const chars = [...encoding];
  if (chars.length < 4 || chars.length > 5 || new Set([field, ...chars]).size !== chars.length + 1 || chars.some((c) => /[A-Za-z0-9\s]/.test(c))) {
    throw new Hl7ParseError(`MSH-2 encoding characters '${encoding}' are invalid (expected four distinct characters such as ^~\\&)`, 'MSH^1^2', hl7ErrorCodes.dataTypeError);
  }
  const [component, repetition, escape, subcomponent, truncation] = chars as [string, string, string, string, string | undefined];
  return truncation === undefined ? { field, component, repetition, escape, subcomponent } : { field, component, repetition, escape, subcomponent, truncation };
}

/** CR is the segment terminator; a file saved with CRLF or LF only is read too. */
function splitSegments(text: string): string[] {
  if (text.includes('\r')) return text.split('\r').map((s) => (s.startsWith('\n') ? s.slice(1) : s));
  return text.split('\n');
}

function stripLeading(bytes: Buffer, warnings: string[]): Buffer {
  let start = 0;
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  while (start < bytes.length && (bytes[start] === 0x0d || bytes[start] === 0x0a || bytes[start] === 0x20 || bytes[start] === 0x09)) start++;
  if (start > 0) warnings.push(`${start} byte(s) before MSH ignored (byte-order mark or blank lines)`);
  return start > 0 ? bytes.subarray(start) : bytes;
}

function firstLine(bytes: Buffer): Buffer {
  const cr = bytes.indexOf(0x0d);
  const lf = bytes.indexOf(0x0a);
  const ends = [cr, lf].filter((i) => i >= 0);
  return ends.length ? bytes.subarray(0, Math.min(...ends)) : bytes;
}

function printable(bytes: Buffer): string {
  return bytes.toString('latin1').replace(/[^\x20-\x7e]/g, '.');
}
