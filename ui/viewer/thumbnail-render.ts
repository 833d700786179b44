import type { WindowPreset } from './presets.js';

/**
 * A thumbnail from stored pixel values, with no rendering engine: for grey images the modality LUT (slope,
 * intercept), then the linear VOI window (PS3.3 C.11.2.1.2.1); colour images keep their colour, scaled from their
 * bit depth to 8 bits. Nearest-neighbour downsampling into a letterboxed square. Pure, so the arithmetic is
 * unit-tested; the viewport itself renders with Cornerstone.
 */

export interface GreyImage {
  pixels: ArrayLike<number>;
  width: number;
  height: number;
  /** Multiplied and added to stored values, unless the pixels are already in output units. */
  slope: number;
  intercept: number;
  /** MONOCHROME1: high values are dark. */
  invert?: boolean;
  /** RGB(A) images: `samplesPerPixel` values a pixel, drawn in colour. */
  samplesPerPixel?: number;
  /** Bits of each colour sample (8 when absent). */
  bitsStored?: number;
}

/** Min and max of the modality values, the fallback window when the image names none. */
export function valueRange(img: GreyImage): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  const spp = img.samplesPerPixel ?? 1;
  for (let i = 0; i < img.width * img.height; i++) {
    const v = img.pixels[i * spp]! * img.slope + img.intercept;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return Number.isFinite(min) ? { min, max } : { min: 0, max: 1 };
}

export function renderThumbnail(img: GreyImage, window: WindowPreset | undefined, size: number): ImageDataLike {
  const out = new Uint8ClampedArray(size * size * 4);
  const { width: w, height: h } = img;
  const spp = img.samplesPerPixel ?? 1;
  const win = window ?? (spp >= 3 ? { center: 128, width: 256 } : undefined) ?? (() => {
    const r = valueRange(img);
    return { center: (r.min + r.max) / 2 + 0.5, width: Math.max(1, r.max - r.min + 1) };
  })();
  const lower = win.center - 0.5 - (win.width - 1) / 2;
  const span = Math.max(1, win.width - 1);
  const colourScale = 255 / (2 ** Math.max(1, img.bitsStored ?? 8) - 1);
  const scale = Math.min(size / w, size / h);
  const dw = Math.max(1, Math.round(w * scale));
  const dh = Math.max(1, Math.round(h * scale));
  const ox = Math.floor((size - dw) / 2);
  const oy = Math.floor((size - dh) / 2);
  for (let p = 3; p < out.length; p += 4) out[p] = 255;
  for (let y = 0; y < dh; y++) {
    const sy = Math.min(h - 1, Math.floor(y / scale));
    for (let x = 0; x < dw; x++) {
      const sx = Math.min(w - 1, Math.floor(x / scale));
      const base = (sy * w + sx) * spp;
      const o = ((oy + y) * size + ox + x) * 4;
      if (spp >= 3) {
        for (let c = 0; c < 3; c++) out[o + c] = Math.round(img.pixels[base + c]! * colourScale);
        continue;
      }
      const value = img.pixels[base]! * img.slope + img.intercept;
      let grey = Math.round(((value - lower) / span) * 255);
      grey = grey < 0 ? 0 : grey > 255 ? 255 : grey;
      if (img.invert) grey = 255 - grey;
      out[o] = out[o + 1] = out[o + 2] = grey;
    }
  }
  return { data: out, width: size, height: size };
}

export interface ImageDataLike {
  data: Uint8ClampedArray<ArrayBuffer>;
  width: number;
  height: number;
}
