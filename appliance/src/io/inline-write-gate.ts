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
 * calls are fast: a call slower than `slowMs` plus its bytes at `minBytesPerMs`, when another was within the
 * `withinCalls` calls before it, sends the next ones to the thread pool for `backoffMs`; then inline calls are tried
 * again.
 *
 * One slow call alone is not enough: a process that loses its core for a scheduler tick (4 ms) to a kernel thread
 * makes whatever call it was in look slow. On a pull pinned to one core, 2–5 such calls per 685 MB study each sent
 * the next second of writes to the pool, where every hand-off is a context switch on that core: the pull's threads
 * other than the main one used 410–560 ms of CPU per study against 180–240 ms when two slow calls were needed
 * (4 alternated pulls each, test/bench/consumer-import-bench.ts). A disk or memory that is slow makes every write
 * slow, and the second one within a few calls sends the rest to the pool.
 */
export class InlineWriteGate {
  private threadPoolUntil = Number.NEGATIVE_INFINITY;
  /** Calls since the last slow one that sent nothing to the pool; none yet: infinite. */
  private sinceSlow = Number.POSITIVE_INFINITY;

  constructor(
    private readonly slowMs = 2,
    /** 256 MB/s: a page-cache write is several times faster; a disk-bound one, or one that faults, is not. */
    private readonly minBytesPerMs = 256 * 1024,
    private readonly backoffMs = 1000,
    private readonly now: () => number = () => performance.now(),
    /** The open and the write of two instances. */
    private readonly withinCalls = 4,
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
      if (took <= this.slowMs + bytes / this.minBytesPerMs) this.sinceSlow++;
      else if (this.sinceSlow < this.withinCalls) {
        this.threadPoolUntil = this.now() + this.backoffMs;
        this.sinceSlow = Number.POSITIVE_INFINITY;
      } else this.sinceSlow = 0;
    }
  }
}
