import { open, type FileHandle } from 'node:fs/promises';
import { DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BE, IMPLICIT_VR_LE } from './transfer-syntax.js';

/**
 * Where things are in a Part-10 file, found without reading values: the top-level elements up to Pixel Data with
 * their byte offsets (PS3.10 §7, PS3.5 §7.1). Frames and bulk data are then served as byte ranges of the file,
 * and the header can be parsed without touching the pixels.
 */

export const PIXEL_DATA = 0x7fe00010;
export const EXTENDED_OFFSET_TABLE = 0x7fe00001;
export const EXTENDED_OFFSET_TABLE_LENGTHS = 0x7fe00002;
const ITEM = 0xfffee000;
const ITEM_DELIMITER = 0xfffee00d;
const SEQUENCE_DELIMITER = 0xfffee0dd;
const UNDEFINED = 0xffffffff;
const MAX_DEPTH = 32;

/** VRs with a 2-byte reserved field and a 4-byte length in explicit VR (PS3.5 Table 7.1-1). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/** VRs of the few tags read here, for implicit VR files. */
const KNOWN_VR: Record<number, string> = {
  0x00080016: 'UI',
  0x00080018: 'UI',
  0x0020000d: 'UI',
  0x0020000e: 'UI',
  0x00280002: 'US',
  0x00280008: 'IS',
  0x00280010: 'US',
  0x00280011: 'US',
  0x00280100: 'US',
  [PIXEL_DATA]: 'OW',
  [EXTENDED_OFFSET_TABLE]: 'OV',
  [EXTENDED_OFFSET_TABLE_LENGTHS]: 'OV',
};

export class Part10Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Part10Error';
  }
}

/** A Deflated Explicit VR LE file: its dataset must be inflated (or transcoded by the PACS) before it can be read. */
export class DeflatedDatasetError extends Part10Error {
  constructor(path: string) {
    super(`${path}: deflated dataset, cannot be scanned`);
    this.name = 'DeflatedDatasetError';
  }
}

export interface Part10Element {
  tag: number;
  vr: string;
  /** Offset of the element's tag. */
  offset: number;
  valueOffset: number;
  /** Value length, or undefined for an undefined-length value (sequences, encapsulated pixel data). */
  length: number | undefined;
  /** Offset just past the element (past its delimiter when undefined length); unknown for Pixel Data, not walked. */
  end?: number;
}

export interface Part10Layout {
  path: string;
  size: number;
  transferSyntaxUid: string;
  datasetOffset: number;
  /** Top-level elements in file order, up to and including Pixel Data. */
  elements: Part10Element[];
  pixelData?: Part10Element;
  sopClassUid?: string;
  sopInstanceUid?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  rows?: number;
  columns?: number;
  samplesPerPixel?: number;
  photometricInterpretation?: string;
  /** (0008,0005), one entry per value (the first may be empty: the default repertoire). */
  specificCharacterSet?: string[];
  bitsAllocated?: number;
  numberOfFrames?: number;
}

interface Encoding {
  implicit: boolean;
  littleEndian: boolean;
}

interface Header {
  tag: number;
  vr: string;
  length: number;
  headerLength: number;
}

/** Where a scan reads its bytes. */
export interface ByteSource {
  readonly size: number;
  read(offset: number, n: number): Promise<Buffer>;
}

/** Random-access reads through a 64 KiB window (headers are read in many small pieces). */
export class FileCursor implements ByteSource {
  private window = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    private readonly path: string,
  ) {}

  async read(offset: number, n: number): Promise<Buffer> {
    if (offset < 0 || offset + n > this.size) throw new Part10Error(`${this.path}: truncated at byte ${offset} (file has ${this.size})`);
    if (offset >= this.windowStart && offset + n <= this.windowStart + this.window.length) {
      return this.window.subarray(offset - this.windowStart, offset - this.windowStart + n);
    }
    const want = Math.min(Math.max(n, 64 * 1024), this.size - offset);
    const buf = Buffer.alloc(want);
    const { bytesRead } = await this.handle.read(buf, 0, want, offset);
    if (bytesRead < n) throw new Part10Error(`${this.path}: short read at byte ${offset}`);
    this.window = buf.subarray(0, bytesRead);
    this.windowStart = offset;
    return this.window.subarray(0, n);
  }
}

/**
 * A file's first bytes, still in memory (received just before), in front of the file itself: the file is opened
 * only for a read beyond them.
 */
class HeadFirstSource implements ByteSource {
  private file: { handle: FileHandle; cursor: FileCursor } | undefined;

  constructor(
    private readonly head: Buffer,
    readonly size: number,
    private readonly path: string,
  ) {}

  async read(offset: number, n: number): Promise<Buffer> {
    if (offset >= 0 && offset + n <= Math.min(this.head.length, this.size)) return this.head.subarray(offset, offset + n);
    if (!this.file) {
      const handle = await open(this.path, 'r');
      this.file = { handle, cursor: new FileCursor(handle, this.size, this.path) };
    }
    return this.file.cursor.read(offset, n);
  }

