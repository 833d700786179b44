import { cache, getShouldUseCPURendering, imageLoader, init as initCore, type Types } from '@cornerstonejs/core';
import { init as initLoader, wadors } from '@cornerstonejs/dicom-image-loader';
import { init as initTools } from '@cornerstonejs/tools';
import type { DicomwebClient } from './dicomweb-client.js';
import type { StackFrame } from './study-model.js';
import { renderThumbnail } from './thumbnail-render.js';
import { TAG, num } from './dicom-json.js';
import type { WindowPreset } from './presets.js';

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
  initTools();
  cache.setMaxCacheSize(IMAGE_CACHE_BYTES);
}

/** Which path Cornerstone took: WebGL, or its canvas 2D fallback when the browser has no usable WebGL. */
export function rendererKind(): 'gpu' | 'cpu' {
  return getShouldUseCPURendering() ? 'cpu' : 'gpu';
}

/** Registers each frame's metadata with the loader and returns the `wadors:` image ids, in stack order. */
export function registerFrames(client: DicomwebClient, study: string, series: string, frames: StackFrame[]): string[] {
  return frames.map((f) => {
    const url = new URL(client.frameUrl(study, series, f.sopInstanceUid, f.frame), location.origin).href;
    const imageId = `wadors:${url}`;
    wadors.metaDataManager.add(imageId, f.metadata as unknown as Parameters<typeof wadors.metaDataManager.add>[1]);
    return imageId;
  });
}

/** Draws one frame, windowed as the image asks (or min/max), into a square canvas. */
export async function drawThumbnail(canvas: HTMLCanvasElement, imageId: string, frame: StackFrame): Promise<void> {
  const image: Types.IImage = await imageLoader.loadAndCacheImage(imageId);
  const prescaled = image.preScale?.scaled === true;
  const center = num(frame.metadata, TAG.WindowCenter);
  const width = num(frame.metadata, TAG.WindowWidth);
  const window: WindowPreset | undefined = center !== undefined && width !== undefined && width >= 1 ? { center, width } : undefined;
  const size = canvas.width;
  const rendered = renderThumbnail(
    {
      pixels: image.getPixelData(),
      width: image.width,
      height: image.height,
      slope: prescaled ? 1 : image.slope,
      intercept: prescaled ? 0 : image.intercept,
      invert: image.photometricInterpretation === 'MONOCHROME1',
      samplesPerPixel: image.color ? image.getPixelData().length / (image.width * image.height) : 1,
    },
    window,
    size,
  );
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.putImageData(new ImageData(rendered.data, rendered.width, rendered.height), 0, 0);
}
