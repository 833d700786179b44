import { open, type FileHandle } from 'node:fs/promises';
import { DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BE, IMPLICIT_VR_LE } from '../transfer-syntax-uids.js';
import { LONG_VRS } from './vr.js';

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

/** Bytes a scan step reads: `bytes[at]` on. One object, refilled at each step: read before the next one. */
interface View {
  bytes: Buffer;
  at: number;
}

/** Where a scan reads its bytes: `readNow` answers from memory when it can, `read` otherwise. */
interface ByteSource {
  readonly size: number;
  /** Points `view` at `n` bytes at `offset` and answers true, or answers false when they are not in memory. */
  readNow(offset: number, n: number, view: View): boolean;
  read(offset: number, n: number, view: View): Promise<void>;
}

/** `n` bytes at `offset`, which a scan step asks its driver for. */
interface Want {
  offset: number;
  n: number;
}

/**
 * A scan as synchronous steps that read the bytes they need from memory (`Reads.now`: a header is some hundred reads
 * of a few bytes, nearly always in memory) and yield only for bytes that are not there, which the driver awaits
 * from the disk.
 */
type Steps<T> = Generator<Want, T, View>;

/**
 * A scan's reads: `now` points the view at bytes in memory; for bytes that are not, the scan yields `miss`. A yield
 * per read, even in memory, cost a generator resumption and two objects (the want, the iterator's result) each; the
 * scan was a quarter of what a CT's pull allocated (a sampled heap profile of test/bench/wan-pull-child.ts).
 */
interface Reads {
  readonly view: View;
  /** The view, pointed at `n` bytes at `offset`, when they are in memory; undefined otherwise. */
  now(offset: number, n: number): View | undefined;
  /** What to yield for bytes not in memory (one object per scan, read by the driver before it awaits). */
  miss(offset: number, n: number): Want;
}

function readsOf(inMemory: (offset: number, n: number, view: View) => boolean): Reads {
  const view: View = { bytes: EMPTY, at: 0 };
  const want: Want = { offset: 0, n: 0 };
  return {
    view,
    now: (offset, n) => (inMemory(offset, n, view) ? view : undefined),
    miss: (offset, n) => {
      want.offset = offset;
      want.n = n;
      return want;
    },
  };
}

async function drive<T>(steps: Steps<T>, source: ByteSource, reads: Reads): Promise<T> {
  let step = steps.next();
  while (!step.done) {
    const { offset, n } = step.value;
    await source.read(offset, n, reads.view);
    step = steps.next(reads.view);
  }
  return step.value;
}

const EMPTY = Buffer.alloc(0);

/** Random-access reads through a 64 KiB window (headers are read in many small pieces). */
class FileCursor implements ByteSource {
  private window = EMPTY;
  private windowStart = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    private readonly path: string,
  ) {}

  readNow(offset: number, n: number, view: View): boolean {
    if (offset < this.windowStart || offset + n > this.windowStart + this.window.length) return false;
    view.bytes = this.window;
    view.at = offset - this.windowStart;
    return true;
  }

  async read(offset: number, n: number, view: View): Promise<void> {
    if (offset < 0 || offset + n > this.size) throw new Part10Error(`${this.path}: truncated at byte ${offset} (file has ${this.size})`);
    if (this.readNow(offset, n, view)) return;
    const want = Math.min(Math.max(n, 64 * 1024), this.size - offset);
    const buf = Buffer.alloc(want);
    const { bytesRead } = await this.handle.read(buf, 0, want, offset);
    if (bytesRead < n) throw new Part10Error(`${this.path}: short read at byte ${offset}`);
    this.window = buf.subarray(0, bytesRead);
    this.windowStart = offset;
    view.bytes = this.window;
    view.at = 0;
  }
}

/**
 * A file's first bytes, still in memory (received just before), in front of the file itself: the file is opened
 * only for a read beyond them.
 */
class HeadFirstSource implements ByteSource {
  private file: { handle: FileHandle; cursor: FileCursor } | undefined;
  private readonly inMemory: number;

  constructor(
    private readonly head: Buffer,
    readonly size: number,
    private readonly path: string,
  ) {
    this.inMemory = Math.min(head.length, size);
  }

