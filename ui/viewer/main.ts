import { adoptToken, dicomwebHeaders } from './auth.js';
import { createCinePlayer, framesPerSecond } from './cine.js';
import { TAG, nums, str } from './dicom-json.js';
import { FrameHttpError } from './converting-loader.js';
import { createDicomwebClient } from './dicomweb-client.js';
import { initImaging, rendererKind } from './imaging.js';
import { keyImageUids } from './key-images.js';
import { errorText, withTimeout } from './load-errors.js';
import { edgeLetters } from './orientation.js';
import { buildToolbar, fillLabels, markCurrentSeries, onSlider, renderSeriesList, setStatus, showBanner, showImageText, showOrientation, showViewState, viewportElement, type SeriesItem, type Toolbar } from './page.js';
import { parseViewerRequest } from './params.js';
import { WINDOW_PRESETS, isPresetName, presetsFor } from './presets.js';
import { openPrior, type PriorPane } from './prior-pane.js';
import { createSeriesStore, drawThumbnails, type LoadedSeries } from './series-store.js';
import { sliceText } from './slice-text.js';
import { createStackViewport, type StackViewport } from './stack-viewport.js';
import { bannerOf, initialIndex, seriesSummaries } from './study-model.js';
import { initTagDialog } from './tag-dialog.js';
import { STRINGS } from '../strings/viewer.js';

/** Entry point: reads the link, loads the study through DICOMweb, shows the first image, then the thumbnails. */

/** A series or its first image that has not come in this long is reported, not waited for forever. */
const SERIES_TIMEOUT_MS = 60_000;

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
  const tagDialog = initTagDialog();

  const allSeries = await withTimeout(client.searchSeries(study), SERIES_TIMEOUT_MS, 'series search');
  const series = seriesSummaries(allSeries);
  if (series.length === 0) {
    setStatus('error', STRINGS.errors.noImages);
    return;
  }
  const store = createSeriesStore(client, study);
  let keyImages = new Set<string>();
  let current: { uid: string; loaded?: LoadedSeries } = { uid: '' };
  let opening = 0;
  let prior: PriorPane | undefined;

  const cine = createCinePlayer(
    () => view.scrollBy(1, true),
    (playing) => toolbar.setCine((current.loaded?.imageIds.length ?? 0) > 1, playing),
  );

  const forget = () => {
    delete document.body.dataset.shownSeries;
    delete document.body.dataset.shownImage;
    showImageText({ series: '', slice: '', keyImage: false });
    showOrientation(undefined);
  };

  const open = async (uid: string) => {
    if (uid === current.uid && current.loaded) return;
    const attempt = ++opening;
    cine.stop();
    current = { uid };
    markCurrentSeries(items, uid);
    forget();
    view.clear();
    setStatus('loading', STRINGS.loadingImage);
    try {
      const s = await withTimeout(store.load(uid), SERIES_TIMEOUT_MS, `series ${uid}`);
      if (attempt !== opening) return;
      if (s.imageIds.length === 0) throw new Error('no displayable frame');
      current = { uid, loaded: s };
      toolbar.setPresets(presetsFor(s.summary.modality));
      toolbar.setCine(s.imageIds.length > 1, false);
      await withTimeout(view.setStack(s.imageIds, initialIndex(s.imageIds.length)), SERIES_TIMEOUT_MS, `first image of ${uid}`);
    } catch (err) {
      if (attempt !== opening) return;
      console.error('viewer: series', uid, err);
      view.clear();
      forget();
      current = { uid: '' }; // choosing it again retries
      document.body.dataset.failedSeries = uid;
      setStatus('error', (err as Error)?.message === 'no displayable frame' ? STRINGS.errors.noImages : errorText(err, 'image'));
      startThumbnails();
    }
  };
  const items: SeriesItem[] = renderSeriesList(series, (uid) => void open(uid));
  store.setSummaries(series);

  let thumbnailsStarted = false;
  const startThumbnails = () => {
    if (thumbnailsStarted) return;
    thumbnailsStarted = true;
    void drawThumbnails(items, store);
  };

  let firstImage = true;
  view.onImageRendered((imageId) => {
    const s = current.loaded;
    const frame = s?.frameOf.get(imageId);
    if (!s || !frame) return;
    setStatus('ready');
    document.body.dataset.shownSeries = current.uid;
    document.body.dataset.shownImage = imageId;
    delete document.body.dataset.failedSeries;
    const description = s.summary.description ?? STRINGS.seriesUntitled;
    showImageText({
      series: [s.summary.seriesNumber !== undefined ? `#${s.summary.seriesNumber}` : '', description].filter(Boolean).join(' '),
      slice: sliceText(frame.metadata),
      keyImage: keyImages.has(frame.sopInstanceUid),
    });
    showOrientation(edgeLetters(nums(frame.metadata, TAG.ImageOrientationPatient)));
    if (!firstImage) return;
    firstImage = false;
    // Time from navigation start to the first image drawn (bundle load included), read by the e2e test and the benchmark.
    document.body.dataset.firstImageMs = String(Math.round(performance.now()));
    startThumbnails();
  });
  view.onImageError((_imageId, err) => {
    forget();
    setStatus('error', errorText(err, 'image'));
  });

  const toolbar: Toolbar = wireControls(view, element, {
    cine() {
      if (cine.playing()) return cine.stop();
      const frame = current.loaded?.frames[0];
      cine.start(framesPerSecond(frame?.metadata));
    },
    tags() {
      const shown = view.shownImageId();
      tagDialog.open(shown ? current.loaded?.frameOf.get(shown)?.metadata : undefined);
    },
    nextKeyImage() {
      const s = current.loaded;
      const index = view.state().index;
      const here = s?.frames.findIndex((f, i) => i > index && keyImages.has(f.sopInstanceUid)) ?? -1;
      if (s && here >= 0) return void view.scrollTo(here);
      const other = items.find((i) => i.summary.seriesInstanceUid !== current.uid && Number(i.badge.dataset.keyImages ?? 0) > 0);
      if (other) void open(other.summary.seriesInstanceUid);
    },
    compare: () => prior?.toggle(),
  });

  const wanted = request.seriesInstanceUid && series.some((s) => s.seriesInstanceUid === request.seriesInstanceUid) ? request.seriesInstanceUid : series[0]!.seriesInstanceUid;
  const banner = store.load(wanted).then(
    (s) => showBanner(bannerOf(s.frames[0]?.metadata)),
    () => undefined,
  );
  await open(wanted);
  await banner;

  // Key images: Key Object Selections of the study other than the manifest, read once the first image is up.
  const kosUids = allSeries.filter((s) => str(s, TAG.Modality)?.toUpperCase() === 'KO').map((s) => str(s, TAG.SeriesInstanceUID)).filter((u): u is string => !!u);
  void Promise.all(kosUids.map((uid) => client.seriesMetadata(study, uid).catch(() => []))).then((lists) => {
    keyImages = keyImageUids(lists.flat());
    store.markKeyImages(items, keyImages);
    toolbar.setKeyImages(keyImages.size);
  });

  if (request.priorStudyInstanceUid) prior = openPrior({ client, study: request.priorStudyInstanceUid, main: view, mainSeries: () => current.loaded, toolbar });
}