  async close(): Promise<void> {
    await this.file?.handle.close();
  }
}

async function readHeader(c: ByteSource, pos: number, enc: Encoding): Promise<Header> {
  const b = await c.read(pos, 8);
  const group = enc.littleEndian ? b.readUInt16LE(0) : b.readUInt16BE(0);
  const element = enc.littleEndian ? b.readUInt16LE(2) : b.readUInt16BE(2);
  const tag = ((group << 16) | element) >>> 0;
  if (group === 0xfffe || enc.implicit) {
    const length = enc.littleEndian ? b.readUInt32LE(4) : b.readUInt32BE(4);
    return { tag, vr: group === 0xfffe ? '' : (KNOWN_VR[tag] ?? 'UN'), length, headerLength: 8 };
  }
  const vr = b.toString('latin1', 4, 6);
  if (!/^[A-Z]{2}$/.test(vr)) throw new Part10Error(`malformed element (${hex(tag)}) at byte ${pos}: VR bytes are not a VR`);
  if (LONG_VRS.has(vr)) {
    const l = await c.read(pos + 8, 4);
    return { tag, vr, length: enc.littleEndian ? l.readUInt32LE(0) : l.readUInt32BE(0), headerLength: 12 };
  }
  return { tag, vr, length: enc.littleEndian ? b.readUInt16LE(6) : b.readUInt16BE(6), headerLength: 8 };
}

/** Skips an undefined-length value (items until the sequence delimiter); returns the offset after it. */
async function skipUndefinedValue(c: ByteSource, pos: number, enc: Encoding, depth: number): Promise<number> {
  if (depth > MAX_DEPTH) throw new Part10Error(`sequences nested deeper than ${MAX_DEPTH} at byte ${pos}`);
  for (;;) {
    const h = await readHeader(c, pos, { implicit: true, littleEndian: enc.littleEndian });
    pos += 8;
    if (h.tag === SEQUENCE_DELIMITER) return pos;
    if (h.tag !== ITEM) throw new Part10Error(`expected an item at byte ${pos - 8}, found (${hex(h.tag)})`);
    pos = h.length === UNDEFINED ? await skipItemDataset(c, pos, enc, depth + 1) : pos + h.length;
  }
}

async function skipItemDataset(c: ByteSource, pos: number, enc: Encoding, depth: number): Promise<number> {
  for (;;) {
    const h = await readHeader(c, pos, enc);
    if (h.tag === ITEM_DELIMITER) return pos + 8;
    pos += h.headerLength;
    if (h.length === UNDEFINED) {
      // An undefined-length UN value is encoded in Implicit VR LE whatever the file's syntax (PS3.5 §6.2.2).
      const inner = h.vr === 'UN' ? { implicit: true, littleEndian: true } : enc;
      pos = await skipUndefinedValue(c, pos, inner, depth);
    } else pos += h.length;
    if (pos > c.size) throw new Part10Error(`element (${hex(h.tag)}) runs past the end of the file`);
  }
}

export function hex(tag: number): string {
  return tag.toString(16).toUpperCase().padStart(8, '0');
}

function readUs(b: Buffer, enc: Encoding): number | undefined {
  return b.length >= 2 ? (enc.littleEndian ? b.readUInt16LE(0) : b.readUInt16BE(0)) : undefined;
}

function readText(b: Buffer): string {
  return b.toString('latin1').replace(/[\0 ]+$/, '').trim();
}

/**
 * Scans a Part-10 file's structure. Throws Part10Error on anything malformed. `head`: the file's first bytes and its
 * size, when the caller still holds them (just received): they are read from memory, the file only past them.
 */
export async function scanPart10(path: string, head?: { bytes: Buffer; size: number }): Promise<Part10Layout> {
  if (head) {
    const source = new HeadFirstSource(head.bytes, head.size, path);
    try {
      return await scanSource(source, path);
    } finally {
      await source.close();
    }
  }
  const handle = await open(path, 'r');
  try {
    return await scanSource(new FileCursor(handle, (await handle.stat()).size, path), path);
  } finally {
    await handle.close();
  }
}

