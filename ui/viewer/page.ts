import { formatDate, formatPersonName, formatSex } from './format.js';
import type { EdgeLetters } from './orientation.js';
import type { PresetName } from './presets.js';
import { TOOL_MODES, type ToolMode, type ViewState } from './stack-viewport.js';
import type { SeriesSummary, StudyBanner } from './study-model.js';
import { STRINGS } from '../strings/viewer.js';

/** The page's DOM: text always set with textContent (DICOM values are untrusted), ids the tests rely on. */

export const THUMBNAIL_SIZE = 128;

export function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`viewer: #${id} missing from index.html`);
  return el as T;
}

export function fillLabels(): void {
  document.title = STRINGS.pageTitle;
  document.querySelectorAll<HTMLElement>('[data-label]').forEach((el) => {
    const text = STRINGS[el.dataset.label as keyof typeof STRINGS];
    if (typeof text === 'string') el.textContent = text;
  });
}

export function showBanner(b: StudyBanner): void {
  byId('patient-name').textContent = formatPersonName(b.patientName);
  byId('patient-birth-date').textContent = formatDate(b.birthDate);
  byId('patient-sex').textContent = formatSex(b.sex);
  byId('study-date').textContent = formatDate(b.studyDate);
  byId('study-description').textContent = b.studyDescription ?? '';
  byId('institution').textContent = b.institution ?? STRINGS.unknown;
}

export type StatusState = 'loading' | 'ready' | 'error';

export function setStatus(state: StatusState, text = '', id = 'status'): void {
  const el = byId(id);
  el.dataset.state = state;
  el.textContent = text;
}

export interface SeriesItem {
  summary: SeriesSummary;
  button: HTMLButtonElement;
  thumbnail: HTMLCanvasElement;
  badge: HTMLElement;
}

export function renderSeriesList(series: SeriesSummary[], onSelect: (uid: string) => void): SeriesItem[] {
  const list = byId<HTMLUListElement>('series-list');
  list.replaceChildren();
  return series.map((summary) => {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'series-item';
    button.dataset.seriesUid = summary.seriesInstanceUid;
    const thumbnail = document.createElement('canvas');
    thumbnail.className = 'thumbnail';
    thumbnail.width = thumbnail.height = THUMBNAIL_SIZE;
    const title = document.createElement('span');
    title.className = 'title';
    title.textContent = summary.description ?? STRINGS.seriesUntitled;
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = [summary.modality, summary.seriesNumber !== undefined ? `#${summary.seriesNumber}` : undefined, summary.instanceCount !== undefined ? STRINGS.seriesImages(summary.instanceCount) : undefined]
      .filter(Boolean)
      .join(' · ');
    const badge = document.createElement('span');
    badge.className = 'badge';
    button.append(thumbnail, title, meta, badge);
    button.addEventListener('click', () => onSelect(summary.seriesInstanceUid));
    li.append(button);
    list.append(li);
    return { summary, button, thumbnail, badge };
  });
}

export function markCurrentSeries(items: SeriesItem[], uid: string): void {
  for (const item of items) item.button.setAttribute('aria-current', String(item.summary.seriesInstanceUid === uid));
}

export interface ToolbarHandlers {
  tool(mode: ToolMode): void;
  preset(name: PresetName): void;
  reset(): void;
  cine(): void;
  tags(): void;
  fullscreen(): void;
  nextKeyImage(): void;
  compare(): void;
}

export interface Toolbar {
  setTool(mode: ToolMode): void;
  /** Presets offered for the series on screen (none hides the menu). */
  setPresets(names: readonly PresetName[]): void;
  setCine(available: boolean, playing: boolean): void;
  setKeyImages(count: number): void;
  setCompare(available: boolean, on: boolean): void;
  setFullscreen(on: boolean): void;
}

/** Symbols shown on every screen; the words beside them only where there is room (CSS), always as the name. */
const TOOL_SYMBOL: Record<ToolMode, string> = { windowLevel: '◐', scroll: '↕', pan: '✥', zoom: '⊕', measure: '↔', angle: '∠', roi: '◯' };

