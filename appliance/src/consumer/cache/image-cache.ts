import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Part10Error, scanPart10 } from '../../dicomweb/part10-scan.js';
import type { Logger } from '../../log/logger.js';
import type { CachedInstanceRow, CachedSeriesRow, ConsumerCacheIndex, ConsumerMetadataCache } from '../../store/consumer-cache.js';
import { indexAttributes } from './attributes.js';

/**
 * The consumer's bounded disk cache of pulled studies: `<dir>/studies/<study>/<series>/<sop>.dcm`, indexed in
 * SQLite. A file is written under `<dir>/tmp`, checked (a DICOM instance of the expected study, series and SOP
 * instance), then renamed into place and indexed: the index never names a partial file, so a transfer cut midway
 * resumes with the instances that are complete. Past `maxBytes`, whole studies are evicted, least recently used
 * first, never one in use (pinned by a transfer, an import or a viewer request).
 */

export interface ImageCacheOptions {
  dir: string;
  maxBytes: number;
  index: ConsumerCacheIndex;
  metadata?: ConsumerMetadataCache;
  log: Logger;
  now?: () => number;
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

export class ImageCache {
  readonly dir: string;
  readonly maxBytes: number;
  private readonly pins = new Map<string, number>();
  private readonly now: () => number;
  private readonly lastTouch = new Map<string, number>();

  constructor(private readonly options: ImageCacheOptions) {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes <= 0) throw new RangeError(`cache size limit must be a positive number of bytes, got ${options.maxBytes}`);
    this.dir = options.dir;
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
  async store(expected: ExpectedInstance, body: AsyncIterable<Uint8Array>): Promise<{ bytes: number; added: boolean }> {
    const final = this.pathOf(expected.studyUid, expected.seriesUid, expected.sopInstanceUid);
    await mkdir(this.tmpDir, { recursive: true });
    const tmp = join(this.tmpDir, `${randomBytes(12).toString('hex')}.part`);
    let keep = false;
    try {
      let bytes = 0;
      const limit = this.maxBytes;
      await pipeline(
        Readable.from(
          (async function* () {
            for await (const chunk of body) {
              bytes += chunk.byteLength;
              if (bytes > limit) throw new CacheError(`instance ${expected.sopInstanceUid} is larger than the whole cache (${limit} bytes)`, 'full');
              yield chunk;
            }
          })(),
        ),
        createWriteStream(tmp),
      );
      const attributes = await this.check(tmp, expected);
      await this.makeRoom(bytes, expected.studyUid);
      await mkdir(join(this.studyDir(expected.studyUid), expected.seriesUid), { recursive: true });
      await rename(tmp, final);
      keep = true;
      const added = this.options.index.addInstance(
        {
          studyUid: expected.studyUid,
          seriesUid: expected.seriesUid,
          sopInstanceUid: expected.sopInstanceUid,
          sopClassUid: attributes.sopClassUid,
          transferSyntaxUid: attributes.transferSyntaxUid,
          bytes,
          ...(attributes.instanceNumber !== undefined ? { instanceNumber: attributes.instanceNumber } : {}),
          instanceJson: JSON.stringify(attributes.instance),
          seriesJson: JSON.stringify(attributes.series),
          studyJson: JSON.stringify(attributes.study),
          storedAt: this.now(),
        },
        this.now(),
      );
      return { bytes, added };
    } finally {
      if (!keep) await rm(tmp, { force: true });
    }
  }

  private async check(path: string, expected: ExpectedInstance) {
    let layout;
    try {
      layout = await scanPart10(path);
    } catch (err) {
      if (err instanceof Part10Error) throw new CacheError(`instance ${expected.sopInstanceUid}: not a readable DICOM file (${err.message.replace(path + ': ', '')})`, 'refused');
      throw err;
    }
    const mismatch = (
      [
        ['SOP Instance UID', layout.sopInstanceUid, expected.sopInstanceUid],
        ['Study Instance UID', layout.studyInstanceUid, expected.studyUid],
        ['Series Instance UID', layout.seriesInstanceUid, expected.seriesUid],
      ] as const
    ).find(([, got, want]) => got !== want);
    if (mismatch) {
      throw new CacheError(`instance ${expected.sopInstanceUid}: ${mismatch[0]} is ${mismatch[1] ?? 'missing'} in the file, ${mismatch[2]} expected`, 'refused');
    }
    if (!layout.sopClassUid) throw new CacheError(`instance ${expected.sopInstanceUid}: no SOP Class UID`, 'refused');
    let attributes;
    try {
      attributes = await indexAttributes(layout);
    } catch (err) {
      throw new CacheError(`instance ${expected.sopInstanceUid}: unreadable header (${(err as Error).message.replace(path + ': ', '')})`, 'refused');
    }
    return { ...attributes, sopClassUid: layout.sopClassUid, transferSyntaxUid: layout.transferSyntaxUid };
  }

  /** Evicts least recently used, unpinned studies (never `keep`) until `incoming` more bytes fit. */
  async makeRoom(incoming: number, keep?: string): Promise<void> {
    const { index, log } = this.options;
    let total = index.totalBytes();
    if (total + incoming <= this.maxBytes) return;
    for (const study of index.studiesByAge()) {
      if (total + incoming <= this.maxBytes) return;
      if (study.studyUid === keep || this.isPinned(study.studyUid)) continue;
      await this.evict(study.studyUid);
      total -= study.bytes;
      log.info('consumer cache: study evicted (least recently used)', { study: study.studyUid, bytes: study.bytes, limit: this.maxBytes });
    }
    if (total + incoming > this.maxBytes) {
      throw new CacheError(
        `the image cache is full: ${Math.ceil((total + incoming) / 1e6)} MB needed, limit ${Math.floor(this.maxBytes / 1e6)} MB, and the rest is in use`,
        'full',
      );
    }
  }

  /** Removes a study from the index, then from disk. */
  async evict(studyUid: string): Promise<void> {
    this.options.metadata?.invalidateStudy(studyUid);
    this.options.index.deleteStudy(studyUid);
    this.lastTouch.delete(studyUid);
    await rm(this.studyDir(studyUid), { recursive: true, force: true });
  }
}
