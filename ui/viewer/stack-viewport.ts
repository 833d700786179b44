import { Enums, RenderingEngine, cache, eventTarget, imageLoader, metaData, type Types } from '@cornerstonejs/core';
import {
  AngleTool,
  EllipticalROITool,
  Enums as ToolEnums,
  LengthTool,
  PanTool,
  StackScrollTool,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
  annotation,
  addTool,
} from '@cornerstonejs/tools';
import { angleTextLines, ellipseTextLines, lengthTextLines } from './measure-text.js';
import { voiRange, windowOf, type WindowPreset } from './presets.js';

/**
 * The one stack viewport of the page, over Cornerstone3D, with the tools a consultation needs. It never shows an
 * image under another's name: a frame that fails to load blanks the viewport until a good one is drawn, and the
 * "rendered" listeners hear only of frames that loaded.
 */

export type ToolMode = 'windowLevel' | 'scroll' | 'pan' | 'zoom' | 'measure' | 'angle' | 'roi';
export const TOOL_MODES: readonly ToolMode[] = ['windowLevel', 'scroll', 'pan', 'zoom', 'measure', 'angle', 'roi'];

export interface ViewState {
  index: number;
  count: number;
  window?: WindowPreset;
  zoomPercent?: number;
}

export interface StackViewport {
  /** Loads the frame at `index` first: rejects (and shows nothing) when it cannot be loaded. */
  setStack(imageIds: string[], index: number): Promise<void>;
  /** Empties the viewport: nothing shown, no counter, until the next setStack. */
  clear(): void;
  scrollTo(index: number): Promise<void>;
  scrollBy(delta: number, wrap?: boolean): Promise<void>;
  setWindow(preset: WindowPreset): void;
  setTool(mode: ToolMode): void;
  /** Back to the first view of the image: fit, centred, the image's own window, measurements removed. */
  reset(): void;
  state(): ViewState;
  /** The frame on screen, when it loaded. */
  shownImageId(): string | undefined;
  resize(): void;
  onChange(listener: (state: ViewState) => void): void;
  onImageRendered(listener: (imageId: string) => void): void;
  onImageError(listener: (imageId: string, error: unknown) => void): void;
}

const TOOL_GROUP_ID = 'drimbox-tools';
/** Zoom kept between a tenth and sixteen times the fitted view: a pinch on a small screen once reached 53,575 %. */
const ZOOM_MIN = 0.1;
const ZOOM_MAX = 16;
/** Images this small or smaller are magnified pixel by pixel (nearest neighbour), never smoothed. */
const PIXEL_TRUE_MAX_SIDE = 256;

const PRIMARY_TOOL: Record<ToolMode, string> = {
  windowLevel: WindowLevelTool.toolName,
  scroll: StackScrollTool.toolName,
  pan: PanTool.toolName,
  zoom: ZoomTool.toolName,
  measure: LengthTool.toolName,
  angle: AngleTool.toolName,
  roi: EllipticalROITool.toolName,
};

let toolsRegistered = false;

function registerTools(): void {
  if (toolsRegistered) return;
  for (const tool of [WindowLevelTool, PanTool, ZoomTool, StackScrollTool, LengthTool, AngleTool, EllipticalROITool]) addTool(tool);
  toolsRegistered = true;
}

let viewports = 0;

