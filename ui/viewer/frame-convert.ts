/**
 * Pixel conversions for the frames Cornerstone's loader draws wrong, done before it sees them: uncompressed
 * YBR_FULL_422 (its 4:2:2 size check is the 4:2:0 formula, so it never converts them) and colour above 8 bits (drawn
 * as bytes, the colour lost). Pure, so each is unit-tested against the standard's layout.
 */

/** PS3.3 C.7.6.3.1.2: Y1 Y2 Cb Cr for each pair of pixels, full range; to interleaved RGB (8 bits). */
export function ybrFull422ToRgb(ybr: Uint8Array, columns: number, rows: number): Uint8Array {
  const pixels = columns * rows;
  if (ybr.length < pixels * 2) throw new Error(`YBR_FULL_422 frame of ${ybr.length} bytes, ${pixels * 2} expected for ${columns}×${rows}`);
  const rgb = new Uint8Array(pixels * 3);
  const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));
  let o = 0;
  for (let i = 0; i + 3 < pixels * 2; i += 4) {
    const cb = ybr[i + 2]! - 128;
    const cr = ybr[i + 3]! - 128;
    for (const y of [ybr[i]!, ybr[i + 1]!]) {
      rgb[o++] = clamp(y + 1.402 * cr);
      rgb[o++] = clamp(y - 0.344136 * cb - 0.714136 * cr);
      rgb[o++] = clamp(y + 1.772 * cb);
    }
  }
  return rgb;
}

/**
 * DICOM RLE (PS3.5 Annex G): a 64-byte header (segment count, then offsets), each segment a PackBits byte stream.
 * Returns the segments decoded, each `segmentLength` bytes.
 */
export function rleSegments(frame: Uint8Array, segmentLength: number): Uint8Array[] {
  if (frame.length < 64) throw new Error('RLE frame shorter than its header');
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const count = view.getUint32(0, true);
  if (count < 1 || count > 15) throw new Error(`RLE header names ${count} segments`);
  const offsets = Array.from({ length: count }, (_, i) => view.getUint32(4 + i * 4, true));
  return offsets.map((start, i) => {
    const end = i + 1 < count ? offsets[i + 1]! : frame.length;
    const out = new Uint8Array(segmentLength);
    let o = 0;
    for (let p = start; p < end && o < segmentLength; ) {
      const n = (frame[p++]! << 24) >> 24; // signed header byte
      if (n >= 0) {
        const run = Math.min(n + 1, segmentLength - o, end - p);
        out.set(frame.subarray(p, p + run), o);
        o += run;
        p += n + 1;
      } else if (n > -128) {
        out.fill(frame[p++]!, o, Math.min(segmentLength, o + 1 - n));
        o += 1 - n;
      }
    }
    return out;
  });
}

/** 16-bit RGB (interleaved, little endian, or RLE segments R-high R-low G-high…) to 8-bit interleaved RGB. */
export function rgb16ToRgb8(pixels: number, sample: (pixel: number, channel: number) => number, bitsStored: number): Uint8Array {
  const shift = Math.max(0, bitsStored - 8);
  const out = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = Math.min(255, sample(p, c) >> shift);
  return out;
}

export function uncompressedRgb16(frame: Uint8Array, pixels: number, planar: boolean): (pixel: number, channel: number) => number {
  if (frame.length < pixels * 6) throw new Error(`16-bit RGB frame of ${frame.length} bytes, ${pixels * 6} expected`);
  const at = (i: number) => frame[i * 2]! | (frame[i * 2 + 1]! << 8);
  return planar ? (p, c) => at(c * pixels + p) : (p, c) => at(p * 3 + c);
}

export function rleRgb16(frame: Uint8Array, pixels: number): (pixel: number, channel: number) => number {
  const segments = rleSegments(frame, pixels);
  if (segments.length !== 6) throw new Error(`16-bit RGB RLE frame with ${segments.length} segments, 6 expected`);
  return (p, c) => (segments[c * 2]![p]! << 8) | segments[c * 2 + 1]![p]!;
}
