import { open } from 'node:fs/promises';
import type { DcmDataset } from '../dicom/dataset/dcmjs.js';
import { redecodeDicomJson, usesCodeExtensions } from '../dicom/dataset/iso2022.js';
import { readPart10 } from '../dicom/dataset/part10.js';
import type { DicomJson } from '../dicom/model.js';
import { PIXEL_DATA, hex, type Part10Layout } from '../dicom/dataset/part10-scan.js';
import { lookupAttribute } from './tags.js';
import { IMPLICIT_VR_LE, isEncapsulated } from './transfer-syntax.js';

/**
 * DICOM JSON (PS3.18 Annex F) from a stored instance: the header is read up to Pixel Data (never the pixels),
 * decoded from its Specific Character Set by dcmjs and written as UTF-8 with (0008,0005) = ISO_IR 192 (F.2: JSON is
 * UTF-8). Binary values above `inlineLimit` become BulkDataURIs under the instance's URL on this box.
 */

type JsonElement = DicomJson[string];

const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
const INLINE_LIMIT = 1024;
/** Header bytes beyond this are not a header: refuse rather than load. */
const MAX_HEADER_BYTES = 64 * 1024 * 1024;

export interface JsonOptions {
  /** URL of a top-level binary element's value on this box (…/instances/{sop}/bulk/{tag}); undefined: inline it. */
  bulkDataUri?: (tag: string) => string | undefined;
  inlineLimit?: number;
}

/** What instanceToDicomJson reads of a file besides its layout. */
export interface HeaderReading {
  /** Only these top-level attributes (and Specific Character Set, which decodes them); absent: all. */
  onlyTags?: ReadonlySet<number>;
  /** The file's first bytes, still in memory: the header is taken from them when they hold it. */
  head?: Buffer;
}

const SPECIFIC_CHARACTER_SET = 0x00080005;

function concatBinary(values: unknown[]): Buffer {
  const parts: Buffer[] = [];
  for (const v of values) {
    if (v instanceof ArrayBuffer) parts.push(Buffer.from(v));
    else if (ArrayBuffer.isView(v)) parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  }
  return Buffer.concat(parts);
}

function jsonNumber(v: unknown): number | string | null {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}

function personName(v: unknown): Record<string, string> | null {
  if (typeof v === 'string') return v === '' ? null : { Alphabetic: v };
  if (v === null || typeof v !== 'object') return null;
  const out: Record<string, string> = {};
  for (const key of ['Alphabetic', 'Ideographic', 'Phonetic']) {
    const s = (v as Record<string, unknown>)[key];
    if (typeof s === 'string' && s !== '') out[key] = s;
  }
  return Object.keys(out).length ? out : null;
}

/**
 * One element as DICOM JSON from its values as dcmjs gives them (texts as strings, numbers as numbers or numeric
 * strings, PN as strings or {Alphabetic, Ideographic, Phonetic}, binary as ArrayBuffers, SQ items as datasets).
 */
export function convertElement(vr: string, values: unknown[], tag: string, depth: number, options: JsonOptions): JsonElement {
  if (BINARY_VRS.has(vr)) {
    const bytes = concatBinary(values);
    const uri = depth === 0 && bytes.length > (options.inlineLimit ?? INLINE_LIMIT) ? options.bulkDataUri?.(tag) : undefined;
    if (uri) return { vr, BulkDataURI: uri };
    return bytes.length ? { vr, InlineBinary: bytes.toString('base64') } : { vr };
  }
  let out: unknown[];
  switch (vr) {
    case 'SQ':
      out = values.filter((i): i is DcmDataset => i !== null && typeof i === 'object').map((i) => datasetToDicomJson(i, options, depth + 1));
      break;
    case 'PN':
      out = values.map(personName);
      break;
    case 'AT':
      out = values.map((v) => (typeof v === 'number' ? hex(v >>> 0) : typeof v === 'string' ? v.toUpperCase() : null));
      break;
    case 'US':
    case 'SS':
    case 'UL':
    case 'SL':
    case 'FL':
    case 'FD':
    case 'UV':
    case 'SV':
    case 'DS':
    case 'IS':
      out = values.map(jsonNumber);
      break;
    default:
      out = values.map((v) => (typeof v === 'string' ? (v === '' ? null : v) : v === null || v === undefined ? null : String(v)));
  }
  // PS3.18 F.2.5: an empty value has no "Value"; inside a multi-valued element it is null.
  if (out.length === 0 || out.every((v) => v === null)) return { vr };
  return { vr, Value: out };
}

/** dcmjs' dataset (tag → { vr, Value }) to clean DICOM JSON: no group lengths, no meta group, no dcmjs internals. */
export function datasetToDicomJson(ds: DcmDataset, options: JsonOptions = {}, depth = 0): DicomJson {
  const out: DicomJson = {};
  for (const key of Object.keys(ds).sort()) {
    if (!/^[0-9A-Fa-f]{8}$/.test(key)) continue;
    const tag = key.toUpperCase();
    if (tag.endsWith('0000') || tag.startsWith('0002')) continue;
    const el = ds[key];
    if (!el || typeof el.vr !== 'string' || !/^[A-Z]{2}$/.test(el.vr)) continue; // dcmjs' "stopped here" marker
    out[tag] = convertElement(el.vr, Array.isArray(el.Value) ? el.Value : [], tag, depth, options);
  }
  return out;
}

