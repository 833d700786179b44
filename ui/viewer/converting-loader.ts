import { imageLoader, type Types } from '@cornerstonejs/core';
import { createImage } from '@cornerstonejs/dicom-image-loader';
import { TAG, num, type DicomJsonDataset } from './dicom-json.js';
import { rgb16ToRgb8, rleRgb16, uncompressedRgb16, ybrFull422ToRgb } from './frame-convert.js';
import { firstPart, type Conversion } from './loader-metadata.js';

/**
 * Frames Cornerstone's own loader draws wrong (uncompressed YBR_FULL_422, colour above 8 bits): this loader fetches
 * the frame by WADO-RS, turns it into 8-bit RGB (frame-convert.ts) and hands it to the loader's public createImage.
 * Frames of such a series that arrive compressed in a syntax the loader decodes to 8-bit RGB itself (JPEG baseline
 * YBR_FULL_422) go through as they come. Registered under its own scheme, on the same frame URLs.
 */

export const CONVERTING_SCHEME = 'drimbox-convert';
const UNCOMPRESSED = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1']);
const RLE = '1.2.840.10008.1.2.5';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';

/** An HTTP refusal as the loader's own errors carry it (`status`), so the page says the same thing for both. */
export class FrameHttpError extends Error {
  constructor(
    readonly status: number,
    url: string,
  ) {
    super(`frame ${url}: HTTP ${status}`);
  }
}

interface Layout {
  conversion: Conversion;
  rows: number;
  columns: number;
  bitsStored: number;
  planar: boolean;
}

const layouts = new Map<string, Layout>();

/** The image id of a frame that needs converting, its layout taken from the instance's real metadata. */
export function convertingImageId(url: string, conversion: Conversion, ds: DicomJsonDataset): string {
  const imageId = `${CONVERTING_SCHEME}:${url}`;
  layouts.set(imageId, {
    conversion,
    rows: num(ds, TAG.Rows) ?? 0,
    columns: num(ds, TAG.Columns) ?? 0,
    bitsStored: num(ds, TAG.BitsStored) ?? num(ds, TAG.BitsAllocated) ?? 8,
    planar: num(ds, TAG.PlanarConfiguration) === 1,
  });
  return imageId;
}

export function registerConvertingLoader(headers: () => Record<string, string>): void {
  imageLoader.registerImageLoader(CONVERTING_SCHEME, (imageId: string, options?: Record<string, unknown>) => ({
    promise: load(imageId, headers, options ?? {}),
  }));
}

function convert(layout: Layout, bytes: Uint8Array, syntax: string): Uint8Array | undefined {
  const pixels = layout.rows * layout.columns;
  if (layout.conversion === 'ybr422') return UNCOMPRESSED.has(syntax) ? ybrFull422ToRgb(bytes, layout.columns, layout.rows) : undefined;
  if (UNCOMPRESSED.has(syntax)) return rgb16ToRgb8(pixels, uncompressedRgb16(bytes, pixels, layout.planar), layout.bitsStored);
  if (syntax === RLE) return rgb16ToRgb8(pixels, rleRgb16(bytes, pixels), layout.bitsStored);
  throw new Error(`colour above 8 bits in transfer syntax ${syntax} is not drawn by this viewer`);
}

async function load(imageId: string, headers: () => Record<string, string>, options: Record<string, unknown>): Promise<Types.IImage> {
  const layout = layouts.get(imageId);
  if (!layout || layout.rows < 1 || layout.columns < 1) throw new Error(`no layout registered for ${imageId}`);
  const url = imageId.slice(CONVERTING_SCHEME.length + 1);
  const res = await fetch(url, { headers: { accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*', ...headers() }, credentials: 'same-origin' });
  if (!res.ok) throw new FrameHttpError(res.status, url);
  const part = firstPart(new Uint8Array(await res.arrayBuffer()), res.headers.get('content-type') ?? '');
  const syntax = part.transferSyntax ?? EXPLICIT_LE;
  const rgb = convert(layout, part.bytes, syntax);
  return (await createImage(imageId, rgb ?? part.bytes, rgb ? EXPLICIT_LE : syntax, options)) as unknown as Types.IImage;
}
