import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, open as fsOpen, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QUEUED_MAX } from '../../appliance/src/consumer/cache/file-writer.js';
import { ImageCache, type StagedInstance } from '../../appliance/src/consumer/cache/image-cache.js';
import { InlineWriteGate } from '../../appliance/src/io/inline-write-gate.js';
import { createLogger } from '../../appliance/src/log/logger.js';
import { ConsumerCacheIndex } from '../../appliance/src/store/consumer-cache.js';
import { makeMiniStudy } from '../fixtures/mini-instances.js';
import { consumerDb } from './consumer-helpers.js';

/**
 * While the disk is slow the cache's writes wait in libuv's thread pool, and the pull must stop reading once the
 * write budget (QUEUED_MAX) is queued, whatever the size of its instances: a CT slice, smaller than a write batch,
 * used to be read on regardless. The thread pool is held here by opens of named pipes nobody writes to yet, which
 * block a pool thread each until their other end is opened.
 */

const work = mkdtempSync(join(tmpdir(), 'consumer-write-budget-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function holdThreadPool(): () => Promise<void> {
  const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const fifos = Array.from({ length: threads }, (_, i) => join(work, `hold-${i}`));
  for (const fifo of fifos) execFileSync('mkfifo', [fifo]);
  const held = fifos.map((fifo) => new Promise<number>((resolve, reject) => fsOpen(fifo, 'r', (err, fd) => (err ? reject(err) : resolve(fd)))));
  return async () => {
    for (const fifo of fifos) {
      // The reader's open must have begun (a pool thread waits in it) for a non-blocking writer to get in.
      for (let attempt = 0; ; attempt++) {
        try {
          closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENXIO' || attempt > 100) throw err;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    }
    for (const fd of await Promise.all(held)) closeSync(fd);
  };
}

async function* chunksOf(path: string): AsyncGenerator<Buffer> {
  const bytes = readFileSync(path);
  for (let at = 0; at < bytes.length; at += 64 * 1024) yield bytes.subarray(at, at + 64 * 1024);
}

describe('consumer image cache: writes waiting on a slow disk hold the reading back', () => {
  it('receives no more than the write budget ahead of the disk, for instances smaller than a write batch, and loses none', async () => {
    const study = await makeMiniStudy({ outDir: join(work, 'src'), instances: 24, seriesCount: 1, rows: 512, columns: 512 });
    const [series] = study.series;
    const instanceBytes = readFileSync(series!.instances[0]!.path).length;
    expect(instanceBytes).toBeLessThan(1024 * 1024);
    expect(series!.instances.length * instanceBytes).toBeGreaterThan(QUEUED_MAX + 4 * instanceBytes);
    // A gate that has seen two slow writes: every write goes to the thread pool for the hour to come.
    let now = 0;
    const gate = new InlineWriteGate(5, 256 * 1024, 3_600_000, () => now);
    gate.run(() => (now += 50));
    gate.run(() => (now += 50));
    expect(gate.inline).toBe(false);
    const index = new ConsumerCacheIndex(consumerDb());
    const cache = new ImageCache({ dir: join(work, 'cache'), maxBytes: 1024 ** 3, index, log: createLogger({ component: 'test' }), inlineWrites: gate });
    await cache.open();
    const expected = (i: { sopInstanceUid: string }) => ({ studyUid: study.studyInstanceUid, seriesUid: series!.seriesInstanceUid, sopInstanceUid: i.sopInstanceUid });
    const [first, ...rest] = series!.instances;
    // Its folders made while the pool is free.
    await cache.store(expected(first!), chunksOf(first!.path));

    const release = holdThreadPool();
    const staged: StagedInstance[] = [];
    const receiving = (async () => {
      for (const i of rest) staged.push(await cache.receive(expected(i), chunksOf(i.path)));
    })();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const held = staged.length;
    await release();
    await receiving;
    await Promise.all(staged.map((s) => s.commit()));

    // The instance that reached the budget is received; the next one waits for the disk.
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(Math.ceil(QUEUED_MAX / instanceBytes));
    expect(index.instances(study.studyInstanceUid)).toHaveLength(series!.instances.length);
    for (const i of series!.instances) {
      expect(readFileSync(cache.pathOf(study.studyInstanceUid, series!.seriesInstanceUid, i.sopInstanceUid)).equals(readFileSync(i.path))).toBe(true);
    }
  });
});
