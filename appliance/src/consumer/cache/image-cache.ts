import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Part10Error, scanPart10 } from '../../dicom/dataset/part10-scan.js';
import { BlockPool } from '../../io/block-pool.js';
import { InlineWriteGate } from '../../io/inline-write-gate.js';
import type { Logger } from '../../log/logger.js';
import type { CachedInstanceRow, CachedSeriesRow, ConsumerCacheIndex, ConsumerMetadataCache, NewCachedInstance } from '../../store/consumer-cache.js';
import { indexAttributes } from './attributes.js';
import { FileWriter, giveBackAll, WriteBudget } from './file-writer.js';

/**
 * The consumer's bounded disk cache of pulled studies: `<dir>/studies/<study>/<series>/<sop>.dcm`, indexed in
 * SQLite. A file is written in its place, checked (a DICOM instance of the expected study, series and SOP
 * instance), then indexed: readers go through the index, which never names a partial file, so a transfer cut
 * midway resumes with the instances that are complete, and `open()` deletes the files nobody indexed. An instance
 * already indexed, or being written, is received again under `<dir>/tmp` and renamed into place once the other
 * writer is done. Past `maxBytes`, whole studies are evicted, least recently used first, never one in use (pinned
 * by a transfer, an import or a viewer request).
 */

export interface ImageCacheOptions {
  dir: string;
  maxBytes: number;
  index: ConsumerCacheIndex;
  metadata?: ConsumerMetadataCache;
  log: Logger;
  now?: () => number;
  /** Runs `work` in one SQLite transaction (index writes of several instances, one commit); default: as is. */
  transaction?: (work: () => void) => void;
  /** When files are written on the event loop (io/inline-write-gate.ts); default: while they are fast. */
  inlineWrites?: InlineWriteGate;
}

export interface StoreOptions {
  /**
   * Indexed at once rather than in the next batch (up to INDEX_BATCH_MS later): an instance someone waits for, the
   * viewer's first slices (consumer/retrieve.ts firstSlices), which the bulk of the transfer follows.
   */
  indexNow?: boolean;
}

export interface StagedInstance {
  bytes: number;
  /** Checks, places and indexes the instance (CacheError as for `store`). */
  commit(options?: StoreOptions): Promise<{ bytes: number; added: boolean }>;
  discard(): Promise<void>;
}

/** Index rows written in one transaction at most, and the longest a placed instance waits for its row. */
const INDEX_BATCH_MAX = 64;
const INDEX_BATCH_MS = 100;
/** Received bytes are written in pieces of about this size: one write for an instance of up to 1 MiB (a CT slice is
 * 0.5 MiB). A write that goes through the thread pool is a hand-off, ~150 µs of the main thread on the benches'
 * 2-vCPU guest (test/bench/README.md). */
const WRITE_BATCH = 1024 * 1024;

/** The first bytes of each instance are kept in memory while it is written, to check and index it without reading
 * the file back (a header longer than this is read from the file). Copied into pooled buffers: one allocated per
 * instance is 85 MB of short-lived memory per 1,300-instance study for the collector. */
const HEAD_BYTES = 64 * 1024;
const headPool = new BlockPool(HEAD_BYTES, 16);
/** Series whose study and series JSON are kept (`levelJsonOf`); past this, the memo starts again. */
const LEVEL_JSON_MAX = 256;

/** An instance's first bytes, a pooled copy: `give` (idempotent) hands the copy back once they are checked. */
interface Head {
  bytes: Buffer;
  give: () => void;
}

/**
 * Reads a stream to its end into a new file, refusing beyond `limit` bytes; returns the byte count, the first
 * bytes, and the file's completion (writes and close), which the caller must await. Lent chunks are given back once
 * written. Each write waits for room in the budget before the stream is read on, an instance's last write too: an
 * instance smaller than a batch (a CT slice) waited for none, and while writes waited in the thread pool the pull
 * read on, up to COMMITS_AHEAD instances (33 MiB of a CT) held in memory.
 */