  readNow(offset: number, n: number, view: View): boolean {
    if (offset >= 0 && offset + n <= this.inMemory) {
      view.bytes = this.head;
      view.at = offset;
      return true;
    }
    return this.file?.cursor.readNow(offset, n, view) ?? false;
  }

  async read(offset: number, n: number, view: View): Promise<void> {
    if (this.readNow(offset, n, view)) return;
    if (!this.file) {
      const handle = await open(this.path, 'r');
      this.file = { handle, cursor: new FileCursor(handle, this.size, this.path) };
    }
    await this.file.cursor.read(offset, n, view);
  }

  async close(): Promise<void> {
    await this.file?.handle.close();
  }
}

/** VR names by their two bytes read big endian (any two capital letters: a VR this code does not know is read as short). */
const VR_NAMES = new Map<number, string>();

function vrName(code: number): string | undefined {
  let name = VR_NAMES.get(code);
  if (name === undefined) {
    const hi = code >>> 8;
    const lo = code & 0xff;
    if (hi < 0x41 || hi > 0x5a || lo < 0x41 || lo > 0x5a) return undefined;
    name = String.fromCharCode(hi, lo);
    VR_NAMES.set(code, name);
  }
  return name;
}

/** The bytes to read for an element header at `pos`: 12 (a 4-byte length in explicit VR), fewer at the end of the file. */
function headerBytes(pos: number, size: number): number {
  return Math.max(0, Math.min(12, size - pos));
}

/** The element header at `pos`, from the bytes `headerBytes` says to read. */
function readHeader({ bytes: b, at }: View, pos: number, size: number, enc: Encoding): Header {
  if (pos + 8 > size) throw new Part10Error(`truncated at byte ${pos} (file has ${size})`);
  const le = enc.littleEndian;
  const group = le ? b.readUInt16LE(at) : b.readUInt16BE(at);
  const element = le ? b.readUInt16LE(at + 2) : b.readUInt16BE(at + 2);
  const tag = ((group << 16) | element) >>> 0;
  if (group === 0xfffe || enc.implicit) {
    const length = le ? b.readUInt32LE(at + 4) : b.readUInt32BE(at + 4);
    return { tag, vr: group === 0xfffe ? '' : (KNOWN_VR[tag] ?? 'UN'), length, headerLength: 8 };
  }
  const vr = vrName(b.readUInt16BE(at + 4));
  if (vr === undefined) throw new Part10Error(`malformed element (${hex(tag)}) at byte ${pos}: VR bytes are not a VR`);
  if (!LONG_VRS.has(vr)) return { tag, vr, length: le ? b.readUInt16LE(at + 6) : b.readUInt16BE(at + 6), headerLength: 8 };
  if (pos + 12 > size) throw new Part10Error(`truncated at byte ${pos} (file has ${size})`);
  return { tag, vr, length: le ? b.readUInt32LE(at + 8) : b.readUInt32BE(at + 8), headerLength: 12 };
}

/** Skips an undefined-length value (items until the sequence delimiter); returns the offset after it. */
function* skipUndefinedValue(reads: Reads, size: number, pos: number, enc: Encoding, depth: number): Steps<number> {
  if (depth > MAX_DEPTH) throw new Part10Error(`sequences nested deeper than ${MAX_DEPTH} at byte ${pos}`);
  const itemEnc = { implicit: true, littleEndian: enc.littleEndian };
  for (;;) {
    const n = headerBytes(pos, size);
    const h = readHeader(reads.now(pos, n) ?? (yield reads.miss(pos, n)), pos, size, itemEnc);
    pos += 8;
    if (h.tag === SEQUENCE_DELIMITER) return pos;
    if (h.tag !== ITEM) throw new Part10Error(`expected an item at byte ${pos - 8}, found (${hex(h.tag)})`);
    pos = h.length === UNDEFINED ? yield* skipItemDataset(reads, size, pos, enc, depth + 1) : pos + h.length;
  }
}

