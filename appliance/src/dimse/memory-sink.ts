import type { HeldBytes, MemoryBudget } from './types.js';
import { encodeFileMeta, type FileMeta } from './part10.js';
import { FileSink, type StoreDecision, type StoreSink } from './sink.js';

/** A budget of bytes, shared by the instances of one retrieve. */
export class ByteBudget implements MemoryBudget {
  private used = 0;
  constructor(readonly limitBytes: number) {}

  take(bytes: number): boolean {
    if (this.used + bytes > this.limitBytes) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }

  get usedBytes(): number {
    return this.used;
  }
}

/**
 * Keeps an instance's Part-10 bytes in memory while the retrieve's budget allows, and moves them to a FileSink
 * the moment it does not (what was held is written first, then the rest as it comes): the instance then ends as
 * a file, as if it had been written there from the start.
 */
export class MemoryFirstSink implements StoreSink {
  private chunks: Buffer[] = [];
  private heldBytes = 0;
  private file: FileSink | undefined;

  constructor(
    private readonly meta: FileMeta,
    private readonly dir: string,
    private readonly budget: MemoryBudget,
  ) {
    this.write(encodeFileMeta(meta));
  }

  write(chunk: Buffer): boolean {
    if (!this.file && this.budget.take(chunk.length)) {
      this.chunks.push(chunk);
      this.heldBytes += chunk.length;
      return true;
    }
    this.file ??= this.spill();
    return this.file.write(chunk);
  }

  drained(): Promise<void> {
    return this.file ? this.file.drained() : Promise.resolve();
  }

  async end(): Promise<StoreDecision> {
    if (this.file) return this.file.end();
    const { sopClassUid, sopInstanceUid, transferSyntaxUid } = this.meta;
    return { instance: { sopClassUid, sopInstanceUid, transferSyntaxUid, path: '', bytes: this.heldBytes, held: this.handOver() } };
  }

  destroy(): void {
    this.file?.destroy();
    this.release();
  }

  /** Over budget: what is held goes to a file (the FileSink writes the File Meta header itself), the rest follows. */
  private spill(): FileSink {
    const file = new FileSink(this.meta, this.dir);
    for (const chunk of this.chunks.slice(1)) file.write(chunk);
    this.chunks = [];
    this.release();
    return file;
  }

  private handOver(): HeldBytes {
    const chunks = this.chunks;
    this.chunks = [];
    return { chunks, release: () => this.release() };
  }

  private release(): void {
    this.budget.give(this.heldBytes);
    this.heldBytes = 0;
  }
}