async function writeStream(
  path: string,
  body: AsyncIterable<Uint8Array>,
  limit: number,
  sop: string,
  budget: WriteBudget,
  flags: 'w' | 'wx',
  gate: InlineWriteGate,
): Promise<{ bytes: number; head: Head; written: Promise<void> }> {
  const writer = new FileWriter(path, budget, flags, gate);
  let bytes = 0;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const writePending = async () => {
    writer.write(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    const room = budget.room();
    if (room) await room;
  };
  const head = headPool.take();
  try {
    for await (const chunk of body) {
      pending.push(chunk);
      writer.check();
      if (bytes < HEAD_BYTES) head.set(chunk.subarray(0, HEAD_BYTES - bytes), bytes);
      bytes += chunk.byteLength;
      if (bytes > limit) throw new CacheError(`instance ${sop} is larger than the whole cache (${limit} bytes)`, 'full');
      pendingBytes += chunk.byteLength;
      if (pendingBytes >= WRITE_BATCH) await writePending();
    }
    if (pending.length) await writePending();
  } catch (err) {
    giveBackAll(pending);
    headPool.give(head, Math.min(bytes, HEAD_BYTES));
    await writer.close().catch(() => undefined);
    throw err;
  }
  const written = writer.close();
  // Handled here so that a failure while the caller reads the next part is not an unhandled rejection.
  written.catch(() => undefined);
  const headBytes = Math.min(bytes, HEAD_BYTES);
  let headGiven = false;
  const giveHead = () => {
    if (headGiven) return;
    headGiven = true;
    headPool.give(head, headBytes);
  };
  return { bytes, head: { bytes: head.subarray(0, headBytes), give: giveHead }, written };
}

export class CacheError extends Error {
  constructor(
    message: string,
    readonly kind: 'refused' | 'full',
  ) {
    super(message);
    this.name = 'CacheError';
  }
}

export interface ExpectedInstance {
  studyUid: string;
  seriesUid: string;
  sopInstanceUid: string;
}

const UID = /^[0-9]+(\.[0-9]+)*$/;

/** UIDs become path segments: only digits and single dots, as PS3.5 §9.1 allows. */
export function checkUid(uid: string, what: string): string {
  if (!UID.test(uid) || uid.length > 64) throw new CacheError(`${what} "${uid.slice(0, 80)}" is not a DICOM UID`, 'refused');
  return uid;
}

function checkUids(got: { sopInstanceUid?: string; studyInstanceUid?: string; seriesInstanceUid?: string }, expected: ExpectedInstance): void {
  const mismatch = (
    [
      ['SOP Instance UID', got.sopInstanceUid, expected.sopInstanceUid],
      ['Study Instance UID', got.studyInstanceUid, expected.studyUid],
      ['Series Instance UID', got.seriesInstanceUid, expected.seriesUid],
    ] as const
  ).find(([, value, want]) => value !== want);
  if (mismatch) {
    throw new CacheError(`instance ${expected.sopInstanceUid}: ${mismatch[0]} is ${mismatch[1] ?? 'missing'} in the file, ${mismatch[2]} expected`, 'refused');
  }
}

export class ImageCache {
  readonly dir: string;
  readonly maxBytes: number;
  private readonly pins = new Map<string, number>();
  private readonly now: () => number;
  private readonly lastTouch = new Map<string, number>();
  private readonly unindexed: { row: NewCachedInstance; resolve: (added: boolean) => void; reject: (err: unknown) => void }[] = [];
  /** Bytes of instances placed (or about to be) whose index rows are not written yet. */
  private unindexedBytes = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Callers of `indexAtOnce` not done yet. */
  private hurried = 0;
  private lastFlush = 0;
  private lastFlushMs = 0;
  /** Directories known to exist (a mkdir per instance costs a system call each). */
  private readonly made = new Set<string>();
  /** Temporary file names: unique in this process (the tmp directory is emptied at each open). */
  private readonly tmpPrefix = randomBytes(6).toString('hex');
  private tmpCount = 0;
  private readonly writeBudget = new WriteBudget();
  private readonly inlineWrites: InlineWriteGate;
  /** Final paths being written or placed, until indexed or removed: nobody else writes there meanwhile. */
  private readonly writing = new Map<string, Promise<void>>();
  /** Study and series JSON per series (`levelJsonOf`). */
  private readonly levelJson = new Map<string, { study: string; series: string }>();
  /** The index's byte total, read again after each change this cache makes to the index (`indexTotal`). */
  private indexedBytes: number | undefined;

  constructor(private readonly options: ImageCacheOptions) {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes <= 0) throw new RangeError(`cache size limit must be a positive number of bytes, got ${options.maxBytes}`);
    this.dir = options.dir;
    this.inlineWrites = options.inlineWrites ?? new InlineWriteGate();
    this.maxBytes = options.maxBytes;
    this.now = options.now ?? Date.now;
  }

  private get tmpDir(): string {
    return join(this.dir, 'tmp');
  }

  studyDir(studyUid: string): string {
    return join(this.dir, 'studies', checkUid(studyUid, 'Study Instance UID'));
  }

  pathOf(studyUid: string, seriesUid: string, sopInstanceUid: string): string {
    return join(this.studyDir(studyUid), checkUid(seriesUid, 'Series Instance UID'), `${checkUid(sopInstanceUid, 'SOP Instance UID')}.dcm`);
  }

  /**
   * Brings disk and index into agreement after a restart: partial files go, indexed files that vanished are
   * forgotten, files nobody indexed (a crash between rename and index) are deleted, then the size limit is applied.
   */
  async open(): Promise<void> {
    const { index, log } = this.options;
    this.made.clear();
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(join(this.dir, 'studies'), { recursive: true });
    const indexed = new Set(index.allStudyUids());
    for (const name of await readdir(join(this.dir, 'studies'))) {
      if (!indexed.has(name)) await rm(join(this.dir, 'studies', name), { recursive: true, force: true });
    }
    let forgotten = 0;
    for (const studyUid of indexed) {
      const rows = index.instances(studyUid);
      const known = new Set(rows.map((r) => this.pathOf(r.studyUid, r.seriesUid, r.sopInstanceUid)));
      for (const r of rows) {
        const size = await stat(this.pathOf(r.studyUid, r.seriesUid, r.sopInstanceUid)).then((s) => s.size, () => -1);
        if (size !== r.bytes) {
          index.removeInstance(r.studyUid, r.sopInstanceUid);
          this.indexedBytes = undefined;
          forgotten++;
        }
      }
      for (const series of await readdir(this.studyDir(studyUid)).catch(() => [] as string[])) {
        for (const file of await readdir(join(this.studyDir(studyUid), series)).catch(() => [] as string[])) {
          const path = join(this.studyDir(studyUid), series, file);
          if (!known.has(path)) await rm(path, { force: true });
        }
      }
      if (index.study(studyUid)?.instances === 0) await this.evict(studyUid);
    }
    if (forgotten) log.warn('consumer cache: indexed files missing on disk were forgotten', { instances: forgotten });
    await this.makeRoom(0);
  }

  /** Marks a study in use: it is not evicted until every pin is released. */
  pin(studyUid: string): () => void {
    this.pins.set(studyUid, (this.pins.get(studyUid) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.pins.get(studyUid) ?? 1) - 1;
      if (n <= 0) this.pins.delete(studyUid);
      else this.pins.set(studyUid, n);
    };
  }

  isPinned(studyUid: string): boolean {
    return (this.pins.get(studyUid) ?? 0) > 0;
  }

  /** Records a use of the study (LRU), at most every few seconds per study. */
  touch(studyUid: string): void {
    const now = this.now();
    if (now - (this.lastTouch.get(studyUid) ?? 0) < 5_000) return;
    this.lastTouch.set(studyUid, now);
    this.options.index.touch(studyUid, now);
  }

  cachedSops(studyUid: string): Map<string, Set<string>> {
    return this.options.index.cachedSops(studyUid);
  }

  instances(studyUid: string, seriesUid?: string, sopInstanceUid?: string): CachedInstanceRow[] {
    return this.options.index.instances(studyUid, seriesUid, sopInstanceUid);
  }

  totalBytes(): number {
    return this.options.index.totalBytes();
  }

  studyUids(): string[] {
    return this.options.index.allStudyUids();
  }

  /** Study-level attributes (DICOM JSON text) of a cached study. */
  studyJson(studyUid: string): string | undefined {
    return this.options.index.study(studyUid)?.studyJson;
  }

  seriesOf(studyUid: string): CachedSeriesRow[] {
    return this.options.index.series(studyUid);
  }

  /**
   * Writes one instance from a stream and indexes it. Throws CacheError('refused') when the bytes are not the
   * expected instance, CacheError('full') when even evicting every other unpinned study leaves no room.
   */
  async store(expected: ExpectedInstance, body: AsyncIterable<Uint8Array>, options: StoreOptions = {}): Promise<{ bytes: number; added: boolean }> {
    return (await this.receive(expected, body)).commit(options);
  }

  /**
   * First half of `store`: the stream read to its end, into the instance's place (or a temporary file, see the class
   * comment). The caller may read the next stream while `commit` checks, places and indexes this one; `commit` (or
   * `discard`) must be called once.
   */
  async receive(expected: ExpectedInstance, body: AsyncIterable<Uint8Array>): Promise<StagedInstance> {
    const final = this.pathOf(expected.studyUid, expected.seriesUid, expected.sopInstanceUid);
    // Decided and claimed before any await, so that two receptions of one instance never write the same file.
    const inPlace = !this.writing.has(final) && !this.options.index.hasInstance(expected.studyUid, expected.sopInstanceUid);
    const release = inPlace ? this.claim(final) : () => undefined;
    const file = inPlace ? final : join(this.tmpDir, `${this.tmpPrefix}-${++this.tmpCount}.part`);
    let bytes: number;
    let head: Head;
    let written: Promise<void>;
    try {
      await this.ensureDir(inPlace ? dirname(final) : this.tmpDir);
      // In place, a file nobody indexed (left by a crash, or by a failed index write) is replaced.
      ({ bytes, head, written } = await writeStream(file, body, this.maxBytes, expected.sopInstanceUid, this.writeBudget, inPlace ? 'w' : 'wx', this.inlineWrites));
    } catch (err) {
      await rm(file, { force: true });
      release();
      throw err;
    }
    let settled = false;
    const once = () => {
      if (settled) throw new Error(`staged instance ${expected.sopInstanceUid} already committed or discarded`);
      settled = true;
    };
    return {
      bytes,
      commit: async (options = {}) => {
        once();
        try {
          return await this.commitStaged(expected, file, final, bytes, head, written, options);
        } finally {
          head.give();
          release();
        }
      },
      discard: async () => {
        once();
        head.give();
        await written.catch(() => undefined);
        await rm(file, { force: true });
        release();
      },
    };
  }

  /**
   * `file`: where the bytes were written, `final` itself or a temporary file renamed there once checked; `written`:
   * the end of its writes; `head`: its first bytes, given back once checked (not held while the row waits for its
   * index batch: up to 64 commits ahead held as many heads, most of them allocated afresh). Whatever fails, a file
   * not placed is removed.
   */
  private async commitStaged(
    expected: ExpectedInstance,
    file: string,
    final: string,
    bytes: number,
    head: Head,
    written: Promise<void>,
    options: StoreOptions,
  ): Promise<{ bytes: number; added: boolean }> {
    let placed = false;
    let reserved = false;
    let release = () => {};
    try {
      await written;
      let attributes;
      try {
        attributes = await this.check(file, expected, { bytes: head.bytes, size: bytes });
      } finally {
        head.give();
      }
      const levels = this.levelJsonOf(expected, attributes);
      await this.makeRoom(bytes, expected.studyUid, true);
      reserved = true;
      if (file !== final) {
        // Not over a file still being written in place: its writer may yet remove it as refused.
        for (let other = this.writing.get(final); other; other = this.writing.get(final)) await other;
        release = this.claim(final);
        await this.ensureDir(dirname(final));
        await rename(file, final);
      }
      placed = true;
      const now = this.now();
      const added = await this.indexLater({
        studyUid: expected.studyUid,
        seriesUid: expected.seriesUid,
        sopInstanceUid: expected.sopInstanceUid,
        sopClassUid: attributes.sopClassUid,
        transferSyntaxUid: attributes.transferSyntaxUid,
        bytes,
        ...(attributes.instanceNumber !== undefined ? { instanceNumber: attributes.instanceNumber } : {}),
        instanceJson: JSON.stringify(attributes.instance),
        seriesJson: levels.series,
        studyJson: levels.study,
        storedAt: now,
      }, options.indexNow);
      reserved = false; // indexLater released it
      return { bytes, added };
    } finally {
      if (reserved) this.unindexedBytes -= bytes;
      if (!placed) await rm(file, { force: true });
      release();
    }
  }

  /**
   * The study and series JSON of the series' first instance, stringified once and given with each of its rows: the
   * index keeps a series' first row's (store/consumer-cache.ts addInstances): two of the three JSON texts built per
   * instance were thrown away.
   */
  private levelJsonOf(expected: ExpectedInstance, attributes: { study: unknown; series: unknown }): { study: string; series: string } {
    const key = `${expected.studyUid}/${expected.seriesUid}`;
    let json = this.levelJson.get(key);
    if (!json) {
      if (this.levelJson.size >= LEVEL_JSON_MAX) this.levelJson.clear();
      json = { study: JSON.stringify(attributes.study), series: JSON.stringify(attributes.series) };
      this.levelJson.set(key, json);
    }
    return json;
  }

  /**
   * Bytes indexed, as of this cache's last change to the index: makeRoom asks at each instance, and only this cache
   * changes the consumer's cache index. One query per index batch rather than one per instance.
   */
  private indexTotal(): number {
    return (this.indexedBytes ??= this.options.index.totalBytes());
  }

  /**
   * Until the returned function is called, placed instances are indexed at once, those waiting for their batch too:
   * for the last instances of a transfer, which nothing follows into a batch (its timer held the end of a CT's pull
   * 40–90 ms, the link idle).
   */
  indexAtOnce(): () => void {
    this.hurried++;
    this.flushIndex();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.hurried--;
    };
  }

  /** Marks `final` as being written; the returned function (idempotent) ends that. */
  private claim(final: string): () => void {
    let release = () => {};
    this.writing.set(final, new Promise<void>((resolve) => (release = resolve)));
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.writing.delete(final);
      release();
    };
  }

  /**
   * Index rows are written in batches, one SQLite transaction for the instances placed within INDEX_BATCH_MS of each
   * other rather than a commit per instance (each commit blocks the event loop; with `synchronous = FULL` it waits for
   * an fsync, which the box's cacheIndexTransaction spares it). `now`: this row without waiting. A file placed but not yet indexed is deleted at the next `open()`, like a partial one.
   */
  private indexLater(row: NewCachedInstance, now = false): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.unindexed.push({ row, resolve, reject });
      if (now || this.hurried > 0 || this.unindexed.length >= INDEX_BATCH_MAX) this.flushIndex();
      // A slow commit spaces the batches further: it blocks the event loop.
      else this.flushTimer ??= setTimeout(() => this.flushIndex(), Math.max(0, this.lastFlush + Math.max(INDEX_BATCH_MS, 4 * this.lastFlushMs) - Date.now()));
    });
  }

  private flushIndex(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.lastFlush = Date.now();
    const batch = this.unindexed.splice(0);
    if (batch.length === 0) return;
    const { index } = this.options;
    const transaction = this.options.transaction ?? ((work: () => void) => work());
    const added: boolean[] = [];
    let failure: { error: unknown } | undefined;
    try {
      transaction(() => added.push(...index.addInstances(batch.map((b) => b.row), this.now())));
    } catch (error) {
      failure = { error };
    }
    this.indexedBytes = undefined;
    this.lastFlushMs = Date.now() - this.lastFlush;
    for (const [i, b] of batch.entries()) {
      this.unindexedBytes -= b.row.bytes;
      if (failure) b.reject(failure.error);
      else b.resolve(added[i]!);
    }
  }

  /** `head`: the file's first bytes and size, still in memory: what they hold is not read back from the file. */
  private async check(path: string, expected: ExpectedInstance, head: { bytes: Buffer; size: number }) {
    let layout;
    try {
      layout = await scanPart10(path, head);
    } catch (err) {
      if (err instanceof Part10Error) throw new CacheError(`instance ${expected.sopInstanceUid}: not a readable DICOM file (${err.message.replace(path + ': ', '')})`, 'refused');
      throw err;
    }
    checkUids(layout, expected);
    if (!layout.sopClassUid) throw new CacheError(`instance ${expected.sopInstanceUid}: no SOP Class UID`, 'refused');
    let attributes;
    try {
      attributes = await indexAttributes(layout, head.bytes);
    } catch (err) {
      throw new CacheError(`instance ${expected.sopInstanceUid}: unreadable header (${(err as Error).message.replace(path + ': ', '')})`, 'refused');
    }
    return { ...attributes, sopClassUid: layout.sopClassUid, transferSyntaxUid: layout.transferSyntaxUid };
  }

  /**
   * Evicts least recently used, unpinned studies (never `keep`) until `incoming` more bytes fit. `reserve`: those
   * bytes are counted as unindexed in the step that found them room, with no wait between, so that instances
   * committed at the same time never each find the same room (the caller releases them once indexed or failed).
   */
  async makeRoom(incoming: number, keep?: string, reserve = false): Promise<void> {
    const { index, log } = this.options;
    for (;;) {
      const total = this.indexTotal() + this.unindexedBytes;
      if (total + incoming <= this.maxBytes) {
        if (reserve) this.unindexedBytes += incoming;
        return;
      }
      const study = index.studiesByAge().find((s) => s.studyUid !== keep && !this.isPinned(s.studyUid));
      if (!study) {
        throw new CacheError(
          `the image cache is full: ${Math.ceil((total + incoming) / 1e6)} MB needed, limit ${Math.floor(this.maxBytes / 1e6)} MB, and the rest is in use`,
          'full',
        );
      }
      // Out of the index before this waits: a concurrent call picks another.
      await this.evict(study.studyUid);
      log.info('consumer cache: study evicted (least recently used)', { study: study.studyUid, bytes: study.bytes, limit: this.maxBytes });
    }
  }

  private async ensureDir(path: string): Promise<void> {
    if (this.made.has(path)) return;
    await mkdir(path, { recursive: true });
    this.made.add(path);
  }

  /** Removes a study from the index, then from disk. */
  async evict(studyUid: string): Promise<void> {
    const dir = this.studyDir(studyUid);
    for (const path of this.made) if (path.startsWith(dir)) this.made.delete(path);
    this.options.metadata?.invalidateStudy(studyUid);
    this.options.index.deleteStudy(studyUid);
    this.indexedBytes = undefined;
    for (const key of this.levelJson.keys()) if (key.startsWith(`${studyUid}/`)) this.levelJson.delete(key);
    this.lastTouch.delete(studyUid);
    await rm(this.studyDir(studyUid), { recursive: true, force: true });
  }
}
