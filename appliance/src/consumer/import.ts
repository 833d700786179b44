import { mkdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PacsError, type PacsBridge, type StoreOutcome } from '../dimse/types.js';
import type { Logger } from '../log/logger.js';
import type { ImageCache } from './cache/image-cache.js';
import type { CachedInstanceRow } from '../store/consumer-cache.js';
import { CoercionError, coerceFile, type LocalPatientId } from './coerce.js';
import { waitAdmitted, type Job } from './jobs.js';

/**
 * Imports a cached study into the practice's PACS: C-STORE through the PACS bridge (each file proposed in its own
 * transfer syntax, then uncompressed fallbacks), optionally with the patient's local identity written into a copy
 * of each file first. Files are fed to the bridge one by one as it asks for them: coerced copies exist only between
 * their coercion and their C-STORE outcome. Every refusal is reported with its reason.
 */

export interface ImportDeps {
  /** Whether new long work may start (false while the box lets an update through). */
  admits?: () => boolean;
  cache: ImageCache;
  bridge: PacsBridge;
  /** Associations used at once (each sends its share of the study); within the PACS's association limit. */
  lanes?: number;
  /** Where coerced copies are written (on the data volume). */
  tempDir: string;
  log: Logger;
}

export interface ImportRequest {
  studyInstanceUid: string;
  /** The local IPP and issuer to give the images; absent: imported as they came. */
  coercion?: LocalPatientId;
  /** The instances to import (those the KOS references); absent: every cached instance of the study. */
  only?: ReadonlySet<string>;
}

/**
 * Coerced copies are written ahead of the C-STOREs, up to this many bytes of temp files per lane (disk, never
 * memory): enough to keep a whole batch of the bridge (it reads 200 files ahead) ready while the previous one is sent.
 */
const COERCED_AHEAD_BYTES = 256 * 1024 * 1024;

/**
 * Runs `source` ahead of its reader, up to `max` items ready: the producer's I/O overlaps the consumer's. The
 * source is drained to its end when the reader stops early, so nothing it holds is left half done.
 */