export function buildToolbar(h: ToolbarHandlers): Toolbar {
  const bar = byId('toolbar');
  bar.setAttribute('aria-label', STRINGS.toolsLabel);
  const button = (symbol: string, label: string, data: Record<string, string>, onClick: () => void) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.title = label;
    b.setAttribute('aria-label', label);
    const s = document.createElement('span');
    s.className = 'symbol';
    s.setAttribute('aria-hidden', 'true');
    s.textContent = symbol;
    const l = document.createElement('span');
    l.className = 'label';
    l.textContent = label;
    b.append(s, l);
    Object.assign(b.dataset, data);
    b.addEventListener('click', onClick);
    return b;
  };
  const group = () => {
    const g = document.createElement('div');
    g.className = 'group';
    bar.append(g);
    return g;
  };
  const toolGroup = group();
  const toolButtons = TOOL_MODES.map((mode) => {
    const b = button(TOOL_SYMBOL[mode], STRINGS.tools[mode], { tool: mode }, () => h.tool(mode));
    toolGroup.append(b);
    return b;
  });
  const view = group();
  const presets = document.createElement('select');
  presets.id = 'preset-select';
  presets.setAttribute('aria-label', STRINGS.presetsLabel);
  presets.addEventListener('change', () => {
    const name = presets.value as PresetName;
    presets.value = '';
    if (name) h.preset(name);
  });
  view.append(presets, button('⟲', STRINGS.tools.reset, { action: 'reset' }, () => h.reset()));
  const cine = button('▶', STRINGS.tools.cine, { action: 'cine' }, () => h.cine());
  const key = button('★', STRINGS.tools.keyImage, { action: 'key-image' }, () => h.nextKeyImage());
  const compare = button('◫', STRINGS.tools.compare, { action: 'compare' }, () => h.compare());
  view.append(cine, key, compare);
  const more = group();
  const fullscreen = button('⊡', STRINGS.tools.fullscreen, { action: 'fullscreen' }, () => h.fullscreen());
  more.append(button('⋮', STRINGS.tools.tags, { action: 'tags' }, () => h.tags()), fullscreen);

  const label = (b: HTMLButtonElement, text: string, symbol: string) => {
    b.title = text;
    b.setAttribute('aria-label', text);
    b.querySelector('.label')!.textContent = text;
    b.querySelector('.symbol')!.textContent = symbol;
  };
  const toolbar: Toolbar = {
    setTool: (mode) => toolButtons.forEach((b, i) => b.setAttribute('aria-pressed', String(TOOL_MODES[i] === mode))),
    setPresets(names) {
      const first = document.createElement('option');
      first.value = '';
      first.textContent = STRINGS.presetsLabel;
      presets.replaceChildren(
        first,
        ...names.map((n) => {
          const o = document.createElement('option');
          o.value = n;
          o.textContent = STRINGS.presets[n];
          return o;
        }),
      );
      presets.hidden = names.length === 0;
    },
    setCine(available, playing) {
      cine.hidden = !available;
      cine.setAttribute('aria-pressed', String(playing));
      label(cine, playing ? STRINGS.tools.cineStop : STRINGS.tools.cine, playing ? '■' : '▶');
    },
    setKeyImages(count) {
      key.hidden = count === 0;
    },
    setCompare(available, on) {
      compare.hidden = !available;
      compare.setAttribute('aria-pressed', String(on));
    },
    setFullscreen(on) {
      label(fullscreen, on ? STRINGS.tools.fullscreenExit : STRINGS.tools.fullscreen, '⊡');
      fullscreen.setAttribute('aria-pressed', String(on));
    },
  };
  toolbar.setTool('windowLevel');
  toolbar.setPresets([]);
  toolbar.setCine(false, false);
  toolbar.setKeyImages(0);
  toolbar.setCompare(false, false);
  return toolbar;
}

export function showViewState(s: ViewState): void {
  const slider = byId<HTMLInputElement>('slice-slider');
  slider.max = String(Math.max(1, s.count));
  slider.value = String(s.index + 1);
  slider.disabled = s.count <= 1;
  slider.setAttribute('aria-valuetext', STRINGS.image(s.index + 1, s.count));
  const counter = byId('image-counter');
  counter.textContent = s.count > 0 ? STRINGS.image(s.index + 1, s.count) : '';
  counter.dataset.index = String(s.index);
  byId('window-label').textContent = s.window && s.count > 0 ? STRINGS.window(s.window.center, s.window.width) : '';
  byId('zoom-label').textContent = s.zoomPercent !== undefined && s.count > 0 ? STRINGS.zoom(s.zoomPercent) : '';
}

/** Corner text of the image on screen: what it is and where it lies; empty strings clear it. */
export function showImageText(text: { series: string; slice: string; keyImage: boolean }): void {
  byId('series-label').textContent = text.series;
  byId('slice-info').textContent = text.slice;
  byId('key-image-mark').textContent = text.keyImage ? STRINGS.keyImageMark : '';
}

export function showOrientation(letters: EdgeLetters | undefined): void {
  for (const edge of ['top', 'bottom', 'left', 'right'] as const) byId(`orientation-${edge}`).textContent = letters?.[edge] ?? '';
}

export function onSlider(listener: (index: number) => void): void {
  byId<HTMLInputElement>('slice-slider').addEventListener('input', (e) => listener(Number((e.target as HTMLInputElement).value) - 1));
}

export function viewportElement(id = 'viewport'): HTMLDivElement {
  return byId<HTMLDivElement>(id);
}
