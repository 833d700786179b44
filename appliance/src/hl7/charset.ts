import { isAscii, isUtf8 } from 'node:buffer';
import { Hl7ParseError, hl7ErrorCodes } from './errors.js';

/**
 * MSH-18 character sets (HL7 table 0211) the box reads. CI-SIS senders declare 'UNICODE UTF-8'
 * (ci-sis-imaging.md §5); older French RIS send '8859/1' or nothing at all.
 */
export type Hl7Encoding = 'utf-8' | 'latin1' | 'latin9' | 'ascii';

export interface Hl7Charset {
  /** MSH-18 as sent (first repetition), '' when absent. */
  declared: string;
  encoding: Hl7Encoding;
  /** True when MSH-18 was absent and the encoding was inferred from the bytes. */
  inferred: boolean;
}

const standardLabels: Record<string, Hl7Encoding> = {
  'UNICODE UTF-8': 'utf-8',
  '8859/1': 'latin1',
  '8859/15': 'latin9',
  ASCII: 'ascii',
};

// Labels seen in the field that are not table 0211 values: read, with a warning.
const toleratedLabels: Record<string, Hl7Encoding> = {
  'UTF-8': 'utf-8',
  UTF8: 'utf-8',
  'UNICODE UTF8': 'utf-8',
  'ISO-8859-1': 'latin1',
  'ISO8859-1': 'latin1',
  'ISO 8859-1': 'latin1',
  'ISO-8859/1': 'latin1',
  LATIN1: 'latin1',
  'ISO IR100': 'latin1',
  'ISO_IR 100': 'latin1',
  'ISO-8859-15': 'latin9',
  'ISO IR6': 'ascii',
};

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });
const latin9Decoder = new TextDecoder('iso-8859-15');

