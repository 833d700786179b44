import { formatDate, formatPersonName, formatSex } from './format.js';
import { PRESET_ORDER, type PresetName } from './presets.js';
import type { ToolMode, ViewState } from './stack-viewport.js';
import type { SeriesSummary, StudyBanner } from './study-model.js';
import { STRINGS } from '../strings/viewer.js';

/** The page's DOM: text always set with textContent (DICOM values are untrusted), ids the tests rely on. */

export const THUMBNAIL_SIZE = 128;

function byId<T extends HTMLElement>(id: string): T {
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

export function setStatus(state: StatusState, text = ''): void {
  const el = byId('status');
  el.dataset.state = state;
  el.textContent = text;
}

export interface SeriesItem {
  summary: SeriesSummary;
  button: HTMLButtonElement;
  thumbnail: HTMLCanvasElement;
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
    button.append(thumbnail, title, meta);
    button.addEventListener('click', () => onSelect(summary.seriesInstanceUid));
    li.append(button);
    list.append(li);
    return { summary, button, thumbnail };
  });
}

export function markCurrentSeries(items: SeriesItem[], uid: string): void {
  for (const item of items) item.button.setAttribute('aria-current', String(item.summary.seriesInstanceUid === uid));
}

export interface ToolbarHandlers {
  tool(mode: ToolMode): void;
  preset(name: PresetName): void;
  reset(): void;
}

export function buildToolbar(h: ToolbarHandlers): { setTool(mode: ToolMode): void } {
  const bar = byId('toolbar');
  const button = (label: string, data: Record<string, string>, onClick: () => void) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    Object.assign(b.dataset, data);
    b.addEventListener('click', onClick);
    return b;
  };
  const group = (label?: string) => {
    const g = document.createElement('div');
    g.className = 'group';
    if (label) {
      const l = document.createElement('span');
      l.className = 'group-label';
      l.textContent = label;
      g.append(l);
    }
    bar.append(g);
    return g;
  };
  const modes: ToolMode[] = ['windowLevel', 'pan', 'zoom', 'measure'];
  const toolGroup = group();
  const toolButtons = modes.map((mode) => {
    const b = button(STRINGS.tools[mode], { tool: mode }, () => h.tool(mode));
    toolGroup.append(b);
    return b;
  });
  const presets = group(STRINGS.presetsLabel);
  for (const name of PRESET_ORDER) presets.append(button(STRINGS.presets[name], { preset: name }, () => h.preset(name)));
  group().append(button(STRINGS.tools.reset, { action: 'reset' }, () => h.reset()));
  const setTool = (mode: ToolMode) => toolButtons.forEach((b, i) => b.setAttribute('aria-pressed', String(modes[i] === mode)));
  setTool('windowLevel');
  return { setTool };
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
  byId('window-label').textContent = s.window ? STRINGS.window(s.window.center, s.window.width) : '';
  byId('zoom-label').textContent = s.zoomPercent !== undefined ? STRINGS.zoom(s.zoomPercent) : '';
}

export function onSlider(listener: (index: number) => void): void {
  byId<HTMLInputElement>('slice-slider').addEventListener('input', (e) => listener(Number((e.target as HTMLInputElement).value) - 1));
}

export function viewportElement(): HTMLDivElement {
  return byId<HTMLDivElement>('viewport');
}
