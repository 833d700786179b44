import { randomBytes } from 'node:crypto';

/**
 * Long-running work of the portal (pulling a study into the cache, importing it into the PACS) as job objects
 * with live progress. A job belongs to the session that started it and is visible to that session only. The
 * registry is an instance owned by the consumer service: no job, no patient data, is held at module level.
 */

export type JobKind = 'retrieve' | 'import';
export type JobState = 'waiting' | 'running' | 'done' | 'failed' | 'cancelled';

export interface JobFailure {
  sopInstanceUid?: string;
  reason: string;
}

export interface JobProgress {
  id: string;
  kind: JobKind;
  state: JobState;
  studyInstanceUid: string;
  /** Instances the job is about (referenced by the KOS, or cached for an import). */
  total: number;
  /** Instances dealt with: in the cache already or fetched (retrieve), stored or refused (import). */
  done: number;
  /** Retrieve: instances found in the cache when the job started. */
  alreadyCached: number;
  /** Retrieve: instances fetched from the source; import: instances the PACS took. */
  transferred: number;
  bytes: number;
  failed: number;
  /** The first failures, each with its reason (all are counted in `failed`). */
  failures: JobFailure[];
  /** Why the job failed, in words for the user. */
  message?: string;
  /** A failed retrieve can be resumed: instances already cached are not fetched again. */
  resumable: boolean;
  startedAt: string;
  finishedAt?: string;
  /** Extra facts of the job for the page (the source host, the PACS, whether IDs were coerced). */
  details: Record<string, string | number | boolean>;
}

const MAX_LISTED_FAILURES = 200;
const NOTIFY_EVERY_MS = 200;

type Listener = (progress: JobProgress) => void;

export class Job {
  readonly controller = new AbortController();
  private readonly listeners = new Set<Listener>();
  private lastNotified = 0;
  private pendingNotify: NodeJS.Timeout | undefined;
  private readonly finishedWaiters: (() => void)[] = [];

  constructor(
    readonly owner: string,
    readonly progress: JobProgress,
  ) {}

  get finished(): boolean {
    return this.progress.state === 'done' || this.progress.state === 'failed' || this.progress.state === 'cancelled';
  }

  update(patch: Partial<Omit<JobProgress, 'id' | 'kind' | 'studyInstanceUid' | 'failures'>>): void {
    Object.assign(this.progress, patch);
    this.notify(false);
  }

  fail(failure: JobFailure): void {
    this.progress.failed++;
    if (this.progress.failures.length < MAX_LISTED_FAILURES) this.progress.failures.push(failure);
    this.notify(false);
  }

  finish(state: 'done' | 'failed' | 'cancelled', message?: string, resumable = false): void {
    this.progress.state = state;
    this.progress.finishedAt = new Date().toISOString();
    this.progress.resumable = resumable;
    if (message !== undefined) this.progress.message = message;
    this.notify(true);
    for (const w of this.finishedWaiters.splice(0)) w();
  }

  whenFinished(): Promise<void> {
    return this.finished ? Promise.resolve() : new Promise((resolve) => this.finishedWaiters.push(resolve));
  }

  snapshot(): JobProgress {
    return { ...this.progress, failures: [...this.progress.failures], details: { ...this.progress.details } };
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Listeners hear at most every 200 ms, and always the final state. */
  private notify(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastNotified < NOTIFY_EVERY_MS) {
      this.pendingNotify ??= setTimeout(() => {
        this.pendingNotify = undefined;
        this.notify(true);
      }, NOTIFY_EVERY_MS);
      return;
    }
    if (this.pendingNotify) {
      clearTimeout(this.pendingNotify);
      this.pendingNotify = undefined;
    }
    this.lastNotified = now;
    const snapshot = this.snapshot();
    for (const l of this.listeners) {
      try {
        l(snapshot);
      } catch {
        // a listener's failure (a closed event stream) is not the job's
      }
    }
  }
}

export interface JobRegistryOptions {
  /** Finished jobs are kept this long for their page. */
  retentionMs?: number;
  maxJobsPerOwner?: number;
}

export class JobRegistry {
  private readonly jobs = new Map<string, Job>();
  private readonly retentionMs: number;
  private readonly maxJobsPerOwner: number;

  constructor(options: JobRegistryOptions = {}) {
    this.retentionMs = options.retentionMs ?? 6 * 3600_000;
    this.maxJobsPerOwner = options.maxJobsPerOwner ?? 50;
  }

  create(owner: string, kind: JobKind, studyInstanceUid: string, total: number, details: JobProgress['details'] = {}): Job {
    this.prune(owner);
    const id = randomBytes(16).toString('base64url');
    const job = new Job(owner, {
      id,
      kind,
      state: 'waiting',
      studyInstanceUid,
      total,
      done: 0,
      alreadyCached: 0,
      transferred: 0,
      bytes: 0,
      failed: 0,
      failures: [],
      resumable: false,
      startedAt: new Date().toISOString(),
      details,
    });
    this.jobs.set(id, job);
    return job;
  }

  /** The job, only for the session that owns it. */
  get(id: string, owner: string): Job | undefined {
    const job = this.jobs.get(id);
    return job && job.owner === owner ? job : undefined;
  }

  /** The owner's jobs, most recent first. */
  list(owner: string): Job[] {
    return [...this.jobs.values()].filter((j) => j.owner === owner).reverse();
  }

  /** Jobs transferring now (the update lock is held while this is not zero); waiting ones hold nothing. */
  active(): number {
    return [...this.jobs.values()].filter((j) => !j.finished && j.progress.state === 'running').length;
  }

  /** Stops every job of an owner (logout). */
  cancelOwner(owner: string): void {
    for (const job of this.jobs.values()) if (job.owner === owner && !job.finished) job.controller.abort(new Error('session ended'));
  }

  cancelAll(): void {
    for (const job of this.jobs.values()) if (!job.finished) job.controller.abort(new Error('box stopping'));
  }

  private prune(owner: string): void {
    const cutoff = Date.now() - this.retentionMs;
    for (const [id, job] of this.jobs) {
      if (job.finished && Date.parse(job.progress.finishedAt ?? job.progress.startedAt) < cutoff) this.jobs.delete(id);
    }
    const mine = this.list(owner).filter((j) => j.finished);
    for (const job of mine.slice(this.maxJobsPerOwner - 1)) this.jobs.delete(job.progress.id);
  }
}

const ADMISSION_POLL_MS = 1000;

/** Waits until the box admits new long work (it lets an update through first), or the job is cancelled. */
export async function waitAdmitted(job: Job, admits: (() => boolean) | undefined): Promise<void> {
  if (!admits || admits()) return;
  job.update({ message: 'mise à jour du boîtier en cours : le transfert commencera juste après' });
  const signal = job.controller.signal;
  while (!admits()) {
    if (signal.aborted) throw signal.reason;
    await new Promise((r) => setTimeout(r, ADMISSION_POLL_MS));
  }
  job.update({ message: undefined });
}
