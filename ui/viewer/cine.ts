import { TAG, num, type DicomJsonDataset } from './dicom-json.js';

/** Cine of a multi-frame series: the rate the modality recorded, then a steady loop. */

const DEFAULT_FPS = 10;

/** Recommended Display Frame Rate, else 1000 / Frame Time (ms), else Cine Rate; 1–60 images a second. */
export function framesPerSecond(ds: DicomJsonDataset | undefined): number {
  const frameTime = ds ? num(ds, TAG.FrameTime) : undefined;
  const candidates = [ds ? num(ds, TAG.RecommendedDisplayFrameRate) : undefined, frameTime && frameTime > 0 ? 1000 / frameTime : undefined, ds ? num(ds, TAG.CineRate) : undefined];
  const fps = candidates.find((v): v is number => v !== undefined && Number.isFinite(v) && v > 0) ?? DEFAULT_FPS;
  return Math.min(60, Math.max(1, Math.round(fps)));
}

export interface CinePlayer {
  playing(): boolean;
  start(fps: number): void;
  stop(): void;
}

/** Steps `next()` at `fps` until stopped; a step still drawing is never stacked under the next one. */
export function createCinePlayer(next: () => Promise<void>, onChange: (playing: boolean) => void): CinePlayer {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let busy = false;
  const stop = () => {
    if (timer === undefined) return;
    clearInterval(timer);
    timer = undefined;
    onChange(false);
  };
  return {
    playing: () => timer !== undefined,
    start(fps) {
      stop();
      timer = setInterval(() => {
        if (busy) return;
        busy = true;
        next()
          .catch(stop)
          .finally(() => (busy = false));
      }, 1000 / fps);
      onChange(true);
    },
    stop,
  };
}
