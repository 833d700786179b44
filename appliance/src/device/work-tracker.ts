/**
 * The long work in flight on the box — image streams, pulls, imports, DMP submissions, migrations, configuration
 * writes — counted in one place: the update lock is held while it is not zero, and a graceful stop waits for it.
 */
export type WorkKind = 'wado-stream' | 'pull' | 'import' | 'dmp-submission' | 'report' | 'migration' | 'config-write';

export class WorkTracker {
  private readonly running = new Map<WorkKind, number>();
  private readonly sources = new Map<WorkKind, () => number>();
  /** While false, new long work waits (an update is let through once in-flight work ends). */
  private admitting = true;
  private readonly onBegin = new Set<() => void>();

  /** Called as work starts (the update lock is taken at once, not at its next tick). */
  whenWorkBegins(listener: () => void): void {
    this.onBegin.add(listener);
  }

  /** A component that counts its own work (the outbox drainer, the consumer's jobs). */
  register(kind: WorkKind, count: () => number): void {
    this.sources.set(kind, count);
  }

  /** Starts one piece of work; the returned function ends it (once, whatever the number of calls). */
  begin(kind: WorkKind): () => void {
    this.running.set(kind, (this.running.get(kind) ?? 0) + 1);
    for (const listener of this.onBegin) listener();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.running.set(kind, (this.running.get(kind) ?? 1) - 1);
    };
  }

  /** Runs `work` counted as `kind`. */
  async during<T>(kind: WorkKind, work: () => Promise<T>): Promise<T> {
    const end = this.begin(kind);
    try {
      return await work();
    } finally {
      end();
    }
  }

  byKind(): Partial<Record<WorkKind, number>> {
    const out: Partial<Record<WorkKind, number>> = {};
    for (const [kind, n] of this.running) if (n > 0) out[kind] = n;
    for (const [kind, count] of this.sources) {
      const n = count();
      if (n > 0) out[kind] = (out[kind] ?? 0) + n;
    }
    return out;
  }

  busy(): number {
    return Object.values(this.byKind()).reduce((a, b) => a + b, 0);
  }

  /** Whether new long work may start now. */
  admits(): boolean {
    return this.admitting;
  }

  setAdmitting(admitting: boolean): void {
    this.admitting = admitting;
  }
}
