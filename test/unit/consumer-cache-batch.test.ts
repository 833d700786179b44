import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CacheError, ImageCache } from '../../appliance/src/consumer/cache/image-cache.js';
import { lentChunk } from '../../appliance/src/dicomweb/lent-chunks.js';
import { createLogger } from '../../appliance/src/log/logger.js';
import { cacheIndexTransaction, ConsumerCacheIndex } from '../../appliance/src/store/consumer-cache.js';
import { makeMiniStudy, type MiniStudy } from '../fixtures/mini-instances.js';
import { consumerDb } from './consumer-helpers.js';

const log = createLogger({ component: 'test' });
let work: string;
let study: MiniStudy;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'consumer-cache-batch-'));
  study = await makeMiniStudy({ outDir: join(work, 'src'), instances: 12, seriesCount: 2, rows: 32, columns: 32 });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function* bytesOf(path: string): AsyncGenerator<Buffer> {
  const b = readFileSync(path);
  for (let i = 0; i < b.length; i += 700) yield b.subarray(i, i + 700);
}

function newCache(name: string, maxBytes = 64 * 1024 * 1024) {
  const db = consumerDb();
  const index = new ConsumerCacheIndex(db);
  let transactions = 0;
  const cache = new ImageCache({
    dir: join(work, name),
    maxBytes,
    index,
    log,
    transaction: (work) => {
      transactions++;
      db.transaction(work).immediate();
    },
  });
  return { cache, index, transactions: () => transactions };
}

const instances = () => study.series.flatMap((s) => s.instances.map((i) => ({ series: s.seriesInstanceUid, ...i })));

const expectedOf = (i: { series: string; sopInstanceUid: string }) => ({ studyUid: study.studyInstanceUid, seriesUid: i.series, sopInstanceUid: i.sopInstanceUid });

/**
 * Runs `body` with no timer of the cache able to fire (setTimeout faked): `guard(p)` races `p` against a real 5 s
 * timer, so that a wait for the batch timer fails quickly; `sleep(ms)` waits on a real timer.
 */
async function withBatchTimersStopped(body: (t: { guard: <T>(p: Promise<T>) => Promise<T>; sleep: (ms: number) => Promise<void> }) => Promise<void>): Promise<void> {
  const [realSetTimeout, realClearTimeout] = [globalThis.setTimeout, globalThis.clearTimeout];
  let guardTimer: ReturnType<typeof setTimeout> | undefined;
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  try {
    const timeout = new Promise<never>((_, reject) => (guardTimer = realSetTimeout(() => reject(new Error('not indexed: it waits for the batch timer')), 5000)));
    await body({ guard: (p) => Promise.race([p, timeout]), sleep: (ms) => new Promise((resolve) => realSetTimeout(resolve, ms)) });
  } finally {
    realClearTimeout(guardTimer);
    vi.useRealTimers();
  }
}

