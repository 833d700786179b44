/**
 * The consumer box's pull alone, in its own process (so it can be pinned with `taskset` and measured apart from the
 * source box it pulls from): the retrieve job of appliance/src/consumer/retrieve.ts, its source client and image
 * cache, exactly as the portal runs them, on a fresh cache. Reads a PullOrder as one line of JSON on stdin, prints a
 * PullReport as JSON on its last stdout line. With `warmUp`, it first pulls the whole study that many times, each
 * into a cache of its own, prints `warmed`, and waits for a line on stdin before the measured pull.
 *   npx tsx test/bench/wan-pull-child.ts < order.json
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageCache } from '../../appliance/src/consumer/cache/image-cache.js';
import { JobRegistry } from '../../appliance/src/consumer/jobs.js';
import { runRetrieve, StudyLocks } from '../../appliance/src/consumer/retrieve.js';
import { createSourceClient } from '../../appliance/src/consumer/source-client.js';
import type { KosManifest } from '../../appliance/src/dicom/kos/index.js';
import { createLogger } from '../../appliance/src/log/logger.js';
import { cacheIndexTransaction, ConsumerCacheIndex } from '../../appliance/src/store/consumer-cache.js';
import { consumerDb } from '../unit/consumer-helpers.js';
import { procCpuMs } from './proc-cpu.js';

export interface PullOrder {
  manifest: KosManifest;
  accessToken: string;
  concurrency: number;
  /** Where the cache goes (a fresh directory under it); default the system temp dir. */
  parentDir?: string;
  /**
   * Leave the cache on disk: the caller deletes `parentDir` once its runs are done. Files deleted just before a pull
   * slow it down on ext4, which then scans the inodes freed in the last minute at each file it creates (perf:
   * `recently_deleted`), a cost curl's two files never pay.
   */
  keepCache?: boolean;
  /**
   * Whole-study pulls first, each into a cache of its own: the measured pull then runs in a process that has pulled
   * before, as in a box at work, its hot code compiled by V8's optimizing compiler. A warm-up of 400 instances was
   * not enough: V8's trace (--trace-opt) showed the functions run once per instance (the cache's receive, the Part-10
   * scan, the multipart scanner's step) first compiled by TurboFan during the measured pull, whose threads other than
   * the main one then spent 0.35–0.62 s of CPU compiling, on the pull's one core; 0.14–0.25 s after two whole pulls.
   */
  warmUp?: number;
}

export interface PullReport {
  ms: number;
  /** From the start to the first instance in the cache. */
  firstMs: number;
  /** The SOP Instance UIDs in the order they entered the cache (first few only). */
  firstSops: string[];
  bytes: number;
  done: number;
  failed: number;
  state: string;
  message?: string;
  cpuMs: number;
  /** Of which in the kernel (system calls: the socket, the files). */
  cpuSystemMs: number;
  /** Of which on the main thread (the rest: V8's compiler and collector threads, libuv's thread pool). */
  cpuMainMs: number;
}

/** CPU time of this process's main thread so far, in ms (clock ticks of 10 ms). */
const mainThreadCpuMs = () => procCpuMs(`/proc/self/task/${process.pid}/stat`);

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const order = JSON.parse(String((await lines.next()).value ?? '')) as PullOrder;

/** One pull of `manifest` into a fresh cache under `dir`; the first instances' arrival is recorded. */
async function pullOnce(manifest: KosManifest, dir: string): Promise<PullReport> {
  const db = consumerDb(join(dir, 'index.sqlite'));
  try {
    const log = createLogger({ component: 'pull-child' });
    const index = new ConsumerCacheIndex(db);
    const cache = new ImageCache({ dir: join(dir, 'cache'), maxBytes: 8 * 1024 ** 3, index, log, transaction: cacheIndexTransaction(db) });
    await cache.open();
    const job = new JobRegistry().create('bench', 'retrieve', manifest.studyInstanceUid, manifest.series.reduce((n, s) => n + s.instances.length, 0));
    const firstSops: string[] = [];
    let firstMs = 0;
    const cpu = process.cpuUsage();
    const mainCpu = mainThreadCpuMs();
    const start = performance.now();
    const originalAdd = index.addInstances.bind(index);
    index.addInstances = (rows, now) => {
      if (firstSops.length === 0) firstMs = performance.now() - start;
      for (const row of rows) if (firstSops.length < 8) firstSops.push(row.sopInstanceUid);
      return originalAdd(rows, now);
    };
    await runRetrieve(job, { manifest, accessToken: order.accessToken }, {
      cache,
      client: createSourceClient(),
      policy: { whitelist: () => undefined, allowInsecureSourceHosts: true },
      log,
      concurrency: order.concurrency,
      locks: new StudyLocks(),
    });
    const ms = performance.now() - start;
    const used = process.cpuUsage(cpu);
    const p = job.progress;
    return {
      ms,
      firstMs,
      firstSops,
      bytes: p.bytes,
      done: p.done,
      failed: p.failed,
      state: p.state,
      ...(p.message ? { message: p.message } : {}),
      cpuMs: (used.user + used.system) / 1000,
      cpuSystemMs: used.system / 1000,
      cpuMainMs: mainThreadCpuMs() - mainCpu,
    };
  } finally {
    db.close();
  }
}

const dir = mkdtempSync(join(order.parentDir ?? tmpdir(), 'pull-child-'));
try {
  for (let i = 0; i < (order.warmUp ?? 0); i++) {
    const warm = await pullOnce(order.manifest, join(dir, `warm-up-${i}`));
    if (warm.state !== 'done') throw new Error(`warm-up pull ended ${warm.state}: ${warm.message ?? ''}`);
  }
  if (order.warmUp) {
    console.log('warmed');
    await lines.next();
  }
  console.log(JSON.stringify(await pullOnce(order.manifest, join(dir, 'measured'))));
} finally {
  if (!order.keepCache) rmSync(dir, { recursive: true, force: true });
  process.stdin.destroy();
}
