/**
 * Whether a file may be opened and written on the event loop, synchronously, rather than through libuv's thread pool.
 *
 * A write into the page cache takes a few hundred µs for a 0.5 MiB CT slice; a hand-off to the thread pool costs the
 * main thread about as much again (a thread woken, then the callback: ~150 µs each on the benches' guest,
 * test/bench/README.md), twice per instance (open, write), and on one core the thread competes with the reading of
 * the source for that core. But a write can also wait for the disk, when the kernel throttles a writer whose dirty
 * pages outrun it (a slow SD card behind a fast link; Linux's balance_dirty_pages sleeps 10–200 ms at a time): the
 * event loop must not wait with it. So writes are inline while they are fast; one that took longer than `slowMs`
 * sends the next ones to the thread pool for `backoffMs`, then inline writes are tried again. The event loop waits at
 * most one slow write per `backoffMs`. 20 ms: on the benches' guest, a 1 MiB write into the page cache took up to
 * ~12 ms when the pull's process lost its core for a moment; at 5 ms such hiccups sent half a CT's writes to the pool.
 */
export class InlineWriteGate {
  private threadPoolUntil = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly slowMs = 20,
    private readonly backoffMs = 2000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True while inline writes are fast. */
  get inline(): boolean {
    return this.now() >= this.threadPoolUntil;
  }

  /** `work` inline, timed; what it throws is thrown. */
  run<T>(work: () => T): T {
    const start = this.now();
    try {
      return work();
    } finally {
      const took = this.now() - start;
      if (took > this.slowMs) this.threadPoolUntil = this.now() + this.backoffMs;
    }
  }
}