describe('consumer image cache: received while the previous one commits, indexed in batches', () => {
  it('indexes instances committed together in fewer transactions than instances, every one of them', async () => {
    const { cache, index, transactions } = newCache('batch');
    await cache.open();
    const all = instances();
    const results = await Promise.all(all.map((i) => cache.store({ studyUid: study.studyInstanceUid, seriesUid: i.series, sopInstanceUid: i.sopInstanceUid }, bytesOf(i.path))));
    expect(results.every((r) => r.added)).toBe(true);
    expect(index.instances(study.studyInstanceUid).map((r) => r.sopInstanceUid).sort()).toEqual(all.map((i) => i.sopInstanceUid).sort());
    expect(transactions()).toBeGreaterThan(0);
    expect(transactions()).toBeLessThan(all.length);
  });

  it('an instance stored with indexNow is indexed without waiting for the batch timer (the viewer\'s first slices)', async () => {
    const { cache, index, transactions } = newCache('now');
    await cache.open();
    const [a, b] = instances();
    // The first one opens a batch that is written at once; the next batch would wait INDEX_BATCH_MS after it.
    await cache.store(expectedOf(a!), bytesOf(a!.path));
    await withBatchTimersStopped(async ({ guard }) => {
      // Only indexNow writes the row.
      await expect(guard(cache.store(expectedOf(b!), bytesOf(b!.path), { indexNow: true }))).resolves.toEqual({ bytes: readFileSync(b!.path).length, added: true });
      expect(index.instances(study.studyInstanceUid).map((r) => r.sopInstanceUid)).toContain(b!.sopInstanceUid);
      expect(transactions()).toBe(2);
    });
  });

  it('while indexAtOnce holds, rows waiting for their batch and those placed after are indexed without the batch timer (a transfer\'s end)', async () => {
    const { cache, index } = newCache('at-once');
    await cache.open();
    const [a, b, c, d] = instances();
    await cache.store(expectedOf(a!), bytesOf(a!.path));
    const indexed = () => index.instances(study.studyInstanceUid).map((r) => r.sopInstanceUid);
    await withBatchTimersStopped(async ({ guard, sleep }) => {
      // b waits for its batch…
      const waiting = cache.store(expectedOf(b!), bytesOf(b!.path));
      await sleep(50);
      expect(indexed()).not.toContain(b!.sopInstanceUid);
      // …until the transfer's end: b now, then c as it is placed.
      const done = cache.indexAtOnce();
      await expect(guard(waiting)).resolves.toMatchObject({ added: true });
      await expect(guard(cache.store(expectedOf(c!), bytesOf(c!.path)))).resolves.toMatchObject({ added: true });
      done();
      done();
      // Batches again once it is released: d waits for the timer.
      const later = cache.store(expectedOf(d!), bytesOf(d!.path));
      await sleep(100);
      expect(indexed()).not.toContain(d!.sopInstanceUid);
      await vi.runAllTimersAsync();
      await expect(later).resolves.toMatchObject({ added: true });
    });
  });

  it('a received instance is neither indexed nor served before its commit; a discarded one leaves nothing', async () => {
    const { cache, index } = newCache('staged');
    await cache.open();
    const [a, b] = instances();
    const expected = (i: typeof a) => ({ studyUid: study.studyInstanceUid, seriesUid: i!.series, sopInstanceUid: i!.sopInstanceUid });
    const staged = await cache.receive(expected(a), bytesOf(a!.path));
    expect(staged.bytes).toBe(readFileSync(a!.path).length);
    expect(index.instances(study.studyInstanceUid)).toHaveLength(0);
    expect(cache.instances(study.studyInstanceUid)).toHaveLength(0);
    await expect(staged.commit()).resolves.toEqual({ bytes: staged.bytes, added: true });
    expect(readFileSync(cache.pathOf(study.studyInstanceUid, a!.series, a!.sopInstanceUid)).equals(readFileSync(a!.path))).toBe(true);
    await expect(staged.commit()).rejects.toThrow(/already committed/);

    const dropped = await cache.receive(expected(b), bytesOf(b!.path));
    await dropped.discard();
    expect(existsSync(cache.pathOf(study.studyInstanceUid, b!.series, b!.sopInstanceUid))).toBe(false);
    expect(readdirSync(join(work, 'staged', 'tmp'))).toEqual([]);
    expect(index.instances(study.studyInstanceUid)).toHaveLength(1);
  });

  it('instances committed at the same time share the room: past the limit one is refused as full, none half-placed', async () => {
    const [a, b] = instances();
    const size = readFileSync(a!.path).length;
    const { cache, index } = newCache('room', Math.floor(size * 1.5));
    await cache.open();
    const staged = await Promise.all([a, b].map((i) => cache.receive({ studyUid: study.studyInstanceUid, seriesUid: i!.series, sopInstanceUid: i!.sopInstanceUid }, bytesOf(i!.path))));
    const outcomes = await Promise.allSettled(staged.map((s) => s.commit()));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(CacheError);
    expect((refused.reason as CacheError).kind).toBe('full');
    expect(index.instances(study.studyInstanceUid)).toHaveLength(1);
    expect(readdirSync(join(work, 'room', 'tmp'))).toEqual([]);
  });

  it('one instance received twice at once: the second copy waits for the first writer, one file, indexed once', async () => {
    const { cache, index } = newCache('twice');
    await cache.open();
    const [a] = instances();
    const expected = { studyUid: study.studyInstanceUid, seriesUid: a!.series, sopInstanceUid: a!.sopInstanceUid };
    const first = await cache.receive(expected, bytesOf(a!.path));
    const second = await cache.receive(expected, bytesOf(a!.path));
    const order: string[] = [];
    const secondDone = second.commit().then((r) => (order.push('second'), r));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const firstDone = first.commit().then((r) => (order.push('first'), r));
    expect(await firstDone).toEqual({ bytes: first.bytes, added: true });
    expect(await secondDone).toEqual({ bytes: second.bytes, added: false });
    expect(order).toEqual(['first', 'second']);
    expect(readFileSync(cache.pathOf(expected.studyUid, expected.seriesUid, expected.sopInstanceUid)).equals(readFileSync(a!.path))).toBe(true);
    expect(index.instances(study.studyInstanceUid)).toHaveLength(1);
    expect(readdirSync(join(work, 'twice', 'tmp'))).toEqual([]);
  });

  it('a first writer refused leaves the place to the good copy received meanwhile', async () => {
    const { cache, index } = newCache('refused-first');
    await cache.open();
    const [a, b] = instances();
    const expected = { studyUid: study.studyInstanceUid, seriesUid: a!.series, sopInstanceUid: a!.sopInstanceUid };
    const wrong = await cache.receive(expected, bytesOf(b!.path));
    const good = await cache.receive(expected, bytesOf(a!.path));
    const goodDone = good.commit();
    await expect(wrong.commit()).rejects.toMatchObject({ kind: 'refused' });
    await expect(goodDone).resolves.toEqual({ bytes: good.bytes, added: true });
    const path = cache.pathOf(expected.studyUid, expected.seriesUid, expected.sopInstanceUid);
    expect(readFileSync(path).equals(readFileSync(a!.path))).toBe(true);
    expect(index.instances(study.studyInstanceUid).map((r) => r.sopInstanceUid)).toEqual([a!.sopInstanceUid]);
  });

  it('a file nobody indexed in an instance\'s place is replaced by the instance', async () => {
    const { cache } = newCache('stale');
    await cache.open();
    const [a] = instances();
    const path = cache.pathOf(study.studyInstanceUid, a!.series, a!.sopInstanceUid);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, 'left by a failed index write, longer than nothing');
    await expect(cache.store({ studyUid: study.studyInstanceUid, seriesUid: a!.series, sopInstanceUid: a!.sopInstanceUid }, bytesOf(a!.path))).resolves.toMatchObject({ added: true });
    expect(readFileSync(path).equals(readFileSync(a!.path))).toBe(true);
  });
});

