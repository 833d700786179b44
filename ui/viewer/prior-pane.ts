import type { DicomwebClient } from './dicomweb-client.js';
import { formatDate } from './format.js';
import { errorText } from './load-errors.js';
import { byId, setStatus, type Toolbar } from './page.js';
import { createSeriesStore, type LoadedSeries } from './series-store.js';
import { createStackViewport, type StackViewport } from './stack-viewport.js';
import { bannerOf, positionAlongNormal, seriesSummaries } from './study-model.js';
import { syncedIndex } from './synced-index.js';
import { STRINGS } from '../strings/viewer.js';

/**
 * An earlier exam of the patient beside the current one (`prior=` in the link, same DICOMweb base): its series of
 * the same modality as the one on screen, scrolled with it. The Comparer button shows and hides it.
 */

export interface PriorPane {
  toggle(): void;
}

export function openPrior(deps: { client: DicomwebClient; study: string; main: StackViewport; mainSeries: () => LoadedSeries | undefined; toolbar: Toolbar }): PriorPane {
  const pane = byId('pane-prior');
  const store = createSeriesStore(deps.client, deps.study);
  let view: StackViewport | undefined;
  let shown: LoadedSeries | undefined;
  let showing = false;
  let loadedFor = '';

  const positions = (s: LoadedSeries | undefined) => s?.frames.map((f) => positionAlongNormal(f.metadata)) ?? [];
  const follow = () => {
    const main = deps.mainSeries();
    if (!showing || !view || !shown || !main) return;
    void view.scrollTo(syncedIndex(positions(main), deps.main.state().index, positions(shown)));
  };
  const counter = () => {
    if (!view) return;
    const s = view.state();
    byId('prior-counter').textContent = s.count > 0 ? STRINGS.image(s.index + 1, s.count) : '';
  };

  const load = async () => {
    const main = deps.mainSeries();
    if (!main || loadedFor === main.summary.seriesInstanceUid) return follow();
    loadedFor = main.summary.seriesInstanceUid;
    setStatus('loading', STRINGS.loadingImage, 'prior-status');
    try {
      const list = seriesSummaries(await deps.client.searchSeries(deps.study));
      store.setSummaries(list);
      const pick = list.find((s) => s.modality && s.modality === main.summary.modality) ?? list[0];
      if (!pick) throw Object.assign(new Error('prior has no image'), { status: 404 });
      shown = await store.load(pick.seriesInstanceUid);
      const banner = bannerOf(shown.frames[0]?.metadata);
      byId('prior-label').textContent = `${STRINGS.priorTitle} : ${STRINGS.priorLabel(formatDate(banner.studyDate), banner.studyDescription ?? STRINGS.unknown, pick.description ?? STRINGS.seriesUntitled)}`;
      if (!view) {
        view = createStackViewport(byId<HTMLDivElement>('prior-viewport'));
        view.onChange(counter);
        view.onImageRendered(() => setStatus('ready', '', 'prior-status'));
        view.onImageError((_id, err) => setStatus('error', errorText(err, 'image'), 'prior-status'));
      }
      await view.setStack(shown.imageIds, syncedIndex(positions(main), deps.main.state().index, positions(shown)));
      pane.dataset.priorSeries = pick.seriesInstanceUid;
    } catch (err) {
      loadedFor = '';
      view?.clear();
      setStatus('error', errorText(err, 'study'), 'prior-status');
    }
  };

  deps.main.onChange(follow);
  deps.toolbar.setCompare(true, false);
  return {
    toggle() {
      showing = !showing;
      pane.hidden = !showing;
      document.body.classList.toggle('comparing', showing);
      deps.toolbar.setCompare(true, showing);
      if (showing) void load().then(() => view?.resize());
      deps.main.resize();
    },
  };
}
