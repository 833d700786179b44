import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageCache } from '../../appliance/src/consumer/cache/image-cache.js';
import { JobRegistry } from '../../appliance/src/consumer/jobs.js';
import { FIRST_SLICE_MIN_INSTANCES, runRetrieve, StudyLocks } from '../../appliance/src/consumer/retrieve.js';
import { SourceError, type SourceClient, type SourcePart, type SourceRequest } from '../../appliance/src/consumer/source-client.js';
import { createLogger } from '../../appliance/src/log/logger.js';
import { ConsumerCacheIndex } from '../../appliance/src/store/consumer-cache.js';
import { makeMiniStudy, type MiniStudy } from '../fixtures/mini-instances.js';
import { consumerDb, fileBody, miniStudyManifest } from './consumer-helpers.js';

// The first slices of a study (the viewer's first image, then each series' thumbnail) against a source that takes
// its time: the first image alone, then the thumbnails of the other series side by side, then the bulk.
const SERIES = 4;
const DELAY_MS = 25;
const log = createLogger({ component: 'test' });
let work: string;
let study: MiniStudy;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'first-slices-'));
  study = await makeMiniStudy({ outDir: join(work, 'src'), instances: SERIES * FIRST_SLICE_MIN_INSTANCES, seriesCount: SERIES, rows: 16, columns: 16 });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Call {
  kind: 'instance-list' | 'instance' | 'series';
  series: string;
  sop?: string;
  start: number;
  end?: number;
}

/** A source whose instance lists and single-instance answers take DELAY_MS; its lists give the files' numbers. */
class SlowSource implements SourceClient {
  readonly calls: Call[] = [];
  /** Series whose instances the source refuses (the token it was given is no longer valid). */
  readonly refused = new Set<string>();
  inFlight = 0;
  maxInFlight = 0;
  private tick = 0;

  private begin(call: Omit<Call, 'start'>): Call {
    const c = { ...call, start: this.tick++ };
    this.calls.push(c);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    return c;
  }

  private finish(c: Call): void {
    c.end = this.tick++;
    this.inFlight--;
  }

  async seriesInstances(request: SourceRequest): Promise<unknown[]> {
    const series = study.series.find((s) => request.url.pathname.endsWith(`/series/${s.seriesInstanceUid}`))!;
    const c = this.begin({ kind: 'instance-list', series: series.seriesInstanceUid });
    await new Promise((r) => setTimeout(r, DELAY_MS));
    this.finish(c);
    // makeMiniStudy numbers each series' instances from 1, in the order it lists them.
    return series.instances.map((i, k) => ({ '00080018': { vr: 'UI', Value: [i.sopInstanceUid] }, '00200013': { vr: 'IS', Value: [k + 1] } }));
  }

  async *retrieve(request: SourceRequest): AsyncGenerator<SourcePart> {
    const m = /\/series\/([0-9.]+)(?:\/instances\/([0-9.]+))?$/.exec(request.url.pathname)!;
    const series = study.series.find((s) => s.seriesInstanceUid === m[1])!;
    const c = this.begin({ kind: m[2] ? 'instance' : 'series', series: series.seriesInstanceUid, ...(m[2] ? { sop: m[2] } : {}) });
    try {
      // Refused soon (the other thumbnails have started) but before the other thumbnail in flight is in.
      if (this.refused.has(series.seriesInstanceUid)) {
        await new Promise((r) => setTimeout(r, DELAY_MS / 5));
        throw new SourceError('unauthorized', 'la DRIMbox source refuse le jeton Pro Santé Connect (401) : reconnectez-vous', 401);
      }
      if (m[2]) await new Promise((r) => setTimeout(r, DELAY_MS));
      for (const i of series.instances.filter((x) => !m[2] || x.sopInstanceUid === m[2])) {
        yield { transferSyntaxUid: '1.2.840.10008.1.2.1', sopInstanceUid: i.sopInstanceUid, body: fileBody(i.path) };
      }
    } finally {
      this.finish(c);
    }
  }
}

