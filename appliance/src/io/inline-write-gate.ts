/**
 * Whether a file may be opened and written on the event loop, synchronously, rather than through libuv's thread pool.
 *
 * A write into the page cache takes a few hundred µs for a 0.5 MiB CT slice; a hand-off to the thread pool costs the
 * main thread about as much again (a thread woken, then the callback: ~150 µs each on the benches' guest,
 * test/bench/README.md), twice per instance (open, write), and on one core the thread competes with the reading of
 * the source for that core. But a write can also wait: for the disk, when the kernel throttles a writer whose dirty
 * pages outrun it (a slow SD card behind a fast link; Linux's balance_dirty_pages sleeps 10–200 ms at a time), or for
 * memory (on the benches' guest, late in a CT's pull, 1 MiB writes took 15–120 ms each). Waiting inline, the event
 * loop reads nothing meanwhile and the source stalls; in the pool, the reading goes on. So a call is inline while
 * calls are fast: one slower than `slowMs` plus its bytes at `minBytesPerMs` sends the next ones to the thread pool
 * for `backoffMs`, then inline calls are tried again. A call sent to the pool by a hiccup (the process losing its core
 * for a few ms) costs no more than the pool did before.
 */
export class InlineWriteGate {
  private threadPoolUntil = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly slowMs = 2,
    /** 256 MB/s: a page-cache write is several times faster; a disk-bound one, or one that faults, is not. */
    private readonly minBytesPerMs = 256 * 1024,
    private readonly backoffMs = 1000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True while inline calls are fast. */
  get inline(): boolean {
    return this.now() >= this.threadPoolUntil;
  }

  /** `work` inline, timed against what `bytes` may take; what it throws is thrown. */
  run<T>(work: () => T, bytes = 0): T {
    const start = this.now();
    try {
      return work();
    } finally {
      const took = this.now() - start;
      if (took > this.slowMs + bytes / this.minBytesPerMs) this.threadPoolUntil = this.now() + this.backoffMs;
    }
  }
}
