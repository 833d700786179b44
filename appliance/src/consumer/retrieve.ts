import type { KosManifest } from '../dicom/kos/index.js';
import type { Logger } from '../log/logger.js';
import { CacheError, type ImageCache, type StagedInstance, type StoreOptions } from './cache/image-cache.js';
import { waitAdmitted, type Job } from './jobs.js';
import { SeriesAnswer } from './series-answer.js';
import { SourceError, type SourceClient } from './source-client.js';
import { checkRetrieveUrl, type SourcePolicy } from './source-url.js';

/**
 * Pulls the instances a KOS references from the source DRIMbox its Retrieve URLs name, into the image cache.
 * Resumable by construction: what is already cached is never fetched again. A series with nothing cached is asked
 * in one WADO-RS series request (parts not referenced by the KOS are skipped unread); whatever is still missing
 * after it — a series partly cached by an interrupted transfer, or instances the series answer lacked — is asked
 * instance by instance, a few at a time.
 */

export interface RetrieveDeps {
  /** Whether new long work may start (false while the box lets an update through). */
  admits?: () => boolean;
  cache: ImageCache;
  client: SourceClient;
  policy: SourcePolicy;
  log: Logger;
  /** Concurrent instance-level requests to one source. */
  concurrency: number;
  /** One transfer per study at a time (two users opening the same exam share the cache, not the transfer). */
  locks: StudyLocks;
}

export interface RetrieveRequest {
  manifest: KosManifest;
  /** The professional's PSC access token; absent for a CPS card login (a source that requires PSC then refuses). */
  accessToken?: string;
}

/** Serialises work on one study; waiting jobs show as `waiting`. */
export class StudyLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async acquire(studyUid: string, signal: AbortSignal): Promise<() => void> {
    const previous = this.tails.get(studyUid) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(studyUid, tail);
    void tail.then(() => {
      if (this.tails.get(studyUid) === tail) this.tails.delete(studyUid);
    });
    await Promise.race([previous, abortion(signal)]).catch((err: unknown) => {
      release();
      throw err;
    });
    return release;
  }
}