describe('consumer image cache: lent chunks', () => {
  /** The file's bytes in lent pieces (as a bulk pull's reads are), each overwritten when given back; `cut`: fails after that many. */
  function lentPieces(path: string, cut?: number) {
    const b = readFileSync(path);
    const givenBack: number[] = [];
    async function* body(): AsyncGenerator<Uint8Array> {
      for (let i = 0, n = 0; i < b.length; i += 700, n++) {
        if (n === cut) throw new Error('connection cut');
        const piece = Buffer.from(b.subarray(i, i + 700));
        givenBack.push(0);
        yield lentChunk(piece, () => {
          givenBack[n]!++;
          piece.fill(0xee);
        });
      }
    }
    return { body, givenBack };
  }

  it('gives every chunk back once, after it is written: the file has the bytes, not what the blocks hold next', async () => {
    const { cache } = newCache('lent');
    await cache.open();
    const [a] = instances();
    const { body, givenBack } = lentPieces(a!.path);
    await expect(cache.store({ studyUid: study.studyInstanceUid, seriesUid: a!.series, sopInstanceUid: a!.sopInstanceUid }, body())).resolves.toMatchObject({ added: true });
    expect(givenBack.length).toBeGreaterThan(1);
    expect(givenBack.every((n) => n === 1)).toBe(true);
    expect(readFileSync(cache.pathOf(study.studyInstanceUid, a!.series, a!.sopInstanceUid)).equals(readFileSync(a!.path))).toBe(true);
  });

  it('gives back what it was lent when the body fails midway, and keeps nothing of it', async () => {
    const { cache, index } = newCache('lent-cut');
    await cache.open();
    const [a] = instances();
    const { body, givenBack } = lentPieces(a!.path, 2);
    await expect(cache.store({ studyUid: study.studyInstanceUid, seriesUid: a!.series, sopInstanceUid: a!.sopInstanceUid }, body())).rejects.toThrow('connection cut');
    expect(givenBack).toEqual([1, 1]);
    expect(index.instances(study.studyInstanceUid)).toHaveLength(0);
    expect(existsSync(cache.pathOf(study.studyInstanceUid, a!.series, a!.sopInstanceUid))).toBe(false);
  });
});

