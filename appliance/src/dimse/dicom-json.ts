import type { FindQuery } from './types.js';
import type { DicomJson } from '../dicom/model.js';
import { dcmjsData, type DcmjsElement } from './library.js';
import type { RawDataset } from './receive.js';
import { redecodeDicomJson, specificCharacterSetOf, usesCodeExtensions } from '../dicom/dataset/iso2022.js';
import { readPart10 } from '../dicom/dataset/part10.js';
import { IMPLICIT_VR_LE } from '../dicom/transfer-syntax-uids.js';

const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
const NUMERIC_VRS = new Set(['US', 'SS', 'UL', 'SL', 'FL', 'FD', 'SV', 'UV']);

type JsonElement = DicomJson[string];

/** A dataset with the smallest Part-10 file meta in front (PS3.10 §7.1): how dcmjs's public reader takes it. */
function asPart10(dataset: Buffer, transferSyntaxUid: string): Buffer {
  const element = (tag: number, vr: string, value: Buffer) => {
    const header = Buffer.alloc(8);
    header.writeUInt16LE(0x0002, 0);
    header.writeUInt16LE(tag, 2);
    header.write(vr, 4, 'latin1');
    if (vr === 'OB') return Buffer.concat([header, Buffer.from([value.length, 0, 0, 0]), value]);
    header.writeUInt16LE(value.length, 6);
    return Buffer.concat([header, value]);
  };
  const uid = Buffer.from(transferSyntaxUid.length % 2 ? `${transferSyntaxUid}\0` : transferSyntaxUid, 'latin1');
  const rest = Buffer.concat([element(0x0001, 'OB', Buffer.from([0, 1])), element(0x0010, 'UI', uid)]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(rest.length);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), element(0x0000, 'UL', length), rest, dataset]);
}

/**
 * Decodes a dataset received as bytes (a C-FIND identifier) to DICOM JSON, PS3.18 §F.2, with the peer's character
 * set applied. Strict: an identifier that does not parse is refused with the reason (dcmjs's error-tolerant mode
 * spent tens of seconds on some 40-byte inputs found by fuzzing).
 */
export function toDicomJson(raw: RawDataset): DicomJson {
  const { dataset } = readPart10(asPart10(raw.bytes, raw.transferSyntaxUid));
  // No value decoded from these bytes can be longer than they are (a lying length made dcmjs hand back gigabytes).
  const json = normalizeDataset(dataset as unknown as Record<string, DcmjsElement>, raw.bytes.length);
  // ISO 2022 code extensions (Japanese, Korean, Chinese names): dcmjs read only the first character set.
  const charsets = specificCharacterSetOf(raw.bytes, raw.transferSyntaxUid === IMPLICIT_VR_LE);
  return usesCodeExtensions(charsets) ? redecodeDicomJson(json, charsets) : json;
}

function normalizeDataset(dict: Record<string, DcmjsElement>, maxBinaryBytes: number): DicomJson {
  const out: DicomJson = {};
  for (const tag of Object.keys(dict).sort()) out[tag.toUpperCase()] = normalizeElement(tag, dict[tag]!, maxBinaryBytes);
  return out;
}

function normalizeElement(tag: string, element: DcmjsElement, maxBinaryBytes: number): JsonElement {
  const vr = element.vr;
  const values = element.Value ?? [];
  if (vr === 'SQ') {
    const items = values.map((item) => normalizeDataset(item as Record<string, DcmjsElement>, maxBinaryBytes));
    return items.length ? { vr, Value: items } : { vr };
  }
  if (BINARY_VRS.has(vr)) {
    const parts = values.filter((v): v is ArrayBuffer => v instanceof ArrayBuffer);
    const size = parts.reduce((n, p) => n + p.byteLength, 0);
    if (size > maxBinaryBytes) throw new Error(`malformed dataset: element (${tag.slice(0, 4)},${tag.slice(4)}) decodes to ${size} bytes, more than the ${maxBinaryBytes} received`);
    const all = Buffer.concat(parts.map((v) => Buffer.from(v)));
    return all.length ? { vr, InlineBinary: all.toString('base64') } : { vr };
  }
  if (vr === 'AT') {
    const tags = values.map((v) => (typeof v === 'number' ? v.toString(16).toUpperCase().padStart(8, '0') : String(v)));
    return tags.length ? { vr, Value: tags } : { vr };
  }
  if (vr === 'PN') {
    const names = values.map((v) => (typeof v === 'string' ? (v ? { Alphabetic: v } : null) : isEmptyName(v) ? null : v));
    return names.some((n) => n !== null) ? { vr, Value: names } : { vr };
  }
  // Empty values in a multi-valued element are null in DICOM JSON (PS3.18 §F.2.5); an element with no value has no Value.
  const cleaned = values.map((v) => (v === '' || v === undefined ? null : v));
  return cleaned.some((v) => v !== null) ? { vr, Value: cleaned } : { vr };
}

function isEmptyName(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  return Object.values(value as Record<string, unknown>).every((part) => part === '' || part === undefined);
}

/** Identifier elements for a C-FIND, by keyword, with the unique keys of the level always returned (PS3.4 C.3.4). */
export function findIdentifier(query: FindQuery): Record<string, unknown> {
  const keys: Record<string, string> = { StudyInstanceUID: '' };
  if (query.level !== 'STUDY') keys.SeriesInstanceUID = '';
  if (query.level === 'IMAGE') keys.SOPInstanceUID = '';
  Object.assign(keys, query.keys);
  const elements: Record<string, unknown> = { QueryRetrieveLevel: query.level };
  let ascii = true;
  for (const [keyword, value] of Object.entries(keys)) {
    const entry = dictionaryEntry(keyword);
    if (keyword === 'QueryRetrieveLevel' || keyword === 'SpecificCharacterSet') continue;
    if (typeof value !== 'string') throw new TypeError(`query key ${keyword}: value must be a string`);
    if (value.length > 1024) throw new TypeError(`query key ${keyword}: value longer than 1024 characters`);
    // eslint-disable-next-line no-control-regex
    if (!/^[\x00-\x7f]*$/.test(value)) ascii = false;
    if (value === '') elements[keyword] = [];
    else if (NUMERIC_VRS.has(entry.vr)) elements[keyword] = value.split('\\').map(Number);
    else elements[keyword] = value;
  }
  // dcmjs writes text as UTF-8: say so when it is not plain ASCII (PS3.3 C.12.1.1.2, ISO_IR 192).
  if (!ascii) elements.SpecificCharacterSet = 'ISO_IR 192';
  return elements;
}

function dictionaryEntry(keyword: string): { tag: string; vr: string } {
  const entry = dcmjsData.DicomMetaDictionary.nameMap[keyword];
  if (!entry || !/^[A-Za-z][A-Za-z0-9]*$/.test(keyword)) throw new TypeError(`unknown DICOM attribute keyword "${keyword}"`);
  return entry;
}