async function scanSource(c: ByteSource, path: string): Promise<Part10Layout> {
  const size = c.size;
  if (size < 132 || (await c.read(128, 4)).toString('latin1') !== 'DICM') {
    throw new Part10Error(`${path}: not a DICOM Part-10 file (no "DICM" after the 128-byte preamble)`);
  }
  // File meta information: always Explicit VR Little Endian (PS3.10 §7.1).
  const metaEnc: Encoding = { implicit: false, littleEndian: true };
  let pos = 132;
  let transferSyntaxUid: string | undefined;
  while (pos + 8 <= size) {
    // The group is read first: the dataset that follows may be implicit VR, unreadable as explicit.
    if ((await c.read(pos, 2)).readUInt16LE(0) !== 0x0002) break;
    const h = await readHeader(c, pos, metaEnc);
    if (h.length === UNDEFINED) throw new Part10Error(`${path}: undefined length in the file meta information`);
    if (h.tag === 0x00020010) transferSyntaxUid = readText(await c.read(pos + h.headerLength, h.length));
    pos += h.headerLength + h.length;
  }
  if (!transferSyntaxUid) throw new Part10Error(`${path}: no Transfer Syntax UID in the file meta information`);
  if (transferSyntaxUid === DEFLATED_EXPLICIT_VR_LE) throw new DeflatedDatasetError(path);
  const enc: Encoding = { implicit: transferSyntaxUid === IMPLICIT_VR_LE, littleEndian: transferSyntaxUid !== EXPLICIT_VR_BE };
  const layout: Part10Layout = { path, size, transferSyntaxUid, datasetOffset: pos, elements: [] };

  while (pos + 8 <= size) {
    const h = await readHeader(c, pos, enc);
    const el: Part10Element = {
      tag: h.tag,
      vr: h.vr,
      offset: pos,
      valueOffset: pos + h.headerLength,
      length: h.length === UNDEFINED ? undefined : h.length,
    };
    if (el.length !== undefined && el.valueOffset + el.length > size) {
      throw new Part10Error(`${path}: element (${hex(h.tag)}) runs past the end of the file`);
    }
    layout.elements.push(el);
    if (el.length !== undefined && el.length <= 64) capture(layout, el, await c.read(el.valueOffset, el.length), enc);
    if (h.tag === PIXEL_DATA) {
      layout.pixelData = el;
      break;
    }
    if (el.length === undefined) {
      const inner = h.vr === 'UN' ? { implicit: true, littleEndian: true } : enc;
      pos = await skipUndefinedValue(c, el.valueOffset, inner, 0);
    } else pos = el.valueOffset + el.length;
    el.end = pos;
  }
  return layout;
}

function capture(layout: Part10Layout, el: Part10Element, value: Buffer, enc: Encoding): void {
  switch (el.tag) {
    case 0x00080016:
      layout.sopClassUid = readText(value);
      break;
    case 0x00080018:
      layout.sopInstanceUid = readText(value);
      break;
    case 0x0020000d:
      layout.studyInstanceUid = readText(value);
      break;
    case 0x0020000e:
      layout.seriesInstanceUid = readText(value);
      break;
    case 0x00280002:
      layout.samplesPerPixel = readUs(value, enc);
      break;
    case 0x00080005:
      layout.specificCharacterSet = readText(value).split('\\').map((v) => v.trim());
      break;
    case 0x00280004:
      layout.photometricInterpretation = readText(value).trim().toUpperCase();
      break;
    case 0x00280010:
      layout.rows = readUs(value, enc);
      break;
    case 0x00280011:
      layout.columns = readUs(value, enc);
      break;
    case 0x00280100:
      layout.bitsAllocated = readUs(value, enc);
      break;
    case 0x00280008: {
      const n = Number(readText(value));
      if (Number.isInteger(n) && n > 0) layout.numberOfFrames = n;
      break;
    }
  }
}

/** An item inside an encapsulated Pixel Data value: offset of its tag, of its value, and the value length. */
export interface EncapsulatedItem {
  offset: number;
  valueOffset: number;
  length: number;
}

/** Basic Offset Table and fragments of encapsulated Pixel Data (PS3.5 §A.4). */
export async function readEncapsulatedItems(path: string, pixelData: Part10Element): Promise<{ offsetTable: number[]; fragments: EncapsulatedItem[] }> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const c = new FileCursor(handle, size, path);
    const enc = { implicit: true, littleEndian: true };
    let pos = pixelData.valueOffset;
    const items: EncapsulatedItem[] = [];
    for (;;) {
      const h = await readHeader(c, pos, enc);
      if (h.tag === SEQUENCE_DELIMITER) break;
      if (h.tag !== ITEM || h.length === UNDEFINED) throw new Part10Error(`${path}: malformed encapsulated pixel data at byte ${pos}`);
      if (pos + 8 + h.length > size) throw new Part10Error(`${path}: pixel data fragment runs past the end of the file`);
      items.push({ offset: pos, valueOffset: pos + 8, length: h.length });
      pos += 8 + h.length;
    }
    const [bot, ...fragments] = items;
    if (!bot) throw new Part10Error(`${path}: encapsulated pixel data without a Basic Offset Table item`);
    const offsetTable: number[] = [];
    if (bot.length) {
      const b = await c.read(bot.valueOffset, bot.length);
      for (let i = 0; i + 4 <= b.length; i += 4) offsetTable.push(b.readUInt32LE(i));
    }
    return { offsetTable, fragments };
  } finally {
    await handle.close();
  }
}

/** Reads `length` bytes at `offset` of a file (small values: offset tables, first bytes of fragments). */
export async function readBytes(path: string, offset: number, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
