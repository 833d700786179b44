import type { DcmDataset, DcmElement } from './dcmjs.js';
import { LONG_VRS } from './vr.js';

/**
 * A linear little-endian encoder for datasets made of text, numbers-as-text, OB and sequences, which is what the box
 * writes itself (KOS, rejection notes). dcmjs 0.51's writer copies nested sequence buffers at every level and grows
 * quadratically: 16,000 references took 5.5 s there. Sequences and items are written with undefined length and
 * delimiters (PS3.5 §7.5.2), so nothing has to be measured before it is written.
 */

export type VrEncoding = 'explicit' | 'implicit';

/** Text VRs affected by Specific Character Set (PS3.5 §6.1.2.3); the box always writes them as UTF-8 (ISO_IR 192). */
const ENCODED_TEXT = new Set(['SH', 'LO', 'ST', 'LT', 'UC', 'UT', 'PN']);
/** Maximum characters per value (PS3.5 Table 6.2-1), checked so that a bug cannot write an invalid file. */
const MAX_CHARS: Record<string, number> = { AE: 16, CS: 16, DA: 8, DS: 16, DT: 26, IS: 12, LO: 64, SH: 16, ST: 1024, TM: 14, UI: 64, LT: 10240 };
const STRING_VRS = new Set([...Object.keys(MAX_CHARS), 'PN', 'UC', 'UR', 'UT', 'AS']);
const UNDEFINED_LENGTH = 0xffffffff;

export class EncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncodeError';
  }
}

class Chunks {
  readonly parts: Buffer[] = [];
  size = 0;
  push(b: Buffer): void {
    this.parts.push(b);
    this.size += b.length;
  }
}

function tagHeader(tag: string, vr: string, length: number, encoding: VrEncoding): Buffer {
  const group = parseInt(tag.slice(0, 4), 16);
  const element = parseInt(tag.slice(4, 8), 16);
  if (encoding === 'implicit' || vr === '') {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(group, 0);
    b.writeUInt16LE(element, 2);
    b.writeUInt32LE(length, 4);
    return b;
  }
  if (LONG_VRS.has(vr)) {
    const b = Buffer.alloc(12);
    b.writeUInt16LE(group, 0);
    b.writeUInt16LE(element, 2);
    b.write(vr, 4, 'latin1');
    b.writeUInt32LE(length, 8);
    return b;
  }
  if (length > 0xfffe) throw new EncodeError(`(${tag.slice(0, 4)},${tag.slice(4)}) ${vr} value of ${length} bytes exceeds the 16-bit length of its VR`);
  const b = Buffer.alloc(8);
  b.writeUInt16LE(group, 0);
  b.writeUInt16LE(element, 2);
  b.write(vr, 4, 'latin1');
  b.writeUInt16LE(length, 6);
  return b;
}

function delimiter(element: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(0xfffe, 0);
  b.writeUInt16LE(element, 2);
  return b;
}

function asText(v: unknown, tag: string, vr: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (vr === 'PN' && v && typeof v === 'object' && typeof (v as { Alphabetic?: unknown }).Alphabetic === 'string') {
    return (v as { Alphabetic: string }).Alphabetic;
  }
  throw new EncodeError(`(${tag.slice(0, 4)},${tag.slice(4)}) ${vr}: cannot encode value ${JSON.stringify(v)}`);
}

function stringValue(tag: string, el: DcmElement): Buffer {
  const vr = el.vr;
  const texts = (el.Value ?? []).map((v) => asText(v, tag, vr));
  const max = MAX_CHARS[vr];
  for (const t of texts) {
    if (max !== undefined && [...t].length > max) throw new EncodeError(`(${tag.slice(0, 4)},${tag.slice(4)}) ${vr} value "${t}" is longer than ${max} characters`);
    if (vr !== 'UT' && vr !== 'UR' && vr !== 'LT' && vr !== 'ST' && t.includes('\\')) {
      throw new EncodeError(`(${tag.slice(0, 4)},${tag.slice(4)}) ${vr} value "${t}" contains a backslash, the value separator`);
    }
  }
  const joined = texts.join('\\');
  const bytes = Buffer.from(joined, ENCODED_TEXT.has(vr) ? 'utf8' : 'latin1');
  if (!ENCODED_TEXT.has(vr) && /[^\x20-\x7e]/.test(joined)) {
    throw new EncodeError(`(${tag.slice(0, 4)},${tag.slice(4)}) ${vr} value "${joined}" has characters outside the default repertoire`);
  }
  return bytes.length % 2 ? Buffer.concat([bytes, Buffer.from([vr === 'UI' ? 0 : 0x20])]) : bytes;
}

function binaryValue(tag: string, el: DcmElement): Buffer {
  const parts = (el.Value ?? []).map((v) => {
    if (v instanceof ArrayBuffer) return Buffer.from(v);
    if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    throw new EncodeError(`(${tag.slice(0, 4)},${tag.slice(4)}) ${el.vr}: expected binary data`);
  });
  const bytes = Buffer.concat(parts);
  return bytes.length % 2 ? Buffer.concat([bytes, Buffer.alloc(1)]) : bytes;
}

function unsignedLong(el: DcmElement): Buffer {
  const values = (el.Value ?? []) as number[];
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32LE(v, 4 * i));
  return b;
}

function encodeInto(out: Chunks, dataset: DcmDataset, encoding: VrEncoding): void {
  // Ascending tag order (PS3.5 §7.1): fixed-width upper-case hex sorts as the numbers do.
  const elements = Object.entries(dataset)
    .map(([tag, el]) => [tag.toUpperCase(), el] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [tag, el] of elements) {
    if (!/^[0-9A-F]{8}$/.test(tag)) throw new EncodeError(`"${tag}" is not an 8-digit hexadecimal tag`);
    if (el.vr === 'SQ') {
      out.push(tagHeader(tag, 'SQ', UNDEFINED_LENGTH, encoding));
      for (const item of (el.Value ?? []) as DcmDataset[]) {
        const itemHeader = delimiter(0xe000);
        itemHeader.writeUInt32LE(UNDEFINED_LENGTH, 4);
        out.push(itemHeader);
        encodeInto(out, item, encoding);
        out.push(delimiter(0xe00d));
      }
      out.push(delimiter(0xe0dd));
      continue;
    }
    let value: Buffer;
    if (STRING_VRS.has(el.vr)) value = stringValue(tag, el);
    else if (el.vr === 'OB' || el.vr === 'UN') value = binaryValue(tag, el);
    else if (el.vr === 'UL') value = unsignedLong(el);
    else throw new EncodeError(`(${tag.slice(0, 4)},${tag.slice(4)}): VR ${el.vr} is not supported by this encoder`);
    out.push(tagHeader(tag, el.vr, value.length, encoding));
    out.push(value);
  }
}

/** Encodes a dataset (no meta header) in Explicit or Implicit VR Little Endian. */
export function encodeDataset(dataset: DcmDataset, encoding: VrEncoding): Buffer {
  const out = new Chunks();
  encodeInto(out, dataset, encoding);
  return Buffer.concat(out.parts, out.size);
}
