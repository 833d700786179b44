import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheError, ImageCache, type StagedInstance } from '../../appliance/src/consumer/cache/image-cache.js';
import { JobRegistry, type Job } from '../../appliance/src/consumer/jobs.js';
import { runRetrieve, StudyLocks } from '../../appliance/src/consumer/retrieve.js';
import { SourceError, type SourceClient, type SourcePart, type SourceRequest } from '../../appliance/src/consumer/source-client.js';
import { createLogger } from '../../appliance/src/log/logger.js';
import { ConsumerCacheIndex } from '../../appliance/src/store/consumer-cache.js';
import { makeMiniStudy, type MiniStudy } from '../fixtures/mini-instances.js';
import { consumerDb, fileBody, miniStudyManifest } from './consumer-helpers.js';

// A study of several series pulled whole, series after series: the next series is asked for as soon as the previous
// answer flows, and read once it has ended, while its last instances are still being checked and indexed; the job
// ends once they all are.
const SERIES = 3;
const PER_SERIES = 6;
const HOLD_MS = 3_000;
const log = createLogger({ component: 'test' });
let work: string;
let study: MiniStudy;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'series-pipeline-'));
  study = await makeMiniStudy({ outDir: join(work, 'src'), instances: SERIES * PER_SERIES, seriesCount: SERIES });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Serves each series whole; `asked` resolves when the series of that rank is asked for. */
class SeriesSource implements SourceClient {
  readonly order: string[] = [];
  private readonly waiters = new Map<number, () => void>();
  readonly asked = Array.from({ length: SERIES }, (_, k) => new Promise<void>((resolve) => this.waiters.set(k, resolve)));

  async *retrieve(request: SourceRequest): AsyncGenerator<SourcePart> {
    const rank = study.series.findIndex((s) => request.url.pathname.endsWith(`/series/${s.seriesInstanceUid}`));
    if (rank < 0) throw new Error(`unexpected request ${request.url.pathname}`);
    this.order.push(study.series[rank]!.seriesInstanceUid);
    this.waiters.get(rank)!();
    for (const i of study.series[rank]!.instances) yield { transferSyntaxUid: '1.2.840.10008.1.2.1', sopInstanceUid: i.sopInstanceUid, body: fileBody(i.path) };
  }
}

/** A cache whose commits of the series of rank `held` wait for `until` (at most HOLD_MS; `late` says if it came). */
async function holdingCache(dir: string, held: number, until: Promise<void>, refuse?: (sop: string) => CacheError | undefined) {
  const index = new ConsumerCacheIndex(consumerDb());
  const cache = new ImageCache({ dir: join(work, dir), maxBytes: 64 * 1024 * 1024, index, log });
  await cache.open();
  const state = { late: false };
  const gate = Promise.race([until, new Promise<void>((resolve) => setTimeout(() => ((state.late = true), resolve()), HOLD_MS).unref())]);
  const receive = cache.receive.bind(cache);
  cache.receive = async (expected, body): Promise<StagedInstance> => {
    const staged = await receive(expected, body);
    if (expected.seriesUid !== study.series[held]!.seriesInstanceUid) return staged;
    return {
      bytes: staged.bytes,
      discard: () => staged.discard(),
      commit: async () => {
        await gate;
        const refusal = refuse?.(expected.sopInstanceUid);
        if (refusal) {
          await staged.discard();
          throw refusal;
        }
        return staged.commit();
      },
    };
  };
  return { cache, index, state };
}

async function pull(cache: ImageCache, source: SourceClient): Promise<Job> {
  const job = new JobRegistry().create('session', 'retrieve', study.studyInstanceUid, SERIES * PER_SERIES);
  await runRetrieve(job, { manifest: miniStudyManifest(study, 'http://127.0.0.1:9/dicom-web'), accessToken: 't' }, {
    cache,
    client: source,
    policy: { whitelist: () => undefined, allowInsecureSourceHosts: true },
    log,
    concurrency: 2,
    locks: new StudyLocks(),
  });
  return job;
}

