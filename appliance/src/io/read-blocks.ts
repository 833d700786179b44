import type { BlockPool } from './block-pool.js';

/** What a closed socket is given to read into: nothing is read once it is closed. */
const AFTER_CLOSE = Buffer.alloc(1);

/**
 * The blocks a socket reads into (`onread` with a buffer function, called for each read), taken from a pool. A reader
 * that keeps a view of what was just read — a relay queuing it for its client instead of copying it — holds the block:
 * a held block is not read into again, the next read takes another, and it goes back to the pool once its last hold
 * is released. A block nobody holds is read into again at once, as a single reused buffer would be.
 */
export class ReadBlocks {
  private current: Buffer | undefined;
  /** How far the current block was written since it was taken (the longest read into it). */
  private written = 0;
  private readonly holds = new Map<Buffer, { count: number; written: number }>();
  private closed = false;

  constructor(private readonly pool: BlockPool) {}

  /** The block the next read goes into (the `onread.buffer` function). */
  next(): Buffer {
    if (this.closed) return AFTER_CLOSE;
    if (!this.current || this.holds.has(this.current)) {
      if (this.current) this.holds.get(this.current)!.written = this.written;
      this.current = this.pool.take();
      this.written = 0;
    }
    return this.current;
  }

  /** A read of `bytes` into the current block. */
  read(bytes: number): void {
    if (bytes > this.written) this.written = bytes;
  }

  /** Holds the block last read into (call while handling its bytes). Returns the release, which acts once. */
  hold(): () => void {
    const block = this.current;
    if (!block) throw new Error('no block was read into yet');
    let hold = this.holds.get(block);
    if (!hold) this.holds.set(block, (hold = { count: 0, written: 0 }));
    hold.count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--hold.count > 0) return;
      this.holds.delete(block);
      if (block !== this.current) this.pool.give(block, hold.written);
      else if (this.closed) this.give();
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