interface ExtraHandlers {
  cine(): void;
  tags(): void;
  nextKeyImage(): void;
  compare(): void;
}

function wireControls(view: StackViewport, element: HTMLElement, extra: ExtraHandlers): Toolbar {
  const fullscreen = () => {
    const on = !document.body.classList.contains('immersive');
    document.body.classList.toggle('immersive', on);
    toolbar.setFullscreen(on);
    // The browser's full screen where it is allowed; the immersive layout (no banner, no series list) either way.
    if (on) void document.documentElement.requestFullscreen?.().catch(() => undefined);
    else if (document.fullscreenElement) void document.exitFullscreen().catch(() => undefined);
  };
  const toolbar = buildToolbar({
    tool(mode) {
      view.setTool(mode);
      toolbar.setTool(mode);
    },
    preset: (name) => view.setWindow(WINDOW_PRESETS[name]),
    reset: () => view.reset(),
    fullscreen,
    ...extra,
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
    f: fullscreen,
    c: () => extra.cine(),
  };
  document.addEventListener('keydown', (e) => {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.ctrlKey || e.metaKey || e.altKey) return;
    const digit = Number(e.key);
    const presetNames = Array.from(document.querySelectorAll<HTMLOptionElement>('#preset-select option')).map((o) => o.value).filter(Boolean);
    const preset = Number.isInteger(digit) && digit >= 1 ? presetNames[digit - 1] : undefined;
    const action = keys[e.key] ?? (preset && isPresetName(preset) ? () => view.setWindow(WINDOW_PRESETS[preset]) : undefined);
    if (!action) return;
    e.preventDefault();
    void action();
  });
  document.addEventListener('fullscreenchange', () => {
    if (!document.fullscreenElement && document.body.classList.contains('immersive')) fullscreen();
  });
  new ResizeObserver(() => view.resize()).observe(element);
  element.addEventListener('contextmenu', (e) => e.preventDefault());
  return toolbar;
}

// Cornerstone keeps a rejected load in its cache and prefetch queues where nothing awaits it: the page has already
// said what failed (onImageError, open()), so such rejections are logged rather than left as uncaught errors.
window.addEventListener('unhandledrejection', (e) => {
  if (!(e.reason instanceof XMLHttpRequest || e.reason instanceof FrameHttpError)) return;
  console.warn('viewer: image request refused', (e.reason as { status?: number }).status);
  e.preventDefault();
});

start().catch((err: unknown) => {
  console.error('viewer:', err);
  setStatus('error', errorText(err, 'study'));
});
