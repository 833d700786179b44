import type { BlockPool } from './block-pool.js';

/** What a closed socket is given to read into: nothing is read once it is closed. */
const AFTER_CLOSE = Buffer.alloc(1);

/**
 * The blocks a socket reads into (`onread` with a buffer function, called for each read), taken from a pool. A reader
 * that keeps a view of what was just read — a relay queuing it for its client, a pull queuing it for the disk — holds
 * it: what a hold covers is never read into again. The next read goes after it in the same block while at least
 * `minRead` bytes remain there (a TLS read is one record, 16 KiB at most: a block each would waste most of it), else
 * into another block; a block goes back to the pool once its last hold is released. A block nobody holds is read
 * into again from its start, as a single reused buffer would be.
 */
export class ReadBlocks {
  private current: Buffer | undefined;
  /** Where the last read into the current block started, and how far the block was written since it was taken. */
  private readAt = 0;
  private lastRead = 0;
  private written = 0;
  /** The end of the held bytes of the current block (0 when none is held). */
  private heldEnd = 0;
  private readonly holds = new Map<Buffer, { count: number; written: number }>();
  private closed = false;

  constructor(
    private readonly pool: BlockPool,
    private readonly minRead = pool.blockBytes / 8,
  ) {}

  /** Where the next read goes (the `onread.buffer` function). */
  next(): Buffer {
    if (this.closed) return AFTER_CLOSE;
    if (this.current && this.heldEnd > 0 && this.current.length - this.heldEnd < this.minRead) {
      this.holds.get(this.current)!.written = this.written;
      this.current = undefined;
    }
    if (!this.current) {
      this.current = this.pool.take();
      this.written = 0;
      this.heldEnd = 0;
    }
    this.readAt = this.heldEnd;
    this.lastRead = 0;
    return this.readAt === 0 ? this.current : this.current.subarray(this.readAt);
  }

  /** A read of `bytes` into what `next()` gave last. */
  read(bytes: number): void {
    this.lastRead = bytes;
    if (this.readAt + bytes > this.written) this.written = this.readAt + bytes;
  }

  /** Holds the bytes last read (call while handling them). Returns the release, which acts once. */
  hold(): () => void {
    const block = this.current;
    if (!block) throw new Error('no block was read into yet');
    let hold = this.holds.get(block);
    if (!hold) this.holds.set(block, (hold = { count: 0, written: 0 }));
    hold.count++;
    this.heldEnd = Math.max(this.heldEnd, this.readAt + this.lastRead);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--hold.count > 0) return;
      this.holds.delete(block);
      if (block !== this.current) this.pool.give(block, hold.written);
      else if (this.closed) this.give();
      else this.heldEnd = 0;
    };
  }

  /** No more reads: the current block goes back to the pool now, or when its last hold is released. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.current && !this.holds.has(this.current)) this.give();
  }

  private give(): void {
    this.pool.give(this.current!, this.written);
    this.current = undefined;
  }
}