/**
 * Metadata of a stored instance, reading its header only. Large top-level binary values are not read at all (they
 * become BulkDataURIs), nor are undefined-length UN values (private sequences dcmjs cannot parse; dropped).
 */
export async function instanceToDicomJson(layout: Part10Layout, options: JsonOptions = {}, reading: HeaderReading = {}): Promise<DicomJson> {
  const { onlyTags, head } = reading;
  const inlineLimit = options.inlineLimit ?? INLINE_LIMIT;
  const implicit = layout.transferSyntaxUid === IMPLICIT_VR_LE;
  const left: { tag: string; vr: string }[] = [];
  const kept: [number, number][] = [[0, layout.datasetOffset]];
  for (const el of layout.elements) {
    if (el.tag === PIXEL_DATA || el.end === undefined) continue;
    if (onlyTags && !onlyTags.has(el.tag) && el.tag !== SPECIFIC_CHARACTER_SET) continue;
    const tag = hex(el.tag);
    const vr = implicit ? (lookupAttribute(tag)?.vr ?? 'UN') : el.vr;
    const bulky = BINARY_VRS.has(vr) && el.length !== undefined && el.length > inlineLimit && options.bulkDataUri !== undefined;
    if (bulky || (vr === 'UN' && el.length === undefined)) {
      if (bulky) left.push({ tag, vr });
      continue;
    }
    const last = kept[kept.length - 1]!;
    if (last[1] === el.offset) last[1] = el.end;
    else kept.push([el.offset, el.end]);
  }
  const total = kept.reduce((n, [a, b]) => n + b - a, 0);
  if (total > MAX_HEADER_BYTES) throw new Error(`${layout.path}: DICOM header of ${total} bytes, larger than ${MAX_HEADER_BYTES}`);
  const bytes = head && kept[kept.length - 1]![1] <= head.length ? Buffer.concat(kept.map(([a, b]) => head.subarray(a, b)), total) : await readRanges(layout.path, kept, total);
  const { dataset } = readPart10(bytes);
  const json = datasetToDicomJson(dataset, options);
  // dcmjs reads only the first value of a multi-valued Specific Character Set (and then reports UTF-8): the file's
  // own value decides whether text is decoded again under ISO 2022 code extensions.
  const charsets = layout.specificCharacterSet ?? [];
  if (usesCodeExtensions(charsets)) redecodeDicomJson(json, charsets);
  for (const { tag, vr } of left) json[tag] = { vr, BulkDataURI: options.bulkDataUri!(tag)! };
  if (layout.pixelData) {
    const tag = hex(PIXEL_DATA);
    const vr = isEncapsulated(layout.transferSyntaxUid) ? 'OB' : layout.pixelData.vr === 'OB' ? 'OB' : 'OW';
    const uri = options.bulkDataUri?.(tag);
    json[tag] = uri ? { vr, BulkDataURI: uri } : { vr };
  }
  return declareUtf8(sortByTag(json));
}

async function readRanges(path: string, ranges: [number, number][], total: number): Promise<Buffer> {
  const bytes = Buffer.alloc(total);
  const handle = await open(path, 'r');
  try {
    let at = 0;
    for (const [a, b] of ranges) {
      await handle.read(bytes, at, b - a, a);
      at += b - a;
    }
  } finally {
    await handle.close();
  }
  return bytes;
}

function sortByTag(json: DicomJson): DicomJson {
  const out: DicomJson = {};
  for (const tag of Object.keys(json).sort()) out[tag] = json[tag]!;
  return out;
}

/** Strings are UTF-8 once in JSON: say so in Specific Character Set when the dataset had one. */
export function declareUtf8(json: DicomJson): DicomJson {
  const cs = json['00080005'];
  if (cs) json['00080005'] = { vr: 'CS', Value: ['ISO_IR 192'] };
  return json;
}

/**
 * Rewrites every BulkDataURI and RetrieveURL (0008,1190) of a dataset, at any depth. `map` returns the new URL,
 * or undefined to drop it (an upstream URL must never leak to a caller).
 */
export function rewriteUris(json: DicomJson, map: (uri: string) => string | undefined): DicomJson {
  for (const [tag, el] of Object.entries(json)) {
    if (el.BulkDataURI !== undefined) {
      const mapped = map(el.BulkDataURI);
      if (mapped === undefined) delete el.BulkDataURI;
      else el.BulkDataURI = mapped;
    }
    if (tag === '00081190' && Array.isArray(el.Value)) {
      const mapped = el.Value.map((v) => (typeof v === 'string' ? map(v) : undefined)).filter((v): v is string => v !== undefined);
      if (mapped.length) el.Value = mapped;
      else delete json[tag];
    }
    if (el.vr === 'SQ' && Array.isArray(el.Value)) {
      for (const item of el.Value) if (item && typeof item === 'object') rewriteUris(item as DicomJson, map);
    }
  }
  return json;
}