async function* ahead<T>(source: AsyncIterable<T>, max: number): AsyncGenerator<T> {
  const ready: T[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  let wakeReader: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  let stopped = false;
  const producer = (async () => {
    try {
      for await (const item of source) {
        ready.push(item);
        wakeReader?.();
        if (stopped) break;
        while (ready.length >= max && !stopped) await new Promise<void>((r) => (wakeProducer = r));
      }
    } catch (error) {
      failure = { error };
    } finally {
      done = true;
      wakeReader?.();
    }
  })();
  try {
    for (;;) {
      if (ready.length) {
        const item = ready.shift()!;
        wakeProducer?.();
        yield item;
        continue;
      }
      if (failure) throw failure.error;
      if (done) return;
      await new Promise<void>((r) => (wakeReader = r));
      wakeReader = undefined;
    }
  } finally {
    stopped = true;
    wakeProducer?.();
    await producer;
  }
}

/** Runs an import job to its end; never throws (the outcome is in the job). */
export async function runImport(job: Job, request: ImportRequest, deps: ImportDeps): Promise<void> {
  const study = request.studyInstanceUid;
  const signal = job.controller.signal;
  const unpin = deps.cache.pin(study);
  const workDir = join(deps.tempDir, `import-${job.progress.id}`);
  try {
    const rows = deps.cache.instances(study).filter((r) => !request.only || request.only.has(r.sopInstanceUid));
    if (rows.length === 0) {
      job.finish('failed', "l'examen n'est pas (ou plus) dans le cache local : récupérez-le à nouveau");
      return;
    }
    // What the manifest references and the cache lacks is never imported as if the study were whole.
    const missing = request.only ? request.only.size - rows.length : 0;
    await waitAdmitted(job, deps.admits);
    job.update({ state: 'running', total: rows.length, ...(missing > 0 ? { details: { ...job.progress.details, incomplete: `${rows.length}/${request.only!.size}`, missing } } : {}) });
    if (request.coercion) await mkdir(workDir, { recursive: true });
    const byPath = new Map<string, { sop: string; bytes: number; temp: boolean }>();

    /** The files of one lane: the cached files, or their coerced copies made a little ahead of the C-STOREs. */
    async function* files(share: CachedInstanceRow[]): AsyncGenerator<string> {
      for (const row of share) {
        if (signal.aborted) return;
        const original = deps.cache.pathOf(row.studyUid, row.seriesUid, row.sopInstanceUid);
        if (!request.coercion) {
          byPath.set(original, { sop: row.sopInstanceUid, bytes: row.bytes, temp: false });
          yield original;
          continue;
        }
        const copy = join(workDir, `${row.sopInstanceUid}.dcm`);
        try {
          await coerceFile(original, copy, request.coercion);
        } catch (err) {
          await rm(copy, { force: true });
          const reason = err instanceof CoercionError ? `identifiant patient non remplacé : ${err.message}` : `copie impossible : ${(err as Error).message}`;
          job.fail({ sopInstanceUid: row.sopInstanceUid, reason });
          job.update({ done: job.progress.done + 1 });
          continue;
        }
        byPath.set(copy, { sop: row.sopInstanceUid, bytes: row.bytes, temp: true });
        yield copy;
      }
    }

    const onOutcome = (o: StoreOutcome) => {
      const known = byPath.get(o.path);
      if (known?.temp) void unlink(o.path).catch(() => undefined);
      byPath.delete(o.path);
      const sop = o.sopInstanceUid ?? known?.sop;
      if (o.status === 'stored' || o.status === 'warning') {
        job.update({ done: job.progress.done + 1, transferred: job.progress.transferred + 1, bytes: job.progress.bytes + (known?.bytes ?? 0) });
        if (o.status === 'warning') deps.log.info('consumer import: stored with a warning', { sop, reason: o.reason });
      } else {
        job.fail({ ...(sop ? { sopInstanceUid: sop } : {}), reason: o.reason ?? o.status });
        job.update({ done: job.progress.done + 1 });
      }
    };

    const lanes = Math.max(1, Math.min(deps.lanes ?? 1, rows.length));
    const shares = Array.from({ length: lanes }, (_, k) => rows.filter((_, i) => i % lanes === k));
    const ends = await Promise.allSettled(
      // Coerced copies are prepared while the previous ones are sent (a bounded number ahead, on disk).
      shares.map((share) => {
        if (!request.coercion) return deps.bridge.store(files(share), onOutcome);
        const average = share.reduce((n, r) => n + r.bytes, 0) / share.length;
        return deps.bridge.store(ahead(files(share), Math.max(4, Math.min(256, Math.floor(COERCED_AHEAD_BYTES / average)))), onOutcome);
      }),
    );
    const refused = ends.find((e): e is PromiseRejectedResult => e.status === 'rejected');
    if (refused) {
      if (refused.reason instanceof PacsError) {
        job.finish('failed', `le PACS local n'a pas accepté l'import (${refused.reason.kind}) : ${refused.reason.message}`);
        return;
      }
      throw refused.reason;
    }
    deps.cache.touch(study);
    if (signal.aborted) job.finish('cancelled', 'import annulé');
    else if (job.progress.failed > 0) job.finish('failed', `${job.progress.failed} instance(s) refusée(s) par le PACS ou non importée(s)${missing > 0 ? `, et ${missing} jamais récupérée(s)` : ''}`);
    else if (missing > 0) {
      job.finish('done', `import incomplet : ${rows.length} image(s) sur les ${request.only!.size} de l'examen ; ${missing} n'ont pas été récupérées de la DRIMbox source`);
      deps.log.warn('consumer: incomplete study imported', { job: job.progress.id, study, imported: rows.length, referenced: request.only!.size });
    } else job.finish('done');
  } catch (err) {
    deps.log.error('consumer: import failed', { job: job.progress.id, study, error: err });
    job.finish('failed', "erreur interne pendant l'import");
  } finally {
    unpin();
    if (request.coercion) await rm(workDir, { recursive: true, force: true });
  }
}
