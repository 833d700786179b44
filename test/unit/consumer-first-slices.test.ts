import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
import { consumerDb, miniStudyManifest } from './consumer-helpers.js';

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

async function* bytesOf(path: string): AsyncGenerator<Buffer> {
  yield readFileSync(path);
}

interface Call {
  kind: 'instance-list' | 'instance' | 'series';
  series: string;
  sop?: string;
  start: number;
  end?: number;
}

/**
 * A source whose instance lists and single-instance answers take DELAY_MS; it numbers each series' instances
 * backwards (the KOS's order is not the viewer's), or in the KOS's order.
 */
class SlowSource implements SourceClient {
  readonly calls: Call[] = [];
  /** Series whose instances the source refuses (the token it was given is no longer valid). */
  readonly refused = new Set<string>();
  inFlight = 0;
  maxInFlight = 0;
  private tick = 0;

  constructor(private readonly numbering: 'backwards' | 'as-the-kos' = 'backwards') {}

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
    const n = series.instances.length;
    return series.instances.map((i, k) => ({ '00080018': { vr: 'UI', Value: [i.sopInstanceUid] }, '00200013': { vr: 'IS', Value: [this.numbering === 'backwards' ? n - k : k + 1] } }));
  }

  async *retrieve(request: SourceRequest): AsyncGenerator<SourcePart> {
    const m = /\/series\/([0-9.]+)(?:\/instances\/([0-9.]+))?$/.exec(request.url.pathname)!;
    const series = study.series.find((s) => s.seriesInstanceUid === m[1])!;
    const c = this.begin({ kind: m[2] ? 'instance' : 'series', series: series.seriesInstanceUid, ...(m[2] ? { sop: m[2] } : {}) });
    try {
      // Refused at once: before the other thumbnail in flight is in.
      if (this.refused.has(series.seriesInstanceUid)) throw new SourceError('unauthorized', 'la DRIMbox source refuse le jeton Pro Santé Connect (401) : reconnectez-vous', 401);
      if (m[2]) await new Promise((r) => setTimeout(r, DELAY_MS));
      for (const i of series.instances.filter((x) => !m[2] || x.sopInstanceUid === m[2])) {
        yield { transferSyntaxUid: '1.2.840.10008.1.2.1', sopInstanceUid: i.sopInstanceUid, body: bytesOf(i.path) };
      }
    } finally {
      this.finish(c);
    }
  }
}

const retrieveWith = async (source: SlowSource, cacheDir: string, concurrency: number) => {
  const cache = new ImageCache({ dir: join(work, cacheDir), maxBytes: 64 * 1024 * 1024, index: new ConsumerCacheIndex(consumerDb()), log });
  await cache.open();
  const job = new JobRegistry().create('session', 'retrieve', study.studyInstanceUid, SERIES * FIRST_SLICE_MIN_INSTANCES);
  await runRetrieve(job, { manifest: miniStudyManifest(study, 'http://127.0.0.1:9/dicom-web'), accessToken: 't' }, { cache, client: source, policy: { whitelist: () => undefined, allowInsecureSourceHosts: true }, log, concurrency, locks: new StudyLocks() });
  return job;
};

describe('first slices of a retrieve', () => {
  const middleOf = (instances: { sopInstanceUid: string }[]) => instances[Math.floor((instances.length - 1) / 2)]!.sopInstanceUid;

  it('fetches the first image alone, then the other series’ thumbnails side by side, then the rest', async () => {
    const source = new SlowSource('backwards');
    const job = await retrieveWith(source, 'cache', 3);
    expect(job.progress).toMatchObject({ state: 'done', done: SERIES * FIRST_SLICE_MIN_INSTANCES, failed: 0 });

    const [firstSeries, ...others] = study.series.map((s) => s.seriesInstanceUid);
    const slices = source.calls.filter((c) => c.kind !== 'series');
    const instancesOf = (series: string) => slices.filter((c) => c.kind === 'instance' && c.series === series).map((c) => c.sop);
    // The middle in the viewer's order (Instance Number), which the source numbers backwards. The first series'
    // middle in the KOS's order was fetched while its list came: a wrong guess here, so both were fetched.
    const [first, ...rest] = study.series;
    expect(instancesOf(first!.seriesInstanceUid)).toEqual([middleOf(first!.instances), middleOf([...first!.instances].reverse())]);
    for (const s of rest) expect(instancesOf(s.seriesInstanceUid)).toEqual([middleOf([...s.instances].reverse())]);
    // The first image: its series' list and the guess side by side, then the right slice; nothing else meanwhile.
    expect(slices.slice(0, 3).map((c) => [c.kind, c.series])).toEqual([['instance-list', firstSeries], ['instance', firstSeries], ['instance', firstSeries]]);
    expect(slices[1]!.start).toBeLessThan(slices[0]!.end!);
    expect(slices[2]!.start).toBeGreaterThan(slices[0]!.end!);
    const firstImageDone = slices[2]!.end!;
    for (const c of slices.slice(3)) expect(c.start).toBeGreaterThan(firstImageDone);
    expect(new Set(slices.slice(3).map((c) => c.series))).toEqual(new Set(others));
    // The thumbnails overlapped (three at a time), and the bulk began once they were all in.
    const bulk = source.calls.filter((c) => c.kind === 'series');
    expect(bulk.map((c) => c.series)).toEqual([firstSeries, ...others]);
    expect(Math.min(...bulk.map((c) => c.start))).toBeGreaterThan(Math.max(...slices.map((c) => c.end!)));
    expect(source.maxInFlight).toBe(3);
  });

  it('has the first image in one round trip when the KOS lists the series in the viewer’s order', async () => {
    const source = new SlowSource('as-the-kos');
    const job = await retrieveWith(source, 'cache-kos-order', 3);
    expect(job.progress).toMatchObject({ state: 'done', done: SERIES * FIRST_SLICE_MIN_INSTANCES, failed: 0 });
    const slices = source.calls.filter((c) => c.kind !== 'series');
    for (const s of study.series) {
      expect(slices.filter((c) => c.kind === 'instance' && c.series === s.seriesInstanceUid).map((c) => c.sop)).toEqual([middleOf(s.instances)]);
    }
    // The list and the slice side by side: the slice did not wait for the list.
    const [list, slice] = slices;
    expect([list!.kind, slice!.kind]).toEqual(['instance-list', 'instance']);
    expect(slice!.start).toBeLessThan(list!.end!);
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
