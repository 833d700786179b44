import type { MemoryBudget } from './types.js';

interface Waiter {
  resolve(room: boolean): void;
  timer: NodeJS.Timeout;
}

/**
 * A budget of bytes, shared by the instances of one retrieve. Past it, an instance may wait up to `waitMs` for the
 * reader to free some (the association is paused meanwhile: flow control, no disk); a wait that runs out marks the
 * budget stalled, and until the reader frees something, the next instances spill to disk without waiting, so a
 * client that stopped reading costs disk, never one wait per instance of the PACS's time.
 */
export class ByteBudget implements MemoryBudget {
  private used = 0;
  private stalled = false;
  private readonly waiters = new Set<Waiter>();

  constructor(
    readonly limitBytes: number,
    readonly waitMs = 0,
  ) {}

  take(bytes: number): boolean {
    if (this.used + bytes > this.limitBytes) return false;
    this.used += bytes;
    return true;
  }

  force(bytes: number): void {
    this.used += bytes;
  }

  /** The reader took `bytes`: the budget is no longer stalled, and waits resume if there is room. */
  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
    this.stalled = false;
    if (this.used >= this.limitBytes) return;
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(true);
    }
    this.waiters.clear();
  }

  /** `bytes` are no longer held, without a reader having taken them (spilled to disk, or dropped). */
  drop(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }

  get canWait(): boolean {
    return this.waitMs > 0 && !this.stalled;
  }

  room(): Promise<boolean> {
    if (this.used < this.limitBytes) return Promise.resolve(true);
    if (!this.canWait) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          this.stalled = true;
          resolve(false);
        }, this.waitMs),
      };
      this.waiters.add(waiter);
    });
  }

  get usedBytes(): number {
    return this.used;
  }
}
