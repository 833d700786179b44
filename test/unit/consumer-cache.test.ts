import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheError, ImageCache } from '../../appliance/src/consumer/cache/image-cache.js';
import { createCacheUpstream } from '../../appliance/src/consumer/cache/cache-upstream.js';
import { JobRegistry } from '../../appliance/src/consumer/jobs.js';
import { runRetrieve, StudyLocks } from '../../appliance/src/consumer/retrieve.js';
import { SourceError, type SourceClient, type SourcePart, type SourceRequest } from '../../appliance/src/consumer/source-client.js';
import { parseQidoQuery } from '../../appliance/src/dicomweb/qido-query.js';
import { createLogger } from '../../appliance/src/log/logger.js';
import { ConsumerCacheIndex, ConsumerMetadataCache } from '../../appliance/src/store/consumer-cache.js';
import type { Db } from '../../appliance/src/store/database.js';
import { makeMiniStudy, type MiniStudy } from '../fixtures/mini-instances.js';
import { consumerDb, miniStudyManifest } from './consumer-helpers.js';

const log = createLogger({ component: 'test' });
let work: string;
let studies: MiniStudy[];

function studyBytes(s: MiniStudy): number {
  return s.files.reduce((n, f) => n + statSync(f).size, 0);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'consumer-cache-'));
  studies = [];
  for (let i = 0; i < 3; i++) studies.push(await makeMiniStudy({ outDir: join(work, `src-${i}`), instances: 6, seriesCount: 2, rows: 32, columns: 32 }));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function* bytesOf(path: string): AsyncGenerator<Buffer> {
  const b = readFileSync(path);
  // in pieces, as a network would deliver them
  for (let i = 0; i < b.length; i += 700) yield b.subarray(i, i + 700);
}

function newCache(name: string, maxBytes: number, db: Db = consumerDb()) {
  const index = new ConsumerCacheIndex(db);
  const cache = new ImageCache({ dir: join(work, name), maxBytes, index, metadata: new ConsumerMetadataCache(db), log });
  return { cache, index, db };
}

async function storeStudy(cache: ImageCache, s: MiniStudy): Promise<void> {
  for (const series of s.series) {
    for (const i of series.instances) {
      await cache.store({ studyUid: s.studyInstanceUid, seriesUid: series.seriesInstanceUid, sopInstanceUid: i.sopInstanceUid }, bytesOf(i.path));
    }
  }
}

