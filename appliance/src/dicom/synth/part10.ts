import { open } from 'node:fs/promises';
import { endianness } from 'node:os';
import { denaturalize, encodeElements, withLatin1Text, type DicomDataset } from './dcmjs.js';
import type { SynthCharset } from './types.js';
import { EXPLICIT_VR_LE } from '../transfer-syntax-uids.js';

/** Identifies this generator in the File Meta Information (arc .0.1 of the project's UID root). */
export const IMPLEMENTATION_CLASS_UID = '1.2.826.0.1.3680043.10.1558.0.1';
export const IMPLEMENTATION_VERSION_NAME = 'DRIMBOX_SYNTH_1';

const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

/** 128-byte preamble and the "DICM" prefix (PS3.10 §7.1). */
const PREAMBLE = Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1')]);
const MEDIA_STORAGE_SOP_INSTANCE_UID = '00020003';

/**
 * A data set whose elements are encoded once, in runs between a few per-file elements that are encoded
 * each time. Runs need no patching: dcmjs writes sequences with undefined length and the data set has no
 * group lengths, so an element's bytes do not depend on its neighbours.
 */
class ElementRuns {
  private readonly runs: Buffer[];

  private constructor(
    shared: DicomDataset,
    private readonly varyingTags: readonly string[],
    private readonly transferSyntaxUid: string,
  ) {
    // dcmjs writes elements in the order of their 8-hex-digit upper-case keys, which is tag order.
    const sharedTags = Object.keys(shared)
      .filter((t) => !varyingTags.includes(t))
      .sort();
    this.runs = [...varyingTags, '~'].map((bound, i) => {
      const lower = i === 0 ? '' : varyingTags[i - 1]!;
      const run: DicomDataset = {};
      for (const t of sharedTags) if (t > lower && t < bound) run[t] = shared[t]!;
      return encodeElements(run, transferSyntaxUid);
    });
  }

  /** Runs of `shared` around `varyingTags` (keys of a denaturalized data set). */
  static of(shared: DicomDataset, varyingTags: readonly string[], transferSyntaxUid: string): ElementRuns {
    return new ElementRuns(shared, [...varyingTags].sort(), transferSyntaxUid);
  }

  sameTags(tags: readonly string[]): boolean {
    return tags.length === this.varyingTags.length && tags.every((t) => this.varyingTags.includes(t));
  }

  encode(varying: DicomDataset): Buffer[] {
    const parts: Buffer[] = [this.runs[0]!];
    this.varyingTags.forEach((tag, i) => {
      parts.push(encodeElements({ [tag]: varying[tag]! }, this.transferSyntaxUid), this.runs[i + 1]!);
    });
    return parts;
  }
}

/**
 * Encodes the Part-10 files of one series. Every header byte is written by dcmjs, but not every time:
 * what the series shares is encoded once, and each file gets only its own elements encoded (SOP Instance
 * UID, Instance Number, position...). Measured on a CT header of 84 elements: 2.4 ms for dcmjs to write
 * it whole, 0.2 ms this way. Pixel Data does not go through dcmjs at all (copying 512 KiB through its
 * growable buffers added 1.4–4 ms): its element header is written here and the pixels go to disk as
 * they are. Nothing follows Pixel Data, so the data set stays in tag order.
 */
export class Part10Encoder {
  private readonly shared: DicomDataset;
  private readonly meta: ElementRuns;
  private dataset: ElementRuns | undefined;

  constructor(
    private readonly transferSyntaxUid: string,
    private readonly charset: SynthCharset,
    sharedAttributes: Record<string, unknown>,
  ) {
    if ('PixelData' in sharedAttributes) throw new Error('Part10Encoder writes Pixel Data itself: leave it out of the attributes');
    if (typeof sharedAttributes.SOPClassUID !== 'string') throw new Error('Part10Encoder needs the SOP Class UID among the shared attributes');
    this.shared = denaturalize(sharedAttributes);
    const meta = denaturalize({
      FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
      MediaStorageSOPClassUID: sharedAttributes.SOPClassUID,
      TransferSyntaxUID: transferSyntaxUid,
      ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
      ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
    });
    // File Meta Information is always Explicit VR Little Endian (PS3.10 §7.1).
    this.meta = ElementRuns.of(meta, [MEDIA_STORAGE_SOP_INSTANCE_UID], EXPLICIT_VR_LE);
  }

  /**
   * The header of one file (everything up to Pixel Data) as buffers to write in order. `instance` must
   * hold SOPInstanceUID and name the same attributes for every file of the series.
   */
  header(instance: Record<string, unknown>): Buffer[] {
    const sopInstanceUid = instance.SOPInstanceUID;
    if (typeof sopInstanceUid !== 'string') throw new Error('each instance needs its SOPInstanceUID');
    const metaParts = this.meta.encode(denaturalize({ MediaStorageSOPInstanceUID: sopInstanceUid }));
    const metaLength = metaParts.reduce((n, b) => n + b.byteLength, 0);
    const groupLength = encodeElements(denaturalize({ FileMetaInformationGroupLength: metaLength }), EXPLICIT_VR_LE);
    const datasetParts = this.textScope(() => {
      const varying = denaturalize(instance);
      const tags = Object.keys(varying);
      this.dataset ??= ElementRuns.of(this.shared, tags, this.transferSyntaxUid);
      if (!this.dataset.sameTags(tags)) throw new Error(`instance attributes changed within a series: ${tags.join(', ')}`);
      return this.dataset.encode(varying);
    });
    return [PREAMBLE, groupLength, ...metaParts, ...datasetParts];
  }

  /** The (7FE0,0010) element header for `byteLength` bytes of 16-bit native pixels. */
  pixelDataElementHeader(byteLength: number): Buffer {
    if (byteLength % 2 !== 0 || byteLength > 0xfffffffe) throw new RangeError(`Pixel Data length ${byteLength} is not an even 32-bit length`);
    const explicit = this.transferSyntaxUid === EXPLICIT_VR_LE;
    const out = Buffer.alloc(explicit ? 12 : 8);
    out.writeUInt16LE(0x7fe0, 0);
    out.writeUInt16LE(0x0010, 2);
    if (explicit) {
      out.write('OW', 4, 'latin1');
      out.writeUInt32LE(byteLength, 8);
    } else {
      out.writeUInt32LE(byteLength, 4);
    }
    return out;
  }

  private textScope<T>(encode: () => T): T {
    return this.charset === 'ISO_IR 100' ? withLatin1Text(encode) : encode();
  }
}

/** Little-endian bytes of 16-bit pixels (a view on big-endian hosts would be wrong). */
export function pixelBytes(pixels: Uint16Array): Buffer {
  const view = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  return HOST_IS_LITTLE_ENDIAN ? view : Buffer.from(view).swap16();
}

/** Writes one file from its parts; returns its size. */
export async function writeFileParts(path: string, parts: readonly Buffer[]): Promise<number> {
  const file = await open(path, 'w');
  try {
    let size = 0;
    for (const p of parts) size += p.byteLength;
    let written = 0;
    let pending = parts;
    while (written < size) {
      const { bytesWritten } = await file.writev(pending as Buffer[]);
      written += bytesWritten;
      if (written < size) pending = remainingParts(parts, written);
    }
    return size;
  } finally {
    await file.close();
  }
}

function remainingParts(parts: readonly Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  let offset = skip;
  for (const p of parts) {
    if (offset >= p.byteLength) {
      offset -= p.byteLength;
      continue;
    }
    out.push(offset > 0 ? p.subarray(offset) : p);
    offset = 0;
  }
  return out;
}