function abortion(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

class Stop extends Error {
  constructor(
    message: string,
    readonly resumable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

interface SeriesPlan {
  seriesUid: string;
  seriesUrl: URL;
  wanted: Set<string>;
}

/** Runs a retrieve job to its end; never throws (the outcome is in the job). */
export async function runRetrieve(job: Job, request: RetrieveRequest, deps: RetrieveDeps): Promise<void> {
  const { manifest } = request;
  const study = manifest.studyInstanceUid;
  const signal = job.controller.signal;
  let release: (() => void) | undefined;
  let unpin: (() => void) | undefined;
  const commits = new Commits(job, deps.cache);
  try {
    release = await deps.locks.acquire(study, signal);
    unpin = deps.cache.pin(study);
    await waitAdmitted(job, deps.admits);
    job.update({ state: 'running' });
    const plans = plan(job, manifest, deps.policy);
    const cached = deps.cache.cachedSops(study);
    let alreadyCached = 0;
    for (const p of plans) for (const sop of p.wanted) if (cached.get(p.seriesUid)?.has(sop)) alreadyCached++;
    job.update({ alreadyCached, done: alreadyCached });

    const missingOf = new Map(plans.map((p) => [p, new Set([...p.wanted].filter((sop) => !cached.get(p.seriesUid)?.has(sop)))]));
    const asked = await firstSlices(job, plans, missingOf, request, deps);
    // Asked whole when nothing of it was cached before this job (the first slice this job just fetched aside).
    const whole = plans.filter((p) => missingOf.get(p)!.size > 0 && missingOf.get(p)!.size + (asked.get(p) ?? 0) === p.wanted.size);
    const ask = (p: SeriesPlan) => new SeriesAnswer(deps.client, { url: p.seriesUrl, accessToken: request.accessToken, kosSopInstanceUid: manifest.sopInstanceUid, signal });
    let ahead: { plan: SeriesPlan; answer: SeriesAnswer } | undefined;
    try {
      for (const p of plans) {
        if (signal.aborted) throw signal.reason;
        commits.check();
        const missing = missingOf.get(p)!;
        if (missing.size === 0) continue;
        job.update({ details: { ...job.progress.details, series: p.seriesUid } });
        const rank = whole.indexOf(p);
        if (rank >= 0) {
          const answer = ahead?.plan === p ? ahead.answer : ask(p);
          ahead = undefined;
          const next = whole[rank + 1];
          // The next series is asked for once this one flows (not before: the first slices and this series' start
          // keep the link to themselves).
          await seriesRequest(job, p, answer, missing, deps, commits, () => void (next && (ahead = { plan: next, answer: ask(next) })));
        }
        if (missing.size > 0) await instanceRequests(job, p, missing, request, deps);
      }
    } finally {
      await ahead?.answer.close();
    }
    await commits.drain();
    deps.cache.touch(study);
    if (job.progress.failed > 0) {
      job.update({ details: { ...job.progress.details, incomplete: `${job.progress.done}/${job.progress.total}`, missing: job.progress.total - job.progress.done } });
      job.finish('failed', `examen incomplet : ${job.progress.failed} instance(s) n'ont pas pu être récupérées (les autres séries l'ont été) ; réessayez plus tard`, true);
    } else job.finish('done');
  } catch (err) {
    // Nothing still written to the cache once the job has ended.
    await commits.drain().catch(() => undefined);
    if (signal.aborted) job.finish('cancelled', 'récupération annulée', true);
    else if (err instanceof Stop) {
      // The professional reads the message; the technician needs its cause (a reset, a framing error, a zlib error…).
      deps.log.warn('consumer: retrieve stopped', { job: job.progress.id, study, reason: err.message, error: err.cause });
      job.finish('failed', err.message, err.resumable);
    } else {
      deps.log.error('consumer: retrieve failed', { job: job.progress.id, study, error: err });
      job.finish('failed', 'erreur interne pendant la récupération', true);
    }
  } finally {
    unpin?.();
    release?.();
  }
}

/** A series at least this long has its middle slice fetched first (a shorter one comes whole about as fast). */
export const FIRST_SLICE_MIN_INSTANCES = 32;

/**
 * The viewer opens on the middle slice of the first series and draws each other series' middle slice as its
 * thumbnail: those are fetched first, one request each, so the first image does not wait for half a series. The
 * first series' slice comes alone on the link; then the thumbnails, several series at once (`concurrency`): one
 * after the other, an MR of 15 series spent two round trips per series before its bulk began.
 *
 * The middle is the viewer's, by Instance Number. The KOS's middle is fetched first: a DRIMbox's KOS lists a series
 * in Instance Number order (dicom/kos/document.ts), so when that slice is numbered as its rank in the KOS (a series
 * numbered 1 to n) it is the viewer's. Only otherwise is the source asked for its QIDO-RS list of the series'
 * instances, and the viewer's middle fetched after. Asking first cost every series of a 1,300-image CT a list on
 * the way: ~0.4 s of C-FIND on a source over DIMSE, ~0.6 s of QIDO on a source over Orthanc's DICOMweb. The series
 * metadata, asked before, cost a source over DIMSE the retrieval of the whole series (1.7 s to the first image of
 * that CT). Only for series with nothing cached yet; returns how many instances of each series were fetched so.
 */
async function firstSlices(job: Job, plans: SeriesPlan[], missingOf: Map<SeriesPlan, Set<string>>, request: RetrieveRequest, deps: RetrieveDeps): Promise<Map<SeriesPlan, number>> {
  const asked = new Map<SeriesPlan, number>();
  const eligible = plans.filter((p) => p.wanted.size >= FIRST_SLICE_MIN_INSTANCES && missingOf.get(p)!.size === p.wanted.size);
  const fetchSlice = async (p: SeriesPlan, sop: string) => {
    asked.set(p, (asked.get(p) ?? 0) + 1);
    // Indexed at once: the viewer shows it then, and the bulk requests wait for these (a batch's timer cost a CT's pull
    // 80–90 ms before its first bulk request, both boxes idle).
    await instanceRequests(job, p, new Set([sop]), request, deps, { indexNow: true });
    missingOf.get(p)!.delete(sop);
  };
  const middleOf = async (p: SeriesPlan) => {
    if (job.controller.signal.aborted) throw job.controller.signal.reason;
    const rank = middleRank(p.wanted.size);
    const guess = [...p.wanted][rank]!;
    await fetchSlice(p, guess);
    const number = deps.cache.instances(job.progress.studyInstanceUid, p.seriesUid, guess)[0]?.instanceNumber;
    if (number === rank + 1) return;
    const wanted = (await viewerOrder(job, p, request, deps))[rank]!;
    if (wanted !== guess) await fetchSlice(p, wanted);
  };
  const [first, ...thumbnails] = eligible;
  if (first) await middleOf(first);
  await eachAtMost(thumbnails, deps.concurrency, middleOf);
  return asked;
}

/** The rank of the slice the viewer opens on in a stack of `count` (ui/viewer/study-model.ts initialIndex). */
function middleRank(count: number): number {
  return Math.floor((count - 1) / 2);
}

const INSTANCE_LIST_MAX_BYTES = 64 * 1024 * 1024;
const INSTANCE_LIST_TIMEOUT_MS = 3_000;

/** The series' wanted instances as the viewer stacks them: by Instance Number, then SOP Instance UID. */
async function viewerOrder(job: Job, p: SeriesPlan, request: RetrieveRequest, deps: RetrieveDeps): Promise<string[]> {
  const kosOrder = [...p.wanted];
  if (!deps.client.seriesInstances) return kosOrder;
  const signal = AbortSignal.any([job.controller.signal, AbortSignal.timeout(INSTANCE_LIST_TIMEOUT_MS)]);
  try {
    const items = await deps.client.seriesInstances({ url: p.seriesUrl, accessToken: request.accessToken, kosSopInstanceUid: request.manifest.sopInstanceUid, signal }, INSTANCE_LIST_MAX_BYTES);
    const numberOf = new Map<string, number>();
    for (const item of items) {
      const ds = item as Record<string, { Value?: unknown[] } | undefined>;
      const sop = ds['00080018']?.Value?.[0];
      const n = Number(ds['00200013']?.Value?.[0]);
      if (typeof sop === 'string' && Number.isFinite(n)) numberOf.set(sop, n);
    }
    return kosOrder.sort((a, b) => (numberOf.get(a) ?? Infinity) - (numberOf.get(b) ?? Infinity) || a.localeCompare(b));
  } catch (err) {
    if (job.controller.signal.aborted) throw job.controller.signal.reason;
    deps.log.warn('consumer: series instance list unavailable, first slice taken in the KOS order', { series: p.seriesUid, error: err });
    return kosOrder;
  }
}

/** Checks every series' Retrieve URL first: a series whose source is not allowed fails all its instances. */
function plan(job: Job, manifest: KosManifest, policy: SourcePolicy): SeriesPlan[] {
  const plans: SeriesPlan[] = [];
  const sources = new Set<string>();
  for (const s of manifest.series) {
    if (s.studyInstanceUid && s.studyInstanceUid !== manifest.studyInstanceUid) {
      for (const i of s.instances) job.fail({ sopInstanceUid: i.sopInstanceUid, reason: "série d'un autre examen que celui du KOS" });
      continue;
    }
    const check = checkRetrieveUrl(s.retrieveUrl, manifest.studyInstanceUid, s.seriesInstanceUid, policy);
    if (!check.ok) {
      for (const i of s.instances) job.fail({ sopInstanceUid: i.sopInstanceUid, reason: check.reason });
      continue;
    }
    sources.add(check.source);
    plans.push({ seriesUid: s.seriesInstanceUid, seriesUrl: check.seriesUrl, wanted: new Set(s.instances.map((i) => i.sopInstanceUid)) });
  }
  job.update({ details: { ...job.progress.details, source: [...sources].join(', ') } });
  if (plans.length === 0) throw new Stop(job.progress.failures[0]?.reason ?? 'le KOS ne référence aucune image récupérable', false);
  return plans;
}

/** What a refused or failed commit means for the job: the instance failed, or the whole transfer stops. */
function commitOutcome(job: Job, sop: string, err: unknown): Stop | undefined {
  if (err instanceof CacheError && err.kind === 'refused') {
    job.fail({ sopInstanceUid: sop, reason: err.message });
    return undefined;
  }
  if (err instanceof CacheError) return new Stop(`cache d'images plein : ${err.message}`, false, { cause: err });
  throw err;
}

function counted(job: Job, bytes: number): void {
  job.update({ transferred: job.progress.transferred + 1, done: job.progress.done + 1, bytes: job.progress.bytes + bytes });
}

async function storePart(job: Job, p: SeriesPlan, sop: string, body: AsyncIterable<Uint8Array>, deps: RetrieveDeps, options: StoreOptions): Promise<void> {
  try {
    const { bytes } = await deps.cache.store({ studyUid: job.progress.studyInstanceUid, seriesUid: p.seriesUid, sopInstanceUid: sop }, body, options);
    counted(job, bytes);
  } catch (err) {
    const stop = commitOutcome(job, sop, err);
    if (stop) throw stop;
  }
}

/**
 * Received instances still being checked, placed and indexed at once, while the next one streams in. As many as
 * the image cache puts in one index batch: with fewer, the reader waited for the batch timer at every few
 * instances (8 capped a pull near 40 MB/s). Each holds a file on disk and a few KB, not the bytes.
 */
const COMMITS_AHEAD = 64;

/**
 * The commits of a job's series answers: each received part is committed while the reader goes on to the next, so
 * the connection never waits for the disk or the index, nor does the next series' request wait for the last
 * commits of the previous series (they waited for the index batch's timer: the link idled 18–95 ms between the two
 * series of test/bench's CT, and an MR has a dozen series or more). At most COMMITS_AHEAD wait; a commit that must
 * stop the transfer (cache full, an unexpected error) is kept and thrown by `check` or `drain`.
 */
class Commits {
  private readonly running = new Set<Promise<void>>();
  private stop: { error: unknown } | undefined;

  constructor(
    private readonly job: Job,
    private readonly cache: ImageCache,
  ) {}

  async add(sop: string, staged: StagedInstance): Promise<void> {
    const run = staged.commit().then(
      ({ bytes }) => counted(this.job, bytes),
      (err: unknown) => {
        try {
          const stop = commitOutcome(this.job, sop, err);
          if (stop) this.stop ??= { error: stop };
        } catch (error) {
          this.stop ??= { error };
        }
      },
    );
    const tracked = run.finally(() => this.running.delete(tracked));
    this.running.add(tracked);
    while (this.running.size >= COMMITS_AHEAD) await Promise.race(this.running);
    this.check();
  }

  check(): void {
    if (this.stop) throw this.stop.error;
  }

  /** Waits for every commit, indexed without waiting for a batch (nothing more is received); throws what stopped one. */
  async drain(): Promise<void> {
    const done = this.cache.indexAtOnce();
    try {
      while (this.running.size) await Promise.all(this.running);
    } finally {
      done();
    }
    this.check();
  }
}

/**
 * The source answered this request with a server error (its PACS could not give that instance, a transcoding
 * failed): a failure of what was asked, not of the source. A source that does not answer at all, or refuses the
 * professional (401/403) or asks to slow down (429), stops the whole transfer instead.
 */
function answeredFailure(err: SourceError): boolean {
  return err.kind === 'unavailable' && err.status !== undefined && err.status >= 500 && err.status !== 503;
}

function stopFor(err: unknown): Stop | undefined {
  if (!(err instanceof SourceError)) return undefined;
  return new Stop(err.message, err.kind !== 'forbidden', { cause: err });
}

/**
 * The parts of the series' answer (closed here) are committed through `commits`, which the caller drains; `flowing`
 * is called at the first part. What the cache receives it gives back once on disk (image-cache.ts writeStream).
 */
async function seriesRequest(job: Job, p: SeriesPlan, answer: SeriesAnswer, missing: Set<string>, deps: RetrieveDeps, commits: Commits, flowing: () => void): Promise<void> {
  try {
    for (let next = await answer.next(), first = true; !next.done; next = await answer.next(), first = false) {
      if (first) flowing();
      const part = next.value;
      const sop = part.sopInstanceUid;
      // Not referenced by the KOS, or already here: skipped unread (the reader discards it).
      if (!sop || !missing.has(sop)) continue;
      missing.delete(sop);
      let staged: StagedInstance;
      try {
        staged = await deps.cache.receive({ studyUid: job.progress.studyInstanceUid, seriesUid: p.seriesUid, sopInstanceUid: sop }, part.body);
      } catch (err) {
        const stop = commitOutcome(job, sop, err);
        if (stop) throw stop;
        continue;
      }
      await commits.add(sop, staged);
    }
  } catch (err) {
    // A series the source cannot serve whole may still be served instance by instance (an answer cut mid-stream,
    // a 5xx for the series: one bad instance must not cost the others).
    if (err instanceof SourceError && (err.kind === 'not-found' || err.kind === 'protocol' || answeredFailure(err))) {
      deps.log.warn('consumer: series retrieval refused, trying instance by instance', { series: p.seriesUid, error: err });
      return;
    }
    throw stopFor(err) ?? err;
  } finally {
    await answer.close();
  }
}

async function instanceRequests(job: Job, p: SeriesPlan, missing: Set<string>, request: RetrieveRequest, deps: RetrieveDeps, options: StoreOptions = {}): Promise<void> {
  const one = async (sop: string) => {
    try {
      let got = false;
      for await (const part of deps.client.retrieve({
        url: new URL(`${p.seriesUrl.href}/instances/${sop}`),
        accessToken: request.accessToken,
        kosSopInstanceUid: request.manifest.sopInstanceUid,
        signal: job.controller.signal,
      })) {
        if (part.sopInstanceUid !== sop || got) continue;
        got = true;
        await storePart(job, p, sop, part.body, deps, options);
      }
      if (!got) job.fail({ sopInstanceUid: sop, reason: "la DRIMbox source n'a pas envoyé cette instance" });
      missing.delete(sop);
    } catch (err) {
      if (err instanceof SourceError && (err.kind === 'not-found' || err.kind === 'protocol' || answeredFailure(err))) {
        // This instance only: the source answered for it (absent, unservable, refused by its PACS).
        job.fail({ sopInstanceUid: sop, reason: err.kind === 'not-found' ? 'instance absente de la DRIMbox source' : err.message });
        missing.delete(sop);
        return;
      }
      throw stopFor(err) ?? err;
    }
  };
  await eachAtMost([...missing], deps.concurrency, one, () => job.controller.signal.aborted);
}

/**
 * `work` on each item, at most `limit` at a time, in order. After a failure (or once `stopped()`) no item is started;
 * the first failure is thrown once the items under way have ended, so that none still writes to the cache.
 */
async function eachAtMost<T>(items: T[], limit: number, work: (item: T) => Promise<void>, stopped: () => boolean = () => false): Promise<void> {
  const queue = [...items];
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (queue.length && !failure && !stopped()) await work(queue.shift()!).catch((error: unknown) => void (failure ??= { error }));
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, queue.length)) }, worker));
  if (failure) throw failure.error;
}
