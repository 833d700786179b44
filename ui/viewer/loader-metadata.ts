import { TAG, num, str, type DicomJsonAttribute, type DicomJsonDataset } from './dicom-json.js';

/**
 * The copy of an instance's metadata handed to the image loader, made safe for it. Cornerstone's WADO-RS loader
 * reads a few attributes without checking them: a series without Modality made it throw (`modality.includes`), and
 * palette LUT data it reads only as plain numbers (never as InlineBinary or a BulkDataURI). Pure but for `fetchBulk`.
 */

/** Fetches a BulkDataURI's bytes (the caller keeps it on the viewer's own DICOMweb base). */
export type FetchBulk = (uri: string) => Promise<Uint8Array>;

const PALETTE_DATA = [TAG.RedPaletteLUTData, TAG.GreenPaletteLUTData, TAG.BluePaletteLUTData] as const;

/** Frames the converting loader turns into 8-bit RGB first (see frame-convert.ts), and why. */
export type Conversion = 'ybr422' | 'rgb16';

export function conversionOf(ds: DicomJsonDataset): Conversion | undefined {
  if (str(ds, TAG.PhotometricInterpretation)?.toUpperCase() === 'YBR_FULL_422') return 'ybr422';
  if ((num(ds, TAG.SamplesPerPixel) ?? 1) === 3 && (num(ds, TAG.BitsAllocated) ?? 8) > 8) return 'rgb16';
  return undefined;
}

/** 16-bit little-endian words of an OW value, the form PS3.3 C.7.6.3.1.6 gives palette LUT data. */
export function wordsOf(bytes: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < bytes.length; i += 2) out.push(bytes[i]! | (bytes[i + 1]! << 8));
  return out;
}

function base64Bytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function numericValue(attr: DicomJsonAttribute | undefined, fetchBulk: FetchBulk): Promise<DicomJsonAttribute | undefined> {
  if (!attr || (Array.isArray(attr.Value) && attr.Value.length > 0)) return attr;
  if (attr.InlineBinary) return { vr: attr.vr, Value: wordsOf(base64Bytes(attr.InlineBinary)) };
  if (attr.BulkDataURI) return { vr: attr.vr, Value: wordsOf(await fetchBulk(attr.BulkDataURI)) };
  return attr;
}

export async function prepareForLoader(ds: DicomJsonDataset, fetchBulk: FetchBulk): Promise<DicomJsonDataset> {
  const out: DicomJsonDataset = { ...ds };
  // "OT" (Other, PS3.3 C.7.3.1.1.1) stands in for a missing Modality: the loader then treats it as any image.
  if (!str(ds, TAG.Modality)) out[TAG.Modality] = { vr: 'CS', Value: ['OT'] };
  if (str(ds, TAG.PhotometricInterpretation)?.toUpperCase() === 'PALETTE COLOR') {
    for (const tag of PALETTE_DATA) out[tag] = await numericValue(ds[tag], fetchBulk);
  }
  if (conversionOf(ds)) {
    // The converting loader hands over 8-bit interleaved RGB: the loader's copy says so (the page keeps the real values).
    out[TAG.PhotometricInterpretation] = { vr: 'CS', Value: ['RGB'] };
    out[TAG.PlanarConfiguration] = { vr: 'US', Value: [0] };
    for (const [tag, value] of [[TAG.BitsAllocated, 8], [TAG.BitsStored, 8], ['00280102', 7]] as const) out[tag] = { vr: 'US', Value: [value] };
  }
  return out;
}

/** Position of `needle` in `hay` from `from`, or -1 (the body is searched as bytes, never decoded whole). */
function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** The first part of a multipart/related body (RFC 2387), and the transfer syntax it names. */
export function firstPart(body: Uint8Array, contentType: string): { bytes: Uint8Array; transferSyntax?: string } {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) throw new Error(`not a multipart answer: ${contentType}`);
  const ascii = (t: string) => Uint8Array.from(t, (c) => c.charCodeAt(0));
  const start = indexOfBytes(body, ascii(`--${boundary}`), 0);
  const headerEnd = start < 0 ? -1 : indexOfBytes(body, ascii('\r\n\r\n'), start);
  if (headerEnd < 0 || headerEnd - start > 8192) throw new Error('multipart answer without a readable part');
  const end = indexOfBytes(body, ascii(`\r\n--${boundary}`), headerEnd + 4);
  if (end < 0) throw new Error('multipart answer cut short');
  const headers = String.fromCharCode(...body.subarray(start, headerEnd));
  const transferSyntax = /transfer-syntax="?([0-9.]+)"?/i.exec(headers)?.[1] ?? /transfer-syntax="?([0-9.]+)"?/i.exec(contentType)?.[1];
  return { bytes: body.subarray(headerEnd + 4, end), ...(transferSyntax ? { transferSyntax } : {}) };
}