function* skipItemDataset(reads: Reads, size: number, pos: number, enc: Encoding, depth: number): Steps<number> {
  for (;;) {
    const n = headerBytes(pos, size);
    const h = readHeader(reads.now(pos, n) ?? (yield reads.miss(pos, n)), pos, size, enc);
    if (h.tag === ITEM_DELIMITER) return pos + 8;
    pos += h.headerLength;
    if (h.length === UNDEFINED) {
      // An undefined-length UN value is encoded in Implicit VR LE whatever the file's syntax (PS3.5 §6.2.2).
      const inner = h.vr === 'UN' ? { implicit: true, littleEndian: true } : enc;
      pos = yield* skipUndefinedValue(reads, size, pos, inner, depth);
    } else pos += h.length;
    if (pos > size) throw new Part10Error(`element (${hex(h.tag)}) runs past the end of the file`);
  }
}

export function hex(tag: number): string {
  return tag.toString(16).toUpperCase().padStart(8, '0');
}

/** A value of `length` bytes at `v.at`. */
function readUs(v: View, length: number, enc: Encoding): number | undefined {
  return length >= 2 ? (enc.littleEndian ? v.bytes.readUInt16LE(v.at) : v.bytes.readUInt16BE(v.at)) : undefined;
}

function readText(v: View, length: number): string {
  return v.bytes.toString('latin1', v.at, v.at + length).replace(/[\0 ]+$/, '').trim();
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

function scanSource(c: ByteSource, path: string): Promise<Part10Layout> {
  const reads = readsOf((offset, n, view) => c.readNow(offset, n, view));
  return drive(scanSteps(reads, c.size, path), c, reads);
}

function* scanSteps(reads: Reads, size: number, path: string): Steps<Part10Layout> {
  const magic = size < 132 ? undefined : (reads.now(128, 4) ?? (yield reads.miss(128, 4)));
  if (magic?.bytes.toString('latin1', magic.at, magic.at + 4) !== 'DICM') {
    throw new Part10Error(`${path}: not a DICOM Part-10 file (no "DICM" after the 128-byte preamble)`);
  }
  // File meta information: always Explicit VR Little Endian (PS3.10 §7.1).
  const metaEnc: Encoding = { implicit: false, littleEndian: true };
  let pos = 132;
  let transferSyntaxUid: string | undefined;
  while (pos + 8 <= size) {
    // The group is read first: the dataset that follows may be implicit VR, unreadable as explicit.
    const n = headerBytes(pos, size);
    const view = reads.now(pos, n) ?? (yield reads.miss(pos, n));
    if (view.bytes.readUInt16LE(view.at) !== 0x0002) break;
    const h = readHeader(view, pos, size, metaEnc);
    if (h.length === UNDEFINED) throw new Part10Error(`${path}: undefined length in the file meta information`);
    if (h.tag === 0x00020010) {
      // A UID is at most 64 bytes (PS3.5 Table 6.2-1): a longer one is not read into memory.
      if (h.length > 64) throw new Part10Error(`${path}: Transfer Syntax UID of ${h.length} bytes (at most 64)`);
      const at = pos + h.headerLength;
      transferSyntaxUid = readText(reads.now(at, h.length) ?? (yield reads.miss(at, h.length)), h.length);
    }
    pos += h.headerLength + h.length;
  }
  if (!transferSyntaxUid) throw new Part10Error(`${path}: no Transfer Syntax UID in the file meta information`);
  if (transferSyntaxUid === DEFLATED_EXPLICIT_VR_LE) throw new DeflatedDatasetError(path);
  const enc: Encoding = { implicit: transferSyntaxUid === IMPLICIT_VR_LE, littleEndian: transferSyntaxUid !== EXPLICIT_VR_BE };
  const layout: Part10Layout = { path, size, transferSyntaxUid, datasetOffset: pos, elements: [] };

  while (pos + 8 <= size) {
    const n = headerBytes(pos, size);
    const h = readHeader(reads.now(pos, n) ?? (yield reads.miss(pos, n)), pos, size, enc);
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
    if (el.length !== undefined && el.length <= 64 && CAPTURED.has(el.tag)) {
      capture(layout, el.tag, reads.now(el.valueOffset, el.length) ?? (yield reads.miss(el.valueOffset, el.length)), el.length, enc);
    }
    if (h.tag === PIXEL_DATA) {
      layout.pixelData = el;
      break;
    }
    if (el.length === undefined) {
      const inner = h.vr === 'UN' ? { implicit: true, littleEndian: true } : enc;
      pos = yield* skipUndefinedValue(reads, size, el.valueOffset, inner, 0);
    } else pos = el.valueOffset + el.length;
    el.end = pos;
  }
  return layout;
}

/**
 * The value (latin1 text) of top-level element `tag` of a dataset (no preamble, no file meta) of which only `prefix`
 * has arrived, found by walking the element headers and skipping values and sequences. 'more' when the prefix ends
 * first; undefined when the dataset cannot be walked (malformed, deflated), when a later tag comes first (tags
 * ascend, PS3.5 §7.1) or when the value is longer than `maxLength`.
 */
export function readTopLevelText(prefix: Buffer, transferSyntaxUid: string, tag: number, maxLength: number): string | 'more' | undefined {
  if (transferSyntaxUid === DEFLATED_EXPLICIT_VR_LE) return undefined;
  const enc: Encoding = { implicit: transferSyntaxUid === IMPLICIT_VR_LE, littleEndian: transferSyntaxUid !== EXPLICIT_VR_BE };
  const reads = readsOf((offset, n, view) => {
    if (offset + n > prefix.length) return false;
    view.bytes = prefix;
    view.at = offset;
    return true;
  });
  try {
    // Everything in the prefix is read without a yield: a step that yields asks for bytes past it.
    const step = topLevelTextSteps(reads, tag, maxLength, enc).next();
    return step.done ? step.value : 'more';
  } catch (err) {
    if (err instanceof Part10Error) return undefined;
    throw err;
  }
}

function* topLevelTextSteps(reads: Reads, tag: number, maxLength: number, enc: Encoding): Steps<string | undefined> {
  // The dataset's end is not known yet: a walk past the prefix asks for more bytes instead of failing.
  const size = Number.MAX_SAFE_INTEGER;
  let pos = 0;
  for (;;) {
    const n = headerBytes(pos, size);
    const h = readHeader(reads.now(pos, n) ?? (yield reads.miss(pos, n)), pos, size, enc);
    if (h.tag > tag) return undefined;
    const valueOffset = pos + h.headerLength;
    if (h.tag === tag) {
      return h.length === UNDEFINED || h.length > maxLength ? undefined : readText(reads.now(valueOffset, h.length) ?? (yield reads.miss(valueOffset, h.length)), h.length);
    }
    if (h.length !== UNDEFINED) pos = valueOffset + h.length;
    else pos = yield* skipUndefinedValue(reads, size, valueOffset, h.vr === 'UN' ? { implicit: true, littleEndian: true } : enc, 0);
  }
}

/** The attributes `capture` keeps. */
const CAPTURED = new Set([0x00080005, 0x00080016, 0x00080018, 0x0020000d, 0x0020000e, 0x00280002, 0x00280004, 0x00280008, 0x00280010, 0x00280011, 0x00280100]);

function capture(layout: Part10Layout, tag: number, value: View, length: number, enc: Encoding): void {
  switch (tag) {
    case 0x00080016:
      layout.sopClassUid = readText(value, length);
      break;
    case 0x00080018:
      layout.sopInstanceUid = readText(value, length);
      break;
    case 0x0020000d:
      layout.studyInstanceUid = readText(value, length);
      break;
    case 0x0020000e:
      layout.seriesInstanceUid = readText(value, length);
      break;
    case 0x00280002:
      layout.samplesPerPixel = readUs(value, length, enc);
      break;
    case 0x00080005:
      layout.specificCharacterSet = readText(value, length).split('\\').map((v) => v.trim());
      break;
    case 0x00280004:
      layout.photometricInterpretation = readText(value, length).trim().toUpperCase();
      break;
    case 0x00280010:
      layout.rows = readUs(value, length, enc);
      break;
    case 0x00280011:
      layout.columns = readUs(value, length, enc);
      break;
    case 0x00280100:
      layout.bitsAllocated = readUs(value, length, enc);
      break;
    case 0x00280008: {
      const n = Number(readText(value, length));
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
    const view: View = { bytes: EMPTY, at: 0 };
    const items: EncapsulatedItem[] = [];
    for (;;) {
      await c.read(pos, headerBytes(pos, size), view);
      const h = readHeader(view, pos, size, enc);
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
      await c.read(bot.valueOffset, bot.length, view);
      for (let i = 0; i + 4 <= bot.length; i += 4) offsetTable.push(view.bytes.readUInt32LE(view.at + i));
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
