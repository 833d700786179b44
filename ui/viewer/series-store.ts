import type { DicomwebClient } from './dicomweb-client.js';
import { drawThumbnail, registerFrames } from './imaging.js';
import { withTimeout } from './load-errors.js';
import type { SeriesItem } from './page.js';
import { initialIndex, stackFrames, type SeriesSummary, type StackFrame } from './study-model.js';
import { STRINGS } from '../strings/viewer.js';

/** The series of one study as the page loads them: metadata fetched once, frames registered with the loader. */

export interface LoadedSeries {
  summary: SeriesSummary;
  frames: StackFrame[];
  imageIds: string[];
  frameOf: Map<string, StackFrame>;
}

export interface SeriesStore {
  setSummaries(list: SeriesSummary[]): void;
  /** Once per series; a failure is forgotten, so asking again retries. */
  load(uid: string): Promise<LoadedSeries>;
  markKeyImages(items: SeriesItem[], keys: Set<string>): void;
}

export function createSeriesStore(client: DicomwebClient, study: string): SeriesStore {
  const summaries = new Map<string, SeriesSummary>();
  const loaded = new Map<string, Promise<LoadedSeries>>();
  const fetchSeries = async (uid: string): Promise<LoadedSeries> => {
    const frames = stackFrames(await client.seriesMetadata(study, uid));
    const imageIds = await registerFrames(client, study, uid, frames);
    return { summary: summaries.get(uid) ?? { seriesInstanceUid: uid }, frames, imageIds, frameOf: new Map(imageIds.map((id, i) => [id, frames[i]!])) };
  };
  return {
    setSummaries(list) {
      for (const s of list) summaries.set(s.seriesInstanceUid, s);
    },
    load(uid) {
      let p = loaded.get(uid);
      if (!p) {
        p = fetchSeries(uid);
        loaded.set(uid, p);
        p.catch(() => loaded.delete(uid));
      }
      return p;
    },
    markKeyImages(items, keys) {
      for (const item of items) {
        void this.load(item.summary.seriesInstanceUid)
          .then((s) => {
            const n = new Set(s.frames.filter((f) => keys.has(f.sopInstanceUid)).map((f) => f.sopInstanceUid)).size;
            item.badge.dataset.keyImages = String(n);
            item.badge.textContent = n > 0 ? STRINGS.keyImages(n) : '';
          })
          .catch(() => undefined);
      }
    },
  };
}

/** A thumbnail that has not come in this long is marked failed: one bad series never holds the others back. */
const THUMBNAIL_TIMEOUT_MS = 30_000;
const THUMBNAIL_CONCURRENCY = 2;

/** After the first image (thumbnails must never slow the image the user is waiting for), two at a time. */
export async function drawThumbnails(items: SeriesItem[], store: SeriesStore): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      try {
        await withTimeout(
          (async () => {
            const s = await store.load(item.summary.seriesInstanceUid);
            const i = initialIndex(s.imageIds.length);
            const imageId = s.imageIds[i];
            const frame = s.frames[i];
            if (!imageId || !frame) throw new Error('no frame');
            await drawThumbnail(item.thumbnail, imageId, frame);
          })(),
          THUMBNAIL_TIMEOUT_MS,
          `thumbnail of ${item.summary.seriesInstanceUid}`,
        );
        item.thumbnail.dataset.drawn = 'true';
      } catch {
        item.thumbnail.dataset.drawn = 'failed';
      }
    }
  };
  await Promise.all(Array.from({ length: THUMBNAIL_CONCURRENCY }, worker));
}
