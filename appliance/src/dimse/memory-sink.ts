import type { HeldBytes, MemoryBudget } from './types.js';
import { BlockPool } from '../io/block-pool.js';
import { encodeFileMeta, type FileMeta } from './part10.js';
import { FileSink, type StoreDecision, type StoreSink } from './sink.js';

/**
 * Keeps an instance's Part-10 bytes in memory while the retrieve's budget allows, and moves them to a FileSink
 * the moment it does not (what was held is written first, then the rest as it comes): the instance then ends as
 * a file, as if it had been written there from the start. A budget that can wait (ByteBudget) is waited on first:
 * the instance is held past it while the association is paused, and spilled only if no room comes. Held bytes are
 * copied into pooled blocks (io/block-pool.ts): the socket's read buffer is reused, and nothing the collector must
 * reclaim is kept for long. The budget counts the instance's bytes; its last block may be partly empty.
 */

/** The pool of held instances: 64 KiB blocks (the size of a write to the client), up to 2 MiB kept free. */
const heldInstanceBlocks = new BlockPool(64 * 1024, 32);

export class MemoryFirstSink implements StoreSink {
  private blocks: Buffer[] = [];
  /** Bytes used in the last block. */
  private filled = 0;
  private heldBytes = 0;
  private readonly metaBytes: number;
  private file: FileSink | undefined;
  /** Over budget, waiting for room; the sink spills if none comes. */
  private waiting: Promise<void> | undefined;
  private destroyed = false;

  constructor(
    private readonly meta: FileMeta,
    private readonly dir: string,
    private readonly budget: MemoryBudget,
    private readonly pool: BlockPool = heldInstanceBlocks,
  ) {
    const header = encodeFileMeta(meta);
    this.metaBytes = header.length;
    this.write(header);
  }

  write(chunk: Buffer): boolean {
    if (this.file) return this.file.write(chunk);
    if (!this.waiting && this.budget.take(chunk.length)) {
      this.hold(chunk);
      return true;
    }
    if (!this.waiting && !this.budget.canWait) {
      this.file = this.spill();
      return this.file.write(chunk);
    }
    // What the paused association still delivers (the rest of a read) is held past the budget while waiting.
    this.budget.force(chunk.length);
    this.hold(chunk);
    this.waiting ??= this.budget.room().then((room) => {
      this.waiting = undefined;
      if (!room && !this.destroyed) this.file ??= this.spill();
    });
    return false;
  }

  drained(): Promise<void> {
    return this.waiting ?? (this.file ? this.file.drained() : Promise.resolve());
  }

  async end(): Promise<StoreDecision> {
    if (this.waiting) await this.waiting;
    if (this.file) return this.file.end();
    const { sopClassUid, sopInstanceUid, transferSyntaxUid } = this.meta;
    return { instance: { sopClassUid, sopInstanceUid, transferSyntaxUid, path: '', bytes: this.heldBytes, held: this.handOver() } };
  }

  destroy(): void {
    this.destroyed = true;
    this.file?.destroy();
    this.dropHeld();
  }

  private hold(chunk: Buffer): void {
    for (let at = 0; at < chunk.length; ) {
      let block = this.blocks[this.blocks.length - 1];
      if (!block || this.filled === block.length) {
        block = this.pool.take();
        this.blocks.push(block);
        this.filled = 0;
      }
      const copied = chunk.copy(block, this.filled, at);
      this.filled += copied;
      at += copied;
    }
    this.heldBytes += chunk.length;
  }

  /** The held bytes, as views of the blocks. */
  private views(): Buffer[] {
    const last = this.blocks.length - 1;
    return this.blocks.map((block, i) => (i === last ? block.subarray(0, this.filled) : block));
  }

  /** Over budget: what is held goes to a file (the FileSink writes the File Meta header itself), the rest follows. */
  private spill(): FileSink {
    const file = new FileSink(this.meta, this.dir);
    let skip = this.metaBytes;
    for (const view of this.views()) {
      if (skip < view.length) file.write(view.subarray(skip));
      skip = Math.max(0, skip - view.length);
    }
    this.dropHeld();
    return file;
  }

  private handOver(): HeldBytes {
    const blocks = this.blocks;
    const bytes = this.heldBytes;
    const chunks = this.views();
    this.blocks = [];
    this.heldBytes = 0;
    let released = false;
    let lent = false;
    return {
      chunks,
      get released() {
        return released;
      },
      release: () => {
        if (released) return;
        released = true;
        this.release(lent ? [] : blocks, bytes, true);
      },
      lend: () => {
        if (released || lent) throw new Error('held bytes lent twice, or after their release');
        lent = true;
        return chunks.map((chunk, i) => {
          let given = false;
          const giveBack = () => {
            if (given) return;
            given = true;
            this.pool.give(blocks[i]!);
          };
          return { chunk, giveBack };
        });
      },
    };
  }

  /** What is held goes back unread (spilled to disk, or the instance dropped). */
  private dropHeld(): void {
    this.release(this.blocks, this.heldBytes, false);
    this.blocks = [];
    this.heldBytes = 0;
  }

  /** `read`: the reader took the bytes (the budget's waits resume), rather than a spill or an abort dropping them. */
  private release(blocks: Buffer[], bytes: number, read: boolean): void {
    for (const block of blocks) this.pool.give(block);
    if (read) this.budget.give(bytes);
    else this.budget.drop(bytes);
  }
}
