import { NOISE_TABLE_SIZE, type SeededRandom } from './random.js';

export interface Quantization {
  /** stored = round(value × scale + offset) + noise, then clamped to [0, maxStored]. */
  scale: number;
  offset: number;
  maxStored: number;
  /** Magnitude images (MR): the noisy value is folded to its absolute value, like a Rician background. */
  magnitude?: boolean;
}

/** Rendered values → unsigned stored pixel values, with table noise read at a random offset per row. */
export function quantize(
  values: Float32Array,
  rows: number,
  columns: number,
  q: Quantization,
  noise: Int16Array,
  random: SeededRandom,
  out: Uint16Array,
): void {
  const mask = NOISE_TABLE_SIZE - 1;
  for (let r = 0; r < rows; r++) {
    const base = r * columns;
    const noiseStart = random.nextUint32() & mask;
    for (let c = 0; c < columns; c++) {
      let v = Math.round(values[base + c]! * q.scale + q.offset) + noise[(noiseStart + c) & mask]!;
      if (q.magnitude && v < 0) v = -v;
      out[base + c] = v < 0 ? 0 : v > q.maxStored ? q.maxStored : v;
    }
  }
}

/** Stored bits of every synthetic image: 12 of 16, unsigned (as CT and MR scanners commonly write). */
export const BITS_STORED = 12;

/** Image Pixel module (PS3.3 C.7.6.3) of a 16-bit-allocated, 12-bit-stored unsigned grayscale image. */
export function grayscalePixelModule(rows: number, columns: number): Record<string, unknown> {
  return {
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: rows,
    Columns: columns,
    BitsAllocated: 16,
    BitsStored: BITS_STORED,
    HighBit: BITS_STORED - 1,
    PixelRepresentation: 0,
  };
}
