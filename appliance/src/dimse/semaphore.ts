import { PacsError } from './types.js';

/** Counts associations to one PACS: at most `limit` at once; callers beyond wait in FIFO order. */
export class Semaphore {
  private active = 0;
  private readonly queue: { grant: () => void; reject: (error: PacsError) => void }[] = [];

  constructor(
    private readonly limit: number,
    private readonly what: string,
  ) {}

  get inUse(): number {
    return this.active;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Resolves with a release function (idempotent) once a slot is free; rejects if the signal aborts first. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new PacsError('cancelled', `cancelled while waiting for a free association to ${this.what}`));
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.releaser());
        },
        reject,
      };
      const onAbort = () => {
        const index = this.queue.indexOf(entry);
        if (index >= 0) this.queue.splice(index, 1);
        reject(new PacsError('cancelled', `cancelled while waiting for a free association to ${this.what}`));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(entry);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) next.grant();
      else this.active--;
    };
  }
}
