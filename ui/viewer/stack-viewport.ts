import { Enums, RenderingEngine, type Types } from '@cornerstonejs/core';
import {
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
import { formatMillimetres } from './format.js';
import { voiRange, windowOf, type WindowPreset } from './presets.js';

/** The one stack viewport of the page, over Cornerstone3D, with the tools a consultation needs. */

export type ToolMode = 'windowLevel' | 'pan' | 'zoom' | 'measure';

export interface ViewState {
  index: number;
  count: number;
  window?: WindowPreset;
  zoomPercent?: number;
}

export interface StackViewport {
  setStack(imageIds: string[], index: number): Promise<void>;
  scrollTo(index: number): Promise<void>;
  scrollBy(delta: number): Promise<void>;
  setWindow(preset: WindowPreset): void;
  setTool(mode: ToolMode): void;
  /** Back to the first view of the image: fit, centred, the image's own window, measurements removed. */
  reset(): void;
  state(): ViewState;
  resize(): void;
  onChange(listener: (state: ViewState) => void): void;
  onImageRendered(listener: () => void): void;
  onImageError(listener: (imageId: string) => void): void;
}

const ENGINE_ID = 'drimbox-viewer';
const VIEWPORT_ID = 'drimbox-stack';
const TOOL_GROUP_ID = 'drimbox-tools';

const PRIMARY_TOOL: Record<ToolMode, string> = {
  windowLevel: WindowLevelTool.toolName,
  pan: PanTool.toolName,
  zoom: ZoomTool.toolName,
  measure: LengthTool.toolName,
};

let toolsRegistered = false;

function registerTools(): void {
  if (toolsRegistered) return;
  for (const tool of [WindowLevelTool, PanTool, ZoomTool, StackScrollTool, LengthTool]) addTool(tool);
  toolsRegistered = true;
}

/** Length label in French (one decimal, comma); pixels when the image carries no spacing. */
function lengthTextLines(data: { cachedStats?: Record<string, { length?: number; unit?: string }> }, targetId: string): string[] {
  const stats = data.cachedStats?.[targetId];
  if (stats?.length === undefined || !Number.isFinite(stats.length)) return [];
  return stats.unit === 'mm' ? [formatMillimetres(stats.length)] : [`${stats.length.toFixed(1).replace('.', ',')} ${stats.unit ?? 'px'}`];
}

export function createStackViewport(element: HTMLDivElement): StackViewport {
  registerTools();
  const engine = new RenderingEngine(ENGINE_ID);
  engine.enableElement({ viewportId: VIEWPORT_ID, type: Enums.ViewportType.STACK, element, defaultOptions: { background: [0, 0, 0] } });
  const viewport = engine.getViewport(VIEWPORT_ID) as Types.IStackViewport;

  const { MouseBindings } = ToolEnums;
  const group = ToolGroupManager.createToolGroup(TOOL_GROUP_ID);
  if (!group) throw new Error('viewer: tool group could not be created');
  group.addTool(WindowLevelTool.toolName);
  group.addTool(PanTool.toolName);
  group.addTool(ZoomTool.toolName, { pinchToZoom: true, pan: true });
  group.addTool(StackScrollTool.toolName);
  group.addTool(LengthTool.toolName, { getTextLines: lengthTextLines });
  group.addViewport(VIEWPORT_ID, ENGINE_ID);
  // Fixed bindings whatever the mode: wheel scrolls, middle button pans, right button and pinch zoom.
  group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
  group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
  group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }, { numTouchPoints: 2 }] });
  let mode: ToolMode = 'windowLevel';
  group.setToolActive(WindowLevelTool.toolName, { bindings: [{ mouseButton: MouseBindings.Primary }] });

  let imageIds: string[] = [];
  // Zoom of the fitted view: the GPU path reports 1 there, the canvas 2D path its own scale; shown relative to it.
  let fittedZoom = 1;
  const captureFit = () => {
    const z = viewport.getZoom();
    fittedZoom = Number.isFinite(z) && z > 0 ? z : 1;
  };
  const changeListeners: ((s: ViewState) => void)[] = [];
  const renderedListeners: (() => void)[] = [];
  const errorListeners: ((imageId: string) => void)[] = [];

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

  for (const event of [Enums.Events.STACK_NEW_IMAGE, Enums.Events.VOI_MODIFIED, Enums.Events.CAMERA_MODIFIED]) {
    element.addEventListener(event, notify);
  }
  element.addEventListener(Enums.Events.IMAGE_RENDERED, () => {
    for (const l of renderedListeners) l();
  });
  element.addEventListener(Enums.Events.IMAGE_LOAD_ERROR, (evt) => {
    const imageId = (evt as CustomEvent<{ imageId?: string }>).detail?.imageId ?? '';
    for (const l of errorListeners) l(imageId);
  });

  const clamp = (i: number) => Math.max(0, Math.min(imageIds.length - 1, Math.round(i)));
  const scrollTo = async (index: number) => {
    if (imageIds.length === 0) return;
    const target = clamp(index);
    if (target === viewport.getCurrentImageIdIndex()) return;
    await viewport.setImageIdIndex(target);
  };

  return {
    async setStack(ids, index) {
      annotation.state.removeAllAnnotations();
      imageIds = ids;
      await viewport.setStack(ids, clamp(index));
      viewport.resetCamera();
      captureFit();
      viewport.render();
      notify();
    },
    scrollTo,
    scrollBy: (delta) => scrollTo(viewport.getCurrentImageIdIndex() + delta),
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
      captureFit();
      viewport.render();
      notify();
    },
    state,
    resize() {
      engine.resize(true, true);
    },
    onChange: (l) => void changeListeners.push(l),
    onImageRendered: (l) => void renderedListeners.push(l),
    onImageError: (l) => void errorListeners.push(l),
  };
}