/** `kosOrder`: each series as makeMiniStudy numbered it (the viewer's order, as a DRIMbox's KOS lists it) or reversed. */
const retrieveWith = async (source: SlowSource, cacheDir: string, concurrency: number, kosOrder: 'numbered' | 'reversed' = 'numbered') => {
  const cache = new ImageCache({ dir: join(work, cacheDir), maxBytes: 64 * 1024 * 1024, index: new ConsumerCacheIndex(consumerDb()), log });
  await cache.open();
  const job = new JobRegistry().create('session', 'retrieve', study.studyInstanceUid, SERIES * FIRST_SLICE_MIN_INSTANCES);
  const manifest = miniStudyManifest(study, 'http://127.0.0.1:9/dicom-web');
  if (kosOrder === 'reversed') for (const s of manifest.series) s.instances.reverse();
  await runRetrieve(job, { manifest, accessToken: 't' }, { cache, client: source, policy: { whitelist: () => undefined, allowInsecureSourceHosts: true }, log, concurrency, locks: new StudyLocks() });
  return job;
};

describe('first slices of a retrieve', () => {
  const middleOf = (instances: { sopInstanceUid: string }[]) => instances[Math.floor((instances.length - 1) / 2)]!.sopInstanceUid;

  it('fetches the first image alone, then the other series’ thumbnails side by side, then the rest', async () => {
    const source = new SlowSource();
    const job = await retrieveWith(source, 'cache', 3);
    expect(job.progress).toMatchObject({ state: 'done', done: SERIES * FIRST_SLICE_MIN_INSTANCES, failed: 0 });

    const [firstSeries, ...others] = study.series.map((s) => s.seriesInstanceUid);
    const slices = source.calls.filter((c) => c.kind !== 'series');
    // The KOS lists each series as it is numbered: its middle is the viewer's, and the source is asked no list.
    expect(slices.filter((c) => c.kind === 'instance-list')).toEqual([]);
    for (const s of study.series) {
      expect(slices.filter((c) => c.series === s.seriesInstanceUid).map((c) => c.sop)).toEqual([middleOf(s.instances)]);
    }
    // The first image alone on the link, then the thumbnails three at a time, then the bulk.
    expect(slices[0]!.series).toBe(firstSeries);
    for (const c of slices.slice(1)) expect(c.start).toBeGreaterThan(slices[0]!.end!);
    expect(new Set(slices.slice(1).map((c) => c.series))).toEqual(new Set(others));
    const bulk = source.calls.filter((c) => c.kind === 'series');
    expect(bulk.map((c) => c.series)).toEqual([firstSeries, ...others]);
    expect(Math.min(...bulk.map((c) => c.start))).toBeGreaterThan(Math.max(...slices.map((c) => c.end!)));
    expect(source.maxInFlight).toBe(3);
  });

  it('asks the source for its list when the KOS’s middle is not the viewer’s, and fetches the viewer’s', async () => {
    const source = new SlowSource();
    const job = await retrieveWith(source, 'cache-reversed', 3, 'reversed');
    expect(job.progress).toMatchObject({ state: 'done', done: SERIES * FIRST_SLICE_MIN_INSTANCES, failed: 0 });
    const slices = source.calls.filter((c) => c.kind !== 'series');
    for (const s of study.series) {
      // The KOS's middle (numbered 17 of 32), then the list, then the viewer's middle (numbered 16), in turn.
      const calls = slices.filter((c) => c.series === s.seriesInstanceUid);
      expect(calls.map((c) => [c.kind, c.sop])).toEqual([
        ['instance', middleOf([...s.instances].reverse())],
        ['instance-list', undefined],
        ['instance', middleOf(s.instances)],
      ]);
      expect(calls[1]!.start).toBeGreaterThan(calls[0]!.end!);
      expect(calls[2]!.start).toBeGreaterThan(calls[1]!.end!);
    }
    // The first series' three before anything else.
    const firstDone = slices[2]!.end!;
    for (const c of slices.slice(3)) expect(c.start).toBeGreaterThan(firstDone);
  });

  it('stops at a thumbnail the source refuses: the others in flight end, none starts after, no bulk', async () => {
    const source = new SlowSource();
    // Two at a time: the first two thumbnails side by side, the first refused; the third must not start.
    const refused = study.series[1]!.seriesInstanceUid;
    source.refused.add(refused);
    const job = await retrieveWith(source, 'cache-refused', 2);
    expect(job.progress.state).toBe('failed');
    expect(job.progress.message).toMatch(/reconnectez-vous/);
    const failed = source.calls.find((c) => c.kind === 'instance' && c.series === refused)!;
    const begun = new Set(source.calls.filter((c) => c.start < failed.end!).map((c) => c.series));
    expect(begun.size).toBe(3);
    expect(source.calls.filter((c) => c.start > failed.end! && !begun.has(c.series))).toEqual([]);
    expect(source.calls.some((c) => c.kind === 'series')).toBe(false);
    expect(source.inFlight).toBe(0);
  });
});
