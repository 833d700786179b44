import type { Representation } from './accept.js';
import { EXTENDED_OFFSET_TABLE, EXTENDED_OFFSET_TABLE_LENGTHS, Part10Error, readBytes, readEncapsulatedItems, type Part10Layout } from '../dicom/dataset/part10-scan.js';
import { EXPLICIT_VR_LE, IMPLICIT_VR_LE, frameMediaType, isEncapsulated, isUncompressedLittleEndian } from './transfer-syntax.js';

/**
 * Frames as byte ranges of the stored file: uncompressed frames are fixed-size slices of Pixel Data, encapsulated
 * frames are one or more fragments (PS3.5 §8.2, §A.4). The bytes are sent as stored, never decoded.
 */

export interface ByteRange {
  offset: number;
  length: number;
}

/** What a frame of a `stored`-syntax instance can be sent as, in our order of preference. */
export function frameRepresentations(stored: string): Representation[] {
  if (isUncompressedLittleEndian(stored)) {
    return [{ partType: 'application/octet-stream', transferSyntaxUid: EXPLICIT_VR_LE, aliases: [IMPLICIT_VR_LE] }];
  }
  if (!isEncapsulated(stored)) return [];
  return [
    { partType: frameMediaType(stored), transferSyntaxUid: stored },
    { partType: 'application/octet-stream', transferSyntaxUid: stored },
  ];
}

export function framePartContentType(rep: Representation): string {
  return `${rep.partType}; transfer-syntax=${rep.transferSyntaxUid}`;
}

/**
 * Values stored per pixel. YBR_FULL_422 and YBR_PARTIAL_422 keep one Cb and one Cr for every two Y (PS3.3
 * C.7.6.3.1.2): two values a pixel, not Samples per Pixel's three.
 */
function storedSamplesPerPixel(layout: Part10Layout): number {
  const samples = layout.samplesPerPixel ?? 1;
  const pi = layout.photometricInterpretation;
  return samples === 3 && (pi === 'YBR_FULL_422' || pi === 'YBR_PARTIAL_422') ? 2 : samples;
}

/** Byte ranges of every frame, index 0 = frame 1. */
export async function locateFrames(layout: Part10Layout): Promise<ByteRange[][]> {
  const pixel = layout.pixelData;
  if (!pixel) throw new Part10Error(`${layout.path}: no Pixel Data`);
  const frames = layout.numberOfFrames ?? 1;
  if (isUncompressedLittleEndian(layout.transferSyntaxUid)) {
    const { rows, columns } = layout;
    const bits = layout.bitsAllocated;
    if (!rows || !columns || !bits || pixel.length === undefined) throw new Part10Error(`${layout.path}: image pixel module incomplete`);
    const frameBits = rows * columns * storedSamplesPerPixel(layout) * bits;
    if (frameBits % 8 !== 0 && frames > 1) throw new Part10Error(`${layout.path}: frames not byte-aligned (Bits Allocated ${bits})`);
    const frameBytes = Math.ceil(frameBits / 8);
    if (frameBytes * frames > pixel.length) throw new Part10Error(`${layout.path}: Pixel Data shorter than ${frames} frame(s)`);
    return Array.from({ length: frames }, (_, i) => [{ offset: pixel.valueOffset + i * frameBytes, length: frameBytes }]);
  }
  if (!isEncapsulated(layout.transferSyntaxUid) || pixel.length !== undefined) {
    throw new Part10Error(`${layout.path}: frames of transfer syntax ${layout.transferSyntaxUid} are not served`);
  }
  const { offsetTable, fragments } = await readEncapsulatedItems(layout.path, pixel);
  if (fragments.length === 0) throw new Part10Error(`${layout.path}: encapsulated Pixel Data without fragments`);
  const whole = (list: typeof fragments) => list.map((f) => ({ offset: f.valueOffset, length: f.length }));
  const firstItem = fragments[0]!.offset;

  const extended = await extendedOffsets(layout);
  if (extended && extended.offsets.length === frames) {
    return extended.offsets.map((o, i) => [{ offset: firstItem + o + 8, length: extended.lengths[i]! }]);
  }
  if (offsetTable.length === frames && frames > 1) {
    // Offsets count from the first byte of the first fragment's item tag (PS3.5 §A.4).
    return offsetTable.map((start, i) => {
      const end = offsetTable[i + 1] ?? Number.POSITIVE_INFINITY;
      return whole(fragments.filter((f) => f.offset - firstItem >= start && f.offset - firstItem < end));
    });
  }
  if (frames === 1) return [whole(fragments)];
  if (fragments.length === frames) return fragments.map((f) => whole([f]));
  // No offset table and several fragments per frame: a new frame starts at each JPEG SOI / JPEG 2000 SOC marker.
  const groups: (typeof fragments)[] = [];
  for (const f of fragments) {
    const head = await readBytes(layout.path, f.valueOffset, 2);
    const starts = head[0] === 0xff && (head[1] === 0xd8 || head[1] === 0x4f);
    if (starts || groups.length === 0) groups.push([f]);
    else groups[groups.length - 1]!.push(f);
  }
  if (groups.length !== frames) throw new Part10Error(`${layout.path}: cannot tell ${frames} frames apart in ${fragments.length} fragments`);
  return groups.map(whole);
}

async function extendedOffsets(layout: Part10Layout): Promise<{ offsets: number[]; lengths: number[] } | undefined> {
  const table = layout.elements.find((e) => e.tag === EXTENDED_OFFSET_TABLE);
  const lengths = layout.elements.find((e) => e.tag === EXTENDED_OFFSET_TABLE_LENGTHS);
  if (!table || !lengths || table.length === undefined || lengths.length === undefined) return undefined;
  const read64 = async (el: { valueOffset: number; length: number }) => {
    const b = await readBytes(layout.path, el.valueOffset, el.length);
    const out: number[] = [];
    for (let i = 0; i + 8 <= b.length; i += 8) out.push(Number(b.readBigUInt64LE(i)));
    return out;
  };
  return { offsets: await read64({ valueOffset: table.valueOffset, length: table.length }), lengths: await read64({ valueOffset: lengths.valueOffset, length: lengths.length }) };
}

/**
 * Parses a frame list ("1,3,5") per PS3.18 §10.4.1.1.4; undefined when malformed. Repeats are dropped (order kept):
 * every frame is sent once, so an answer is never larger than the instance (4,000 copies of frame 1 once streamed
 * 2 GB), and a frame past the instance's count is refused by the caller.
 */
export function parseFrameList(text: string, maxFrames = 10_000): number[] | undefined {
  const parts = text.split(',');
  if (parts.length === 0 || parts.length > maxFrames) return undefined;
  const frames = new Set<number>();
  for (const p of parts) {
    if (!/^[1-9][0-9]{0,8}$/.test(p.trim())) return undefined;
    frames.add(Number(p.trim()));
  }
  return [...frames];
}