// 8859/1 is read as windows-1252, as browsers do: the two agree except for 0x80-0x9F, which are C1
// controls in 8859-1 (never text) and the œ, €, ’ ... that Windows RIS actually mean there.
// (Node's TextDecoder('windows-1252') decodes as plain 8859-1, hence the table.)
const cp1252 = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];
const latin1Decoder = {
  decode: (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1').replace(/[\u0080-\u009f]/g, (c) => String.fromCharCode(cp1252[c.charCodeAt(0) - 0x80]!)),
};

/** The start of the warning a mislabelled charset leaves on a message (the intake answers it in the ACK). */
export const MISLABELLED = 'charset mislabelled';

export function charsetFromMsh18(declared: string, bytes: Buffer, warnings: string[]): Hl7Charset {
  const label = declared.trim();
  if (label === '') {
    const encoding: Hl7Encoding = !hasHighBytes(bytes) ? 'ascii' : isValidUtf8(bytes) ? 'utf-8' : 'latin1';
    if (encoding !== 'ascii') warnings.push(`MSH-18 is empty: read as ${encoding === 'utf-8' ? 'UNICODE UTF-8' : '8859/1'} from the bytes`);
    return { declared: '', encoding, inferred: true };
  }
  const upper = label.toUpperCase();
  const standard = standardLabels[upper];
  const tolerated = toleratedLabels[upper];
  if (tolerated) warnings.push(`MSH-18 '${label}' is not an HL7 table 0211 value; read as ${tolerated}`);
  const encoding = standard ?? tolerated;
  if (encoding) {
    // A single-byte label on bytes that are valid multi-byte UTF-8 is a mislabel (é would read Ã©): the text is read
    // as UTF-8 and the report accepted — refusing it would drop a validated report for a label — with a warning.
    if (encoding !== 'utf-8' && hasHighBytes(bytes) && isValidUtf8(bytes)) {
      warnings.push(`${MISLABELLED}: MSH-18 declares '${label}' but the bytes are UTF-8; read as UTF-8 (fix MSH-18 to 'UNICODE UTF-8')`);
      return { declared: label, encoding: 'utf-8', inferred: true };
    }
    return { declared: label, encoding, inferred: false };
  }
  throw new Hl7ParseError(
    `character set '${label}' is not supported (the box reads UNICODE UTF-8, 8859/1, 8859/15 and ASCII)`,
    'MSH^1^18',
    hl7ErrorCodes.tableValueNotFound,
  );
}

/** Decodes the message bytes in the declared charset; refuses bytes that contradict the declaration. */
export function decodeMessage(bytes: Buffer, charset: Hl7Charset): string {
  switch (charset.encoding) {
    case 'utf-8':
      try {
        return fatalUtf8.decode(bytes);
      } catch {
        throw new Hl7ParseError(
          `the message declares ${charset.declared || 'UTF-8'} but its bytes are not valid UTF-8 (8859/1 text? fix MSH-18 or the sender's encoding)`,
          'MSH^1^18',
        );
      }
    case 'latin1':
    case 'latin9':
      return (charset.encoding === 'latin1' ? latin1Decoder : latin9Decoder).decode(bytes);
    case 'ascii':
      if (hasHighBytes(bytes)) {
        throw new Hl7ParseError(`the message declares ASCII but contains 8-bit bytes (declare the real charset in MSH-18)`, 'MSH^1^18');
      }
      return bytes.toString('latin1');
  }
}

/** Decodes bytes given by an \X..\ escape, in the message's charset. */
export function decodeBytes(bytes: Buffer, encoding: Hl7Encoding): string {
  switch (encoding) {
    case 'utf-8':
      return bytes.toString('utf8');
    case 'latin1':
      return latin1Decoder.decode(bytes);
    case 'latin9':
      return latin9Decoder.decode(bytes);
    case 'ascii':
      return bytes.toString('latin1');
  }
}

/** Encodes text for the wire in the same charset as the message it answers. */
export function encodeText(text: string, encoding: Hl7Encoding): Buffer {
  if (encoding === 'utf-8') return Buffer.from(text, 'utf8');
  const out = Buffer.alloc(text.length);
  let n = 0;
  for (const ch of text) {
    out[n++] = encodeSingleByte(ch, encoding);
  }
  return out.subarray(0, n);
}

const cp1252High = buildCp1252Table();

function encodeSingleByte(ch: string, encoding: Hl7Encoding): number {
  const cp = ch.codePointAt(0) ?? 0x3f;
  if (encoding === 'ascii') return cp < 0x80 ? cp : 0x3f;
  if (encoding === 'latin1') {
    if (cp < 0x80 || (cp >= 0xa0 && cp <= 0xff)) return cp;
    return cp1252High.get(cp) ?? 0x3f;
  }
  // latin9: 8859-15 differs from 8859-1 at eight positions (€ Š š Ž ž Œ œ Ÿ).
  const latin9 = latin9Specials.get(cp);
  if (latin9 !== undefined) return latin9;
  if (cp < 0x80 || (cp >= 0xa0 && cp <= 0xff && !latin9Replaced.has(cp))) return cp;
  return 0x3f;
}

const latin9Specials = new Map<number, number>([
  [0x20ac, 0xa4], [0x160, 0xa6], [0x161, 0xa8], [0x17d, 0xb4], [0x17e, 0xb8], [0x152, 0xbc], [0x153, 0xbd], [0x178, 0xbe],
]);
const latin9Replaced = new Set([0xa4, 0xa6, 0xa8, 0xb4, 0xb8, 0xbc, 0xbd, 0xbe]);

function buildCp1252Table(): Map<number, number> {
  const table = new Map<number, number>();
  cp1252.forEach((cp, i) => {
    if (cp !== 0x80 + i) table.set(cp, 0x80 + i);
  });
  return table;
}

function hasHighBytes(bytes: Buffer): boolean {
  return !isAscii(bytes);
}

function isValidUtf8(bytes: Buffer): boolean {
  return isUtf8(bytes);
}
