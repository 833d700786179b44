/** What a given-back block is stamped with: not 0, which a stale view of zero padding or background would not notice. */
export const POISON = 0xa5;
/** Spans up to this long are stamped whole. */
const FULL_POISON_BYTES = 4096;
/** Past FULL_POISON_BYTES, one byte stamped in every POISON_STRIDE. */
export const POISON_STRIDE = 1024;

/**
 * Fixed-size blocks of memory, reused (io/: byte plumbing shared by the protocol layers). Instances a DIMSE retrieve
 * holds between the PACS and the client, and the DICOMweb relay's part headers, are copied into them rather than kept
 * as the socket's read buffers; the PACS's DICOMweb answers are read into them (read-blocks.ts). Held for
 * milliseconds to seconds, Node's read buffers outlived the young generation and were promoted, and V8 then ran a full
 * mark-compact every ~14 MB of image data (50 per 685 MB study, a third of the box's CPU on the DIMSE path); pooled
 * blocks are allocated once and never collected.
 *
 * A block given back is stamped where it was written before it can serve again: a reader that kept a view past its
 * release (a bug) sees the stamp in what it reads, not the bytes it had. Only until the block is taken again, which on
 * a busy box is within milliseconds: it makes such a bug show in tests, it does not contain it in service. A small
 * span is stamped whole; a larger one at its last byte and one byte in every POISON_STRIDE, so any view of
 * POISON_STRIDE bytes or more holds a stamped byte. Clearing every byte (a memset) cost ~17 ms of the relay's
 * ~130 ms of user CPU per 685 MB study relayed and ~50 ms per 685 MB pulled into the cache (CPU profiles); the
 * strided stamp of a 512 KiB block not in the CPU's caches took 2.5 µs against 32 µs for the memset (a stride of
 * 256 bytes: 15–23 µs, as each line stamped is fetched).
 */
export class BlockPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly blockBytes: number,
    /** Free blocks kept for reuse; past this, given-back blocks are left to the garbage collector. */
    private readonly maxFreeBlocks: number,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.blockBytes);
  }

  /** `written`: how far from its start the block was written since it was taken (no view of it reaches further). */
  give(block: Buffer, written = block.length): void {
    if (block.length !== this.blockBytes) throw new Error(`a block of ${block.length} bytes is not one of this pool's ${this.blockBytes}`);
    if (written <= FULL_POISON_BYTES) block.fill(POISON, 0, written);
    else {
      for (let i = 0; i < written; i += POISON_STRIDE) block[i] = POISON;
      block[written - 1] = POISON;
    }
    if (this.free.length < this.maxFreeBlocks) this.free.push(block);
  }

  get freeBlocks(): number {
    return this.free.length;
  }
}
