import { cache, getShouldUseCPURendering, imageLoader, init as initCore, type Types } from '@cornerstonejs/core';
import { init as initLoader, wadors } from '@cornerstonejs/dicom-image-loader';
import { init as initTools } from '@cornerstonejs/tools';
import type { DicomwebClient } from './dicomweb-client.js';
import { conversionOf, prepareForLoader } from './loader-metadata.js';
import type { StackFrame } from './study-model.js';
import { renderThumbnail } from './thumbnail-render.js';
import { TAG, num } from './dicom-json.js';
import type { WindowPreset } from './presets.js';
import { convertingImageId, registerConvertingLoader } from './converting-loader.js';

/** Cornerstone3D set up for this page: WADO-RS frames through the given DICOMweb base, decoded in a worker. */

/** Decoded images kept in the browser: enough for a few hundred 512×512 CT slices on a modest client. */
const IMAGE_CACHE_BYTES = 384 * 1024 * 1024;

export function initImaging(headers: () => Record<string, string>): void {
  initCore();
  initLoader({
    maxWebWorkers: Math.max(1, Math.min(2, Math.floor((navigator.hardwareConcurrency || 2) / 2))),
    // The codecs' .wasm files are copied next to the bundle at build time (no CDN at run time).
    wasmBasePath: new URL('wasm/', import.meta.url).href,
    beforeSend: () => headers(),
  });
  registerConvertingLoader(headers);
  initTools();
  cache.setMaxCacheSize(IMAGE_CACHE_BYTES);
}

/** Which path Cornerstone took: WebGL, or its canvas 2D fallback when the browser has no usable WebGL. */
export function rendererKind(): 'gpu' | 'cpu' {
  return getShouldUseCPURendering() ? 'cpu' : 'gpu';
}

/**
 * Registers each frame's metadata with the loader (made safe for it, see loader-metadata.ts) and returns the image
 * ids, in stack order: `wadors:` frame URLs, or the converting loader's scheme for frames it must turn into RGB first.
 */
export async function registerFrames(client: DicomwebClient, study: string, series: string, frames: StackFrame[]): Promise<string[]> {
  const prepared = new Map<StackFrame['metadata'], Promise<StackFrame['metadata']>>();
  const ids: string[] = [];
  for (const f of frames) {
    let meta = prepared.get(f.metadata);
    if (!meta) {
      meta = prepareForLoader(f.metadata, (uri) => client.bulkData(uri));
      prepared.set(f.metadata, meta);
    }
    const url = new URL(client.frameUrl(study, series, f.sopInstanceUid, f.frame), location.origin).href;
    const conversion = conversionOf(f.metadata);
    const imageId = conversion ? convertingImageId(url, conversion, f.metadata) : `wadors:${url}`;
    wadors.metaDataManager.add(imageId, (await meta) as unknown as Parameters<typeof wadors.metaDataManager.add>[1]);
    ids.push(imageId);
  }
  return ids;
}

/** Draws one frame, windowed as the image asks (or min/max), into a square canvas; colour stays colour. */
export async function drawThumbnail(canvas: HTMLCanvasElement, imageId: string, frame: StackFrame): Promise<void> {
  const image: Types.IImage = await imageLoader.loadAndCacheImage(imageId);
  const prescaled = image.preScale?.scaled === true;
  const center = num(frame.metadata, TAG.WindowCenter);
  const width = num(frame.metadata, TAG.WindowWidth);
  const window: WindowPreset | undefined = center !== undefined && width !== undefined && width >= 1 ? { center, width } : undefined;
  const pixels = image.getPixelData();
  const size = canvas.width;
  const rendered = renderThumbnail(
    {
      pixels,
      width: image.width,
      height: image.height,
      slope: prescaled ? 1 : image.slope,
      intercept: prescaled ? 0 : image.intercept,
      invert: image.photometricInterpretation === 'MONOCHROME1',
      samplesPerPixel: image.color ? pixels.length / (image.width * image.height) : 1,
      // Colour converted to 8 bits on the way in (converting-loader.ts) says so by its array type.
      bitsStored: pixels instanceof Uint8Array || pixels instanceof Uint8ClampedArray ? 8 : num(frame.metadata, TAG.BitsStored),
    },
    image.color ? undefined : window,
    size,
  );
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.putImageData(new ImageData(rendered.data, rendered.width, rendered.height), 0, 0);
}