describe('consumer cache index: a batch of rows', () => {
  const row = (study: string, series: string, sop: string, bytes: number, json: string) => ({
    studyUid: study,
    seriesUid: series,
    sopInstanceUid: sop,
    sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    bytes,
    instanceJson: '{}',
    storedAt: 1,
    studyJson: `{"study":"${json}"}`,
    seriesJson: `{"series":"${json}"}`,
  });

  it('indexes as one row at a time would: new instances counted once, duplicates refused, each series and study keeping its first JSON', () => {
    const index = new ConsumerCacheIndex(consumerDb());
    expect(index.addInstances([row('1.1', '1.1.1', '1.1.1.1', 100, 'first')], 10)).toEqual([true]);
    const added = index.addInstances(
      [
        row('1.1', '1.1.1', '1.1.1.2', 200, 'later'),
        row('1.1', '1.1.1', '1.1.1.1', 100, 'again'), // indexed before this batch
        row('1.2', '1.2.1', '1.2.1.1', 50, 'other'),
        row('1.1', '1.1.2', '1.1.2.1', 300, 'second series'),
        row('1.1', '1.1.2', '1.1.2.1', 300, 'twice in the batch'),
        row('1.2', '1.2.1', '1.2.1.2', 70, 'other later'),
      ],
      20,
    );
    expect(added).toEqual([true, false, true, true, false, true]);
    expect(index.study('1.1')).toMatchObject({ bytes: 600, instances: 3, studyJson: '{"study":"first"}', lastUsedAt: 20 });
    expect(index.study('1.2')).toMatchObject({ bytes: 120, instances: 2, studyJson: '{"study":"other"}' });
    expect(index.series('1.1').map((s) => [s.seriesUid, s.seriesJson, s.instances])).toEqual([
      ['1.1.1', '{"series":"first"}', 2],
      ['1.1.2', '{"series":"second series"}', 1],
    ]);
    expect(index.totalBytes()).toBe(720);
    expect(index.addInstances([], 30)).toEqual([]);
  });

  it('the image cache gives each series its own attributes, and a study evicted then pulled again its own rows', async () => {
    const { cache, index } = newCache('levels');
    await cache.open();
    const store = (i: ReturnType<typeof instances>[number]) => cache.store({ studyUid: study.studyInstanceUid, seriesUid: i.series, sopInstanceUid: i.sopInstanceUid }, bytesOf(i.path));
    for (const i of instances()) await store(i);
    const seriesUidOf = (json: string) => (JSON.parse(json) as Record<string, { Value: string[] }>)['0020000E']!.Value[0];
    const listed = () => index.series(study.studyInstanceUid).map((s) => [s.seriesUid, seriesUidOf(s.seriesJson), s.instances]);
    const expected = study.series.map((s) => [s.seriesInstanceUid, s.seriesInstanceUid, s.instances.length]).sort();
    expect(listed().sort()).toEqual(expected);
    await cache.evict(study.studyInstanceUid);
    expect(index.study(study.studyInstanceUid)).toBeUndefined();
    for (const i of instances()) await store(i);
    expect(listed().sort()).toEqual(expected);
    expect(JSON.parse(index.study(study.studyInstanceUid)!.studyJson)['0020000D'].Value).toEqual([study.studyInstanceUid]);
    expect(cache.totalBytes()).toBe(instances().reduce((n, i) => n + readFileSync(i.path).length, 0));
  });
});

describe('cacheIndexTransaction', () => {
  it('commits unsynced (NORMAL), atomically, and gives the connection its own level back, also when the work fails', () => {
    const db = consumerDb(join(work, 'sync.sqlite'));
    const level = () => db.pragma('synchronous', { simple: true });
    db.exec('CREATE TABLE t (x INTEGER)');
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const count = () => (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
    expect(level()).toBe(2); // FULL, as every box connection
    const transaction = cacheIndexTransaction(db);
    let inside: unknown;
    transaction(() => {
      insert.run(1);
      insert.run(2);
      inside = level();
    });
    expect(inside).toBe(1); // NORMAL
    expect(level()).toBe(2);
    expect(count()).toBe(2);
    expect(() =>
      transaction(() => {
        insert.run(3);
        throw new Error('index write failed');
      }),
    ).toThrow('index write failed');
    expect(count()).toBe(2);
    expect(level()).toBe(2);
    db.close();
  });
});
