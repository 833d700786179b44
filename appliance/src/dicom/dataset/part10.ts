import { open } from 'node:fs/promises';
import { checkPart10Structure, DicomStructureError } from './structure.js';
import { readFile, type DcmDataset, type ReadFileOptions } from './dcmjs.js';
import { encodeDataset } from './encode.js';
import { readString, text } from './elements.js';
import { EXPLICIT_VR_LE, IMPLICIT_VR_LE } from '../transfer-syntax-uids.js';

/** Fixed UID naming this software in the file meta header (PS3.7 D.3.3.2); a 2.25 UUID-derived UID, ours alone. */
export const IMPLEMENTATION_CLASS_UID = '2.25.80335801434445802388442780826847648009';
export const IMPLEMENTATION_VERSION_NAME = 'DRIMBOX_0_1';

const PIXEL_DATA = '7FE00010';

export class DicomReadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DicomReadError';
  }
}

export interface Part10 {
  meta: DcmDataset;
  dataset: DcmDataset;
  transferSyntaxUid: string;
}

export interface WritePart10Options {
  sopClassUid: string;
  sopInstanceUid: string;
  /** Only the uncompressed little-endian syntaxes: this writer never encodes pixel data. */
  transferSyntaxUid?: typeof EXPLICIT_VR_LE | typeof IMPLICIT_VR_LE;
}

/** Serialises a dataset as a Part-10 file (PS3.10 §7.1: preamble, "DICM", group 0002 in Explicit VR LE, dataset). */
export function writePart10(dataset: DcmDataset, options: WritePart10Options): Buffer {
  const transferSyntaxUid = options.transferSyntaxUid ?? EXPLICIT_VR_LE;
  const meta = encodeDataset(
    {
      '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1])] },
      '00020002': text('UI', options.sopClassUid),
      '00020003': text('UI', options.sopInstanceUid),
      '00020010': text('UI', transferSyntaxUid),
      '00020012': text('UI', IMPLEMENTATION_CLASS_UID),
      '00020013': text('SH', IMPLEMENTATION_VERSION_NAME),
    },
    'explicit',
  );
  const groupLength = encodeDataset({ '00020000': { vr: 'UL', Value: [meta.length] } }, 'explicit');
  const body = encodeDataset(dataset, transferSyntaxUid === IMPLICIT_VR_LE ? 'implicit' : 'explicit');
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), groupLength, meta, body]);
}

function toArrayBuffer(bytes: Buffer | Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function looksLikePart10(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

/**
 * Parses a Part-10 file. Character sets dcmjs cannot decode (several code extensions, unknown terms) are read
 * with its default repertoire rather than refused: UIDs, codes and dates are ASCII whatever the charset.
 */
export function readPart10(bytes: Buffer | Uint8Array, options: Pick<ReadFileOptions, 'untilTag'> = {}): Part10 {
  if (!looksLikePart10(bytes)) {
    throw new DicomReadError(
      bytes.length < 132
        ? `not a DICOM Part-10 file: ${bytes.length} bytes, shorter than the 128-byte preamble and "DICM" marker`
        : 'not a DICOM Part-10 file: no "DICM" marker after the 128-byte preamble',
    );
  }
  try {
    checkPart10Structure(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), options.untilTag ? parseInt(options.untilTag, 16) : undefined);
  } catch (err) {
    if (err instanceof DicomStructureError) throw new DicomReadError(`malformed DICOM Part-10 file: ${err.message}`, { cause: err });
    throw err;
  }
  const buffer = toArrayBuffer(bytes);
  let dict;
  try {
    dict = readFile(buffer, { untilTag: options.untilTag ?? null });
  } catch (err) {
    if (!/character set/i.test((err as Error).message)) {
      throw new DicomReadError(`malformed DICOM Part-10 file: ${(err as Error).message}`, { cause: err });
    }
    try {
      dict = readFile(buffer, { untilTag: options.untilTag ?? null, ignoreErrors: true });
    } catch (retryErr) {
      throw new DicomReadError(`malformed DICOM Part-10 file: ${(retryErr as Error).message}`, { cause: retryErr });
    }
  }
  const transferSyntaxUid = readString(dict.meta, '00020010');
  if (!transferSyntaxUid) throw new DicomReadError('malformed DICOM Part-10 file: no Transfer Syntax UID in the file meta header');
  return { meta: dict.meta, dataset: dict.dict, transferSyntaxUid };
}

export interface HeaderReadOptions {
  /** First read size; doubled until the header fits. */
  initialBytes?: number;
  /** Past this, the file is refused rather than loaded (a header this large is not a real header). */
  maxBytes?: number;
}

/**
 * Reads a Part-10 file's attributes up to Pixel Data without reading the pixels: it reads the first bytes only,
 * and reads more only when the header does not fit (enhanced multi-frame headers can be large).
 */
export async function readPart10Header(path: string, options: HeaderReadOptions = {}): Promise<Part10> {
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    let want = Math.min(options.initialBytes ?? 64 * 1024, size);
    for (;;) {
      const chunk = Buffer.alloc(want);
      const { bytesRead } = await handle.read(chunk, 0, want, 0);
      const bytes = chunk.subarray(0, bytesRead);
      const whole = bytesRead >= size;
      try {
        const parsed = readPart10(bytes, { untilTag: PIXEL_DATA });
        // Reaching the end of a partial read without meeting Pixel Data means attributes may lie beyond it.
        if (whole || parsed.dataset[PIXEL_DATA]) return parsed;
      } catch (err) {
        if (whole || (err instanceof DicomReadError && err.message.startsWith('not a DICOM'))) {
          throw new DicomReadError(`${path}: ${(err as Error).message}`, { cause: err });
        }
      }
      if (want >= maxBytes) throw new DicomReadError(`${path}: DICOM header larger than ${maxBytes} bytes, refused`);
      want = Math.min(want * 2, size, maxBytes);
    }
  } finally {
    await handle.close();
  }
}
