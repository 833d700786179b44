import { adoptToken, dicomwebHeaders } from './auth.js';
import { DicomwebHttpError, createDicomwebClient, type DicomwebClient } from './dicomweb-client.js';
import { drawThumbnail, initImaging, registerFrames, rendererKind } from './imaging.js';
import { buildToolbar, fillLabels, markCurrentSeries, onSlider, renderSeriesList, setStatus, showBanner, showViewState, viewportElement, type SeriesItem } from './page.js';
import { parseViewerRequest } from './params.js';
import { WINDOW_PRESETS, isPresetName, PRESET_ORDER } from './presets.js';
import { createStackViewport, type StackViewport } from './stack-viewport.js';
import { bannerOf, initialIndex, seriesSummaries, stackFrames, type StackFrame } from './study-model.js';
import { STRINGS } from '../strings/viewer.js';

/** Entry point: reads the link, loads the study through DICOMweb, shows the first image, then the thumbnails. */

interface LoadedSeries {
  frames: StackFrame[];
  imageIds: string[];
}

function errorText(err: unknown): string {
  if (err instanceof DicomwebHttpError) {
    if (err.status === 401 || err.status === 403) return STRINGS.errors.unauthorized;
    if (err.status === 404) return STRINGS.errors.notFound;
    return STRINGS.errors.unavailable;
  }
  if (err instanceof TypeError) return STRINGS.errors.unavailable; // fetch: network failure
  return STRINGS.errors.generic;
}

async function start(): Promise<void> {
  fillLabels();
  setStatus('loading', STRINGS.loading);
  const request = parseViewerRequest(location.search, location.hash);
  if (!request.ok) {
    setStatus('error', STRINGS.errors[request.reason]);
    return;
  }
  const token = adoptToken(request.token);
  const fixedHeaders = dicomwebHeaders(token, request.kosSopInstanceUid);
  const headers = () => fixedHeaders;
  const client = createDicomwebClient(request.dicomwebBase, headers);
  const study = request.studyInstanceUid;

  initImaging(headers);
  document.body.dataset.renderer = rendererKind();
  const element = viewportElement();
  const view = createStackViewport(element);
  wireControls(view, element);

  const series = seriesSummaries(await client.searchSeries(study));
  if (series.length === 0) {
    setStatus('error', STRINGS.errors.noImages);
    return;
  }
  const loaded = new Map<string, Promise<LoadedSeries>>();
  const load = (uid: string) => {
    let p = loaded.get(uid);
    if (!p) {
      p = loadSeries(client, study, uid);
      loaded.set(uid, p);
      p.catch(() => loaded.delete(uid));
    }
    return p;
  };

  let current = '';
  const open = async (uid: string) => {
    if (uid === current) return;
    current = uid;
    markCurrentSeries(items, uid);
    setStatus('loading', STRINGS.loadingImage);
    let s: LoadedSeries;
    try {
      s = await load(uid);
    } catch (err) {
      if (uid === current) current = ''; // a second click retries
      throw err;
    }
    if (uid !== current) return;
    if (s.imageIds.length === 0) {
      setStatus('error', STRINGS.errors.noImages);
      return;
    }
    await view.setStack(s.imageIds, initialIndex(s.imageIds.length));
  };
  const items: SeriesItem[] = renderSeriesList(series, (uid) => void open(uid).catch(showError));

  let firstImage = true;
  view.onImageRendered(() => {
    if (!firstImage) return;
    firstImage = false;
    setStatus('ready');
    // Time from navigation start to the first image drawn (bundle load included), read by the e2e test and the benchmark.
    document.body.dataset.firstImageMs = String(Math.round(performance.now()));
    void drawThumbnails(items, load).catch(() => undefined);
  });
  view.onImageRendered(() => setStatus('ready'));
  view.onImageError(() => setStatus('error', STRINGS.errors.image));

  const wanted = request.seriesInstanceUid && series.some((s) => s.seriesInstanceUid === request.seriesInstanceUid) ? request.seriesInstanceUid : series[0]!.seriesInstanceUid;
  const first = await load(wanted);
  showBanner(bannerOf(first.frames[0]?.metadata));
  await open(wanted);
}

async function loadSeries(client: DicomwebClient, study: string, series: string): Promise<LoadedSeries> {
  const frames = stackFrames(await client.seriesMetadata(study, series));
  return { frames, imageIds: registerFrames(client, study, series, frames) };
}

/** One at a time, after the first image: thumbnails must never slow the image the user is waiting for. */
async function drawThumbnails(items: SeriesItem[], load: (uid: string) => Promise<LoadedSeries>): Promise<void> {
  for (const item of items) {
    try {
      const s = await load(item.summary.seriesInstanceUid);
      const i = initialIndex(s.imageIds.length);
      const imageId = s.imageIds[i];
      const frame = s.frames[i];
      if (imageId && frame) await drawThumbnail(item.thumbnail, imageId, frame);
      item.thumbnail.dataset.drawn = 'true';
    } catch {
      item.thumbnail.dataset.drawn = 'failed';
    }
  }
}

function wireControls(view: StackViewport, element: HTMLElement): void {
  const toolbar = buildToolbar({
    tool(mode) {
      view.setTool(mode);
      toolbar.setTool(mode);
    },
    preset: (name) => view.setWindow(WINDOW_PRESETS[name]),
    reset: () => view.reset(),
  });
  view.onChange(showViewState);
  onSlider((index) => void view.scrollTo(index));
  const keys: Record<string, () => unknown> = {
    ArrowUp: () => view.scrollBy(-1),
    ArrowLeft: () => view.scrollBy(-1),
    ArrowDown: () => view.scrollBy(1),
    ArrowRight: () => view.scrollBy(1),
    PageUp: () => view.scrollBy(-10),
    PageDown: () => view.scrollBy(10),
    Home: () => view.scrollTo(0),
    End: () => view.scrollTo(Number.MAX_SAFE_INTEGER),
    r: () => view.reset(),
  };
  document.addEventListener('keydown', (e) => {
    if (e.target instanceof HTMLInputElement || e.ctrlKey || e.metaKey || e.altKey) return;
    const digit = Number(e.key);
    const preset = Number.isInteger(digit) && digit >= 1 ? PRESET_ORDER[digit - 1] : undefined;
    const action = keys[e.key] ?? (preset && isPresetName(preset) ? () => view.setWindow(WINDOW_PRESETS[preset]) : undefined);
    if (!action) return;
    e.preventDefault();
    void action();
  });
  new ResizeObserver(() => view.resize()).observe(element);
  element.addEventListener('contextmenu', (e) => e.preventDefault());
}

function showError(err: unknown): void {
  console.error('viewer:', err);
  setStatus('error', errorText(err));
}

start().catch(showError);