describe('series after series', () => {
  it('asks for the next series while the previous one is still being committed, and ends once every instance is indexed', async () => {
    const source = new SeriesSource();
    // The first series' commits wait until the second series is asked for: waiting for them first would hold it HOLD_MS.
    const { cache, index, state } = await holdingCache('cache', 0, source.asked[1]!);
    const job = await pull(cache, source);
    expect(state.late).toBe(false);
    expect(source.order).toEqual(study.series.map((s) => s.seriesInstanceUid));
    expect(job.progress).toMatchObject({ state: 'done', done: SERIES * PER_SERIES, failed: 0 });
    for (const s of study.series) expect(index.cachedSops(study.studyInstanceUid).get(s.seriesInstanceUid)?.size).toBe(PER_SERIES);
  });

  it('a full cache met by the previous series’ commits, after its answer ended, still stops the transfer', async () => {
    const source = new SeriesSource();
    const full = new CacheError('the image cache is full', 'full');
    const { cache, index } = await holdingCache('cache-full', 0, source.asked[1]!, () => full);
    const job = await pull(cache, source);
    expect(job.progress.state).toBe('failed');
    expect(job.progress.message).toContain("cache d'images plein");
    expect(job.progress.done).toBeLessThan(SERIES * PER_SERIES);
    expect(index.cachedSops(study.studyInstanceUid).get(study.series[0]!.seriesInstanceUid)).toBeUndefined();
  });

  /**
   * The first series sends its first part, then waits for the second series to be asked for (at most HOLD_MS) before
   * the rest, or fails there with `failure`. Records which answers were closed before their end.
   */
  class AheadSource implements SourceClient {
    readonly order: string[] = [];
    readonly closedEarly = new Set<number>();
    late = false;
    private secondAsked!: () => void;
    private readonly asked = new Promise<void>((resolve) => (this.secondAsked = resolve));

    constructor(private readonly failure?: SourceError) {}

    async *retrieve(request: SourceRequest): AsyncGenerator<SourcePart> {
      const rank = study.series.findIndex((s) => request.url.pathname.endsWith(`/series/${s.seriesInstanceUid}`));
      this.order.push(study.series[rank]!.seriesInstanceUid);
      if (rank === 1) this.secondAsked();
      let ended = false;
      try {
        for (const [k, i] of study.series[rank]!.instances.entries()) {
          yield { transferSyntaxUid: '1.2.840.10008.1.2.1', sopInstanceUid: i.sopInstanceUid, body: fileBody(i.path) };
          if (rank !== 0 || k !== 0) continue;
          if (this.failure) throw this.failure;
          await Promise.race([this.asked, new Promise<void>((resolve) => setTimeout(() => ((this.late = true), resolve()), HOLD_MS).unref())]);
        }
        ended = true;
      } finally {
        if (!ended) this.closedEarly.add(rank);
      }
    }
  }

  it('asks for the next series once the previous one flows, before its answer ends, and reads each in turn', async () => {
    const source = new AheadSource();
    const index = new ConsumerCacheIndex(consumerDb());
    const cache = new ImageCache({ dir: join(work, 'ahead'), maxBytes: 64 * 1024 * 1024, index, log });
    await cache.open();
    const job = await pull(cache, source);
    expect(source.late).toBe(false);
    expect(source.order).toEqual(study.series.map((s) => s.seriesInstanceUid));
    expect(source.closedEarly.size).toBe(0);
    expect(job.progress).toMatchObject({ state: 'done', done: SERIES * PER_SERIES, failed: 0 });
    for (const s of study.series) expect(index.cachedSops(study.studyInstanceUid).get(s.seriesInstanceUid)?.size).toBe(PER_SERIES);
  });

  it('a transfer stopped while the next series was asked ahead closes that answer unread', async () => {
    const source = new AheadSource(new SourceError('forbidden', 'la DRIMbox source refuse (403)', 403));
    const index = new ConsumerCacheIndex(consumerDb());
    const cache = new ImageCache({ dir: join(work, 'ahead-stopped'), maxBytes: 64 * 1024 * 1024, index, log });
    await cache.open();
    const job = await pull(cache, source);
    expect(job.progress.state).toBe('failed');
    expect(source.order).toEqual(study.series.slice(0, 2).map((s) => s.seriesInstanceUid));
    expect(source.closedEarly).toEqual(new Set([0, 1]));
    expect(index.cachedSops(study.studyInstanceUid).get(study.series[1]!.seriesInstanceUid)).toBeUndefined();
  });
});