describe('image cache', () => {
  it('stores instances byte for byte under study/series/sop and indexes them with their QIDO attributes', async () => {
    const { cache, index } = newCache('basic', 10 * 1024 * 1024);
    await cache.open();
    const s = studies[0]!;
    await storeStudy(cache, s);
    expect(index.study(s.studyInstanceUid)).toMatchObject({ instances: 6, bytes: studyBytes(s) });
    const first = s.series[0]!.instances[0]!;
    const path = cache.pathOf(s.studyInstanceUid, s.series[0]!.seriesInstanceUid, first.sopInstanceUid);
    expect(readFileSync(path).equals(readFileSync(first.path))).toBe(true);
    expect(readdirSync(join(work, 'basic', 'tmp'))).toEqual([]);

    const upstream = createCacheUpstream(cache);
    const search = async (level: 'STUDY' | 'SERIES' | 'IMAGE', params: string, st?: string, se?: string) => {
      const out = [];
      for await (const j of upstream.search({ level, studyInstanceUid: st, seriesInstanceUid: se, query: parseQidoQuery(new URLSearchParams(params)) }, new AbortController().signal)) out.push(j);
      return out;
    };
    const [study] = await search('STUDY', `StudyInstanceUID=${s.studyInstanceUid}`);
    expect(study?.['00201208']?.Value).toEqual([6]);
    expect(study?.['00201206']?.Value).toEqual([2]);
    expect(study?.['00080061']?.Value).toEqual(['CT']);
    expect(study?.['00100020']?.Value).toEqual(['DRIMBOX-TEST-1']);
    const series = await search('SERIES', '', s.studyInstanceUid);
    expect(series.map((x) => x['0020000E']?.Value?.[0]).sort()).toEqual(s.series.map((x) => x.seriesInstanceUid).sort());
    expect(series.every((x) => x['00201209']?.Value?.[0] === 3)).toBe(true);
    const one = await search('IMAGE', `SOPInstanceUID=${first.sopInstanceUid}`, s.studyInstanceUid, s.series[0]!.seriesInstanceUid);
    expect(one.map((x) => x['00080018']?.Value?.[0])).toEqual([first.sopInstanceUid]);
    expect(await search('SERIES', 'Modality=MR', s.studyInstanceUid)).toEqual([]);
  });

  it('refuses bytes that are not the expected instance, leaving nothing behind', async () => {
    const { cache, index } = newCache('refuse', 10 * 1024 * 1024);
    await cache.open();
    const s = studies[0]!;
    const a = s.series[0]!.instances[0]!;
    const b = s.series[0]!.instances[1]!;
    const expected = { studyUid: s.studyInstanceUid, seriesUid: s.series[0]!.seriesInstanceUid, sopInstanceUid: a.sopInstanceUid };
    await expect(cache.store(expected, bytesOf(b.path))).rejects.toMatchObject({ kind: 'refused', message: expect.stringContaining('SOP Instance UID') });
    await expect(cache.store({ ...expected, seriesUid: s.series[1]!.seriesInstanceUid }, bytesOf(a.path))).rejects.toMatchObject({ kind: 'refused' });
    await expect(cache.store(expected, (async function* () { yield Buffer.from('not dicom at all') })())).rejects.toBeInstanceOf(CacheError);
    await expect(cache.store({ ...expected, sopInstanceUid: '1.2.3/../../x' }, bytesOf(a.path))).rejects.toMatchObject({ kind: 'refused' });
    expect(index.study(s.studyInstanceUid)).toBeUndefined();
    expect(readdirSync(join(work, 'refuse', 'tmp'))).toEqual([]);
    // No file: the folders made for the refused instance may stay, empty, until the next open().
    const studyDir = join(work, 'refuse', 'studies', s.studyInstanceUid);
    expect(existsSync(studyDir) ? readdirSync(studyDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()) : []).toEqual([]);
  });

  it('evicts whole studies, least recently used first, never a pinned one, and says when nothing can go', async () => {
    // Room for any two of the three studies, not for all three.
    const all = studies.map(studyBytes);
    const limit = all[0]! + all[1]! + all[2]! - Math.floor(Math.min(...all) / 2);
    const { cache, index } = newCache('lru', limit);
    await cache.open();
    let clock = 1_000_000;
    (cache as unknown as { now: () => number }).now = () => clock;
    const [a, b, c] = studies as [MiniStudy, MiniStudy, MiniStudy];
    await storeStudy(cache, a);
    clock += 10_000;
    await storeStudy(cache, b);
    clock += 10_000;
    cache.touch(a.studyInstanceUid); // a used after b: b is now the least recently used
    clock += 10_000;
    await storeStudy(cache, c);
    expect(index.study(b.studyInstanceUid)).toBeUndefined();
    expect(existsSync(cache.studyDir(b.studyInstanceUid))).toBe(false);
    expect(index.study(a.studyInstanceUid)?.instances).toBe(6);
    expect(index.study(c.studyInstanceUid)?.instances).toBe(6);
    expect(cache.totalBytes()).toBeLessThanOrEqual(limit);

    // a is older than c, but pinned (being viewed): bringing b back evicts c instead.
    const release = cache.pin(a.studyInstanceUid);
    clock += 10_000;
    await storeStudy(cache, b);
    expect(index.study(c.studyInstanceUid)).toBeUndefined();
    expect(index.study(a.studyInstanceUid)?.instances).toBe(6);

    // With a and b both pinned there is no room for c.
    const releaseB = cache.pin(b.studyInstanceUid);
    const err = await storeStudy(cache, c).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CacheError);
    expect((err as CacheError).kind).toBe('full');
    release();
    releaseB();
  });

  it('agrees with the disk after a restart: lost files forgotten, stray and partial files removed', async () => {
    const db = consumerDb();
    const { cache, index } = newCache('reopen', 10 * 1024 * 1024, db);
    await cache.open();
    const s = studies[0]!;
    await storeStudy(cache, s);
    const lost = s.series[0]!.instances[0]!;
    unlinkSync(cache.pathOf(s.studyInstanceUid, s.series[0]!.seriesInstanceUid, lost.sopInstanceUid));
    const stray = join(cache.studyDir(s.studyInstanceUid), s.series[1]!.seriesInstanceUid, '1.2.3.4.dcm');
    writeFileSync(stray, 'left by a crash');
    mkdirSync(join(work, 'reopen', 'studies', '9.9.9'), { recursive: true });
    writeFileSync(join(work, 'reopen', 'tmp', 'abc.part'), 'half');

    const again = new ImageCache({ dir: join(work, 'reopen'), maxBytes: 10 * 1024 * 1024, index, log });
    await again.open();
    expect(index.study(s.studyInstanceUid)?.instances).toBe(5);
    expect(again.cachedSops(s.studyInstanceUid).get(s.series[0]!.seriesInstanceUid)?.has(lost.sopInstanceUid)).toBe(false);
    expect(existsSync(stray)).toBe(false);
    expect(existsSync(join(work, 'reopen', 'studies', '9.9.9'))).toBe(false);
    expect(readdirSync(join(work, 'reopen', 'tmp'))).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------ resumable retrieve

/** A source DRIMbox in memory: series and instance requests served from the study's files, optionally cut. */
class FakeSource implements SourceClient {
  readonly requests: SourceRequest[] = [];
  cutAfterParts: number | undefined;
  /** Series whose series request the source answers 502 (its PACS cannot serve it whole). */
  readonly brokenSeries = new Set<string>();
  /** Instances the source answers 502 for (stored in a syntax it cannot serve). */
  readonly brokenInstances = new Set<string>();
  private sent = 0;
  constructor(private readonly study: MiniStudy) {}

  async *retrieve(request: SourceRequest): AsyncGenerator<SourcePart> {
    this.requests.push(request);
    const path = request.url.pathname;
    const m = /\/series\/([0-9.]+)(?:\/instances\/([0-9.]+))?$/.exec(path);
    const series = this.study.series.find((x) => x.seriesInstanceUid === m?.[1]);
    if (!series) throw new SourceError('not-found', 'no such series', 404);
    if (!m?.[2] && this.brokenSeries.has(series.seriesInstanceUid)) throw new SourceError('unavailable', 'la DRIMbox source est indisponible (HTTP 502)', 502);
    if (m?.[2] && this.brokenInstances.has(m[2])) throw new SourceError('unavailable', `la DRIMbox source ne peut servir l'instance ${m[2]} (HTTP 502)`, 502);
    const wanted = m?.[2] ? series.instances.filter((i) => i.sopInstanceUid === m[2]) : series.instances;
    for (const i of wanted) {
      if (this.cutAfterParts !== undefined && this.sent >= this.cutAfterParts) throw new SourceError('interrupted', 'connexion coupée');
      this.sent++;
      yield { transferSyntaxUid: '1.2.840.10008.1.2.1', sopInstanceUid: i.sopInstanceUid, body: bytesOf(i.path) };
    }
  }
}

describe('resumable retrieve', () => {
  it('a transfer cut midway keeps what arrived; resuming asks only for the missing instances, one by one', async () => {
    const { cache } = newCache('resume', 10 * 1024 * 1024);
    await cache.open();
    const s = studies[1]!;
    const source = new FakeSource(s);
    source.cutAfterParts = 4; // the first series (3) and one of the second
    const jobs = new JobRegistry();
    const warnings: { msg: string; fields?: Record<string, unknown> }[] = [];
    const recording = { ...log, warn: (msg: string, fields?: Record<string, unknown>) => warnings.push({ msg, ...(fields ? { fields } : {}) }) };
    const deps = { cache, client: source, policy: { whitelist: () => undefined, allowInsecureSourceHosts: true }, log: recording, concurrency: 2, locks: new StudyLocks() };
    const manifest = miniStudyManifest(s, 'http://127.0.0.1:9/dicom-web');

    const first = jobs.create('session-a', 'retrieve', s.studyInstanceUid, 6);
    await runRetrieve(first, { manifest, accessToken: 'token-a' }, deps);
    expect(first.progress).toMatchObject({ state: 'failed', resumable: true, transferred: 4, done: 4, alreadyCached: 0 });
    expect(first.progress.message).toMatch(/coupée/);
    // The technician's log keeps what cut it, not only the professional's message.
    const stopped = warnings.find((w) => w.msg === 'consumer: retrieve stopped');
    expect(stopped?.fields).toMatchObject({ job: first.progress.id, study: s.studyInstanceUid, reason: first.progress.message });
    expect(stopped?.fields?.error).toMatchObject({ kind: 'interrupted' });
    expect(source.requests.map((r) => r.url.pathname.split('/').length)).toEqual([6, 6]); // two series requests
    expect(source.requests.every((r) => r.accessToken === 'token-a' && r.kosSopInstanceUid === manifest.sopInstanceUid)).toBe(true);

    source.cutAfterParts = undefined;
    source.requests.length = 0;
    const second = jobs.create('session-a', 'retrieve', s.studyInstanceUid, 6);
    await runRetrieve(second, { manifest, accessToken: 'token-a' }, deps);
    expect(second.progress).toMatchObject({ state: 'done', alreadyCached: 4, transferred: 2, done: 6, failed: 0 });
    const missing = s.series[1]!.instances.slice(1).map((i) => i.sopInstanceUid).sort();
    expect(source.requests.map((r) => r.url.pathname.split('/instances/')[1]).sort()).toEqual(missing);

    // Everything is cached, byte for byte: a third run asks nothing.
    source.requests.length = 0;
    const third = jobs.create('session-a', 'retrieve', s.studyInstanceUid, 6);
    await runRetrieve(third, { manifest, accessToken: 'token-a' }, deps);
    expect(third.progress).toMatchObject({ state: 'done', alreadyCached: 6, transferred: 0 });
    expect(source.requests).toEqual([]);
    for (const series of s.series) {
      for (const i of series.instances) {
        expect(readFileSync(cache.pathOf(s.studyInstanceUid, series.seriesInstanceUid, i.sopInstanceUid)).equals(readFileSync(i.path))).toBe(true);
      }
    }
  });

  it('one instance the source cannot serve fails alone: the rest of its series and the other series are pulled, the study flagged incomplete', async () => {
    const { cache } = newCache('partial', 10 * 1024 * 1024);
    await cache.open();
    const s = studies[0]!;
    const source = new FakeSource(s);
    const [first, second] = s.series;
    source.brokenSeries.add(first!.seriesInstanceUid);
    const bad = first!.instances[1]!.sopInstanceUid;
    source.brokenInstances.add(bad);
    const jobs = new JobRegistry();
    const deps = { cache, client: source, policy: { whitelist: () => undefined, allowInsecureSourceHosts: true }, log, concurrency: 2, locks: new StudyLocks() };
    const job = jobs.create('session-c', 'retrieve', s.studyInstanceUid, 6);
    await runRetrieve(job, { manifest: miniStudyManifest(s, 'http://127.0.0.1:9/dicom-web'), accessToken: 't' }, deps);
    expect(job.progress).toMatchObject({ state: 'failed', resumable: true, done: 5, transferred: 5, failed: 1 });
    expect(job.progress.failures).toEqual([{ sopInstanceUid: bad, reason: expect.stringMatching(/ne peut servir l'instance .* \(HTTP 502\)/) }]);
    expect(job.progress.details.incomplete).toBe('5/6');
    expect(job.progress.message).toMatch(/^examen incomplet : 1 instance\(s\)/);
    // the second series was asked after the first failed
    expect(source.requests.some((r) => r.url.pathname.endsWith(`/series/${second!.seriesInstanceUid}`))).toBe(true);
    expect(cache.cachedSops(s.studyInstanceUid).get(second!.seriesInstanceUid)?.size).toBe(3);
  });

  it('refuses a Retrieve URL outside the whitelist, over plain HTTP, or naming another study', async () => {
    const { cache } = newCache('policy', 10 * 1024 * 1024);
    await cache.open();
    const s = studies[2]!;
    const source = new FakeSource(s);
    const jobs = new JobRegistry();
    const deps = { cache, client: source, policy: { whitelist: () => undefined, allowInsecureSourceHosts: false }, log, concurrency: 2, locks: new StudyLocks() };
    const job = jobs.create('session-b', 'retrieve', s.studyInstanceUid, 6);
    await runRetrieve(job, { manifest: miniStudyManifest(s, 'http://127.0.0.1:9/dicom-web'), accessToken: 't' }, deps);
    expect(job.progress.state).toBe('failed');
    expect(job.progress.resumable).toBe(false);
    expect(job.progress.message).toMatch(/HTTPS/);
    expect(job.progress.failed).toBe(6);
    expect(source.requests).toEqual([]);

    const evil = miniStudyManifest(s, 'https://db9.attacker.example/dicom-web');
    const job2 = jobs.create('session-b', 'retrieve', s.studyInstanceUid, 6);
    await runRetrieve(job2, { manifest: evil, accessToken: 't' }, deps);
    expect(job2.progress.message).toMatch(/liste blanche/);
    expect(source.requests).toEqual([]);
  });

  it('jobs are visible to their own session only', () => {
    const jobs = new JobRegistry();
    const job = jobs.create('session-a', 'retrieve', '1.2.3', 1);
    expect(jobs.get(job.progress.id, 'session-a')).toBe(job);
    expect(jobs.get(job.progress.id, 'session-b')).toBeUndefined();
    expect(jobs.list('session-b')).toEqual([]);
  });
});