export function createStackViewport(element: HTMLDivElement): StackViewport {
  registerTools();
  const id = ++viewports;
  const engineId = `drimbox-viewer-${id}`;
  const viewportId = `drimbox-stack-${id}`;
  const engine = new RenderingEngine(engineId);
  engine.enableElement({ viewportId, type: Enums.ViewportType.STACK, element, defaultOptions: { background: [0, 0, 0] } });
  const viewport = engine.getViewport(viewportId) as Types.IStackViewport;

  const { MouseBindings } = ToolEnums;
  const group = ToolGroupManager.getToolGroup(TOOL_GROUP_ID) ?? ToolGroupManager.createToolGroup(TOOL_GROUP_ID);
  if (!group) throw new Error('viewer: tool group could not be created');
  if (id === 1) {
    group.addTool(WindowLevelTool.toolName);
    group.addTool(PanTool.toolName);
    group.addTool(ZoomTool.toolName);
    group.addTool(StackScrollTool.toolName);
    group.addTool(LengthTool.toolName, { getTextLines: lengthTextLines });
    group.addTool(AngleTool.toolName, { getTextLines: angleTextLines });
    group.addTool(EllipticalROITool.toolName, { getTextLines: ellipseTextLines });
    // Fixed bindings whatever the mode: wheel scrolls, middle button pans, right button zooms (pinch: see below).
    group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
    group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
    group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
    group.setToolActive(WindowLevelTool.toolName, { bindings: [{ mouseButton: MouseBindings.Primary }] });
  }
  group.addViewport(viewportId, engineId);
  let mode: ToolMode = 'windowLevel';

  let imageIds: string[] = [];
  const failed = new Set<string>();
  // Zoom of the fitted view: the GPU path reports 1 there, the canvas 2D path its own scale; shown relative to it.
  let fittedZoom = 1;
  const captureFit = () => {
    const z = viewport.getZoom();
    fittedZoom = Number.isFinite(z) && z > 0 ? z : 1;
  };
  const changeListeners: ((s: ViewState) => void)[] = [];
  const renderedListeners: ((imageId: string) => void)[] = [];
  const errorListeners: ((imageId: string, error: unknown) => void)[] = [];

  const currentId = () => (imageIds.length > 0 ? viewport.getCurrentImageId() : undefined);
  const blank = (on: boolean) => {
    if (on) element.dataset.blank = 'true';
    else delete element.dataset.blank;
  };

  const state = (): ViewState => {
    const props = imageIds.length > 0 ? viewport.getProperties() : undefined;
    const range = props?.voiRange;
    const zoom = imageIds.length > 0 ? viewport.getZoom() : undefined;
    return {
      index: imageIds.length > 0 ? viewport.getCurrentImageIdIndex() : 0,
      count: imageIds.length,
      ...(range ? { window: windowOf(range) } : {}),
      ...(zoom !== undefined && Number.isFinite(zoom) ? { zoomPercent: Math.round((zoom / fittedZoom) * 100) } : {}),
    };
  };
  const notify = () => {
    const s = state();
    for (const l of changeListeners) l(s);
  };
  const clampZoom = () => {
    if (imageIds.length === 0) return;
    const relative = viewport.getZoom() / fittedZoom;
    if (!Number.isFinite(relative)) return;
    if (relative > ZOOM_MAX) viewport.setZoom(fittedZoom * ZOOM_MAX);
    else if (relative < ZOOM_MIN) viewport.setZoom(fittedZoom * ZOOM_MIN);
    else return;
    viewport.render();
  };

  element.addEventListener(Enums.Events.CAMERA_MODIFIED, () => {
    clampZoom();
    notify();
  });
  for (const event of [Enums.Events.STACK_NEW_IMAGE, Enums.Events.VOI_MODIFIED]) element.addEventListener(event, notify);
  element.addEventListener(Enums.Events.IMAGE_RENDERED, () => {
    const shown = currentId();
    if (!shown || failed.has(shown)) return;
    blank(false);
    for (const l of renderedListeners) l(shown);
  });
  const onLoadError = (evt: Event) => {
    const detail = (evt as CustomEvent<{ imageId?: string; error?: unknown }>).detail;
    const imageId = detail?.imageId;
    if (!imageId || !imageIds.includes(imageId)) return;
    failed.add(imageId);
    if (imageId !== currentId()) return;
    blank(true);
    for (const l of errorListeners) l(imageId, detail.error);
  };
  // The loader reports failures on the library's event target, not on the element.
  eventTarget.addEventListener(Enums.Events.IMAGE_LOAD_ERROR, onLoadError);
  eventTarget.addEventListener(Enums.Events.IMAGE_LOAD_FAILED, onLoadError);

  // Pinch: the zoom follows the spread of the two fingers (×2 apart, ×2 zoom) whatever the screen's size; the
  // library's own pinch scaled with the screen (one pinch on the 800×480 screen once reached 53,575 %).
  const spread = (t: TouchList) => Math.hypot(t[0]!.clientX - t[1]!.clientX, t[0]!.clientY - t[1]!.clientY);
  let pinch: { from: number; zoom: number } | undefined;
  element.addEventListener(
    'touchstart',
    (e) => {
      pinch = e.touches.length === 2 && imageIds.length > 0 && spread(e.touches) > 0 ? { from: spread(e.touches), zoom: viewport.getZoom() } : undefined;
    },
    { passive: true },
  );
  element.addEventListener(
    'touchmove',
    (e) => {
      if (!pinch || e.touches.length !== 2) return;
      viewport.setZoom(pinch.zoom * (spread(e.touches) / pinch.from));
      viewport.render();
    },
    { passive: true },
  );
  element.addEventListener('touchend', (e) => {
    if (e.touches.length < 2) pinch = undefined;
  });

  const clamp = (i: number) => Math.max(0, Math.min(imageIds.length - 1, Math.round(i)));
  const scrollTo = async (index: number) => {
    if (imageIds.length === 0) return;
    const target = clamp(index);
    if (target === viewport.getCurrentImageIdIndex()) return;
    await viewport.setImageIdIndex(target);
  };

  const fitImage = (imageId: string, image: Types.IImage) => {
    const small = Math.max(image.height, image.width) <= PIXEL_TRUE_MAX_SIDE;
    viewport.setProperties({ interpolationType: small ? Enums.InterpolationType.NEAREST : Enums.InterpolationType.LINEAR });
    // Colour pixels above 8 bits: the window spans their own range (an 8-bit one turned 16-bit RGB white).
    const pixel = metaData.get('imagePixelModule', imageId) as { bitsStored?: number } | undefined;
    const bits = pixel?.bitsStored ?? 8;
    if (image.color && bits > 8) viewport.setProperties({ voiRange: { lower: 0, upper: 2 ** bits - 1 } });
  };

  return {
    async setStack(ids, index) {
      annotation.state.removeAllAnnotations();
      blank(true);
      imageIds = [];
      failed.clear();
      notify();
      const start = Math.max(0, Math.min(ids.length - 1, Math.round(index)));
      const first = ids[start];
      if (!first) throw new Error('viewer: empty stack');
      const image = await imageLoader.loadAndCacheImage(first);
      imageIds = ids;
      await viewport.setStack(ids, start);
      viewport.resetCamera();
      fitImage(first, image);
      captureFit();
      viewport.render();
      notify();
    },
    clear() {
      annotation.state.removeAllAnnotations();
      imageIds = [];
      failed.clear();
      blank(true);
      notify();
    },
    scrollTo,
    async scrollBy(delta, wrap = false) {
      if (imageIds.length === 0) return;
      const next = viewport.getCurrentImageIdIndex() + delta;
      await scrollTo(wrap ? ((next % imageIds.length) + imageIds.length) % imageIds.length : next);
    },
    setWindow(preset) {
      if (imageIds.length === 0) return;
      viewport.setProperties({ voiRange: voiRange(preset) });
      viewport.render();
      notify();
    },
    setTool(next) {
      if (next === mode) return;
      group.setToolPassive(PRIMARY_TOOL[mode]);
      mode = next;
      // Adds the primary binding to the tool's fixed ones (passive mode above removed only the primary binding).
      group.setToolActive(PRIMARY_TOOL[next], { bindings: [{ mouseButton: MouseBindings.Primary }] });
    },
    reset() {
      if (imageIds.length === 0) return;
      annotation.state.removeAllAnnotations();
      viewport.resetProperties();
      viewport.resetCamera();
      const shown = currentId();
      const image = shown ? cache.getImage(shown) : undefined;
      if (shown && image) fitImage(shown, image);
      captureFit();
      viewport.render();
      notify();
    },
    state,
    shownImageId: () => {
      const shown = currentId();
      return shown && !failed.has(shown) && element.dataset.blank !== 'true' ? shown : undefined;
    },
    resize() {
      engine.resize(true, true);
    },
    onChange: (l) => void changeListeners.push(l),
    onImageRendered: (l) => void renderedListeners.push(l),
    onImageError: (l) => void errorListeners.push(l),
  };
}
