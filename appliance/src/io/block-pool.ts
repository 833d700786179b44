/**
 * Fixed-size blocks of memory, reused (io/: byte plumbing shared by the protocol layers). Instances a DIMSE retrieve
 * holds between the PACS and the client, and the DICOMweb relay's part headers, are copied into them rather than kept
 * as the socket's read buffers; the PACS's DICOMweb answers are read into them (read-blocks.ts). Held for
 * milliseconds to seconds, Node's read buffers outlived the young generation and were promoted, and V8 then ran a full
 * mark-compact every ~14 MB of image data (50 per 685 MB study, a third of the box's CPU on the DIMSE path); pooled
 * blocks are allocated once and never collected.
 *
 * A block given back is zeroed where it was written before it can serve again: a reader that kept a view past its
 * release (a bug) sees zeros while the block is free, not the last image. Only until the block is taken again,
 * which on a busy box is within milliseconds: it makes such a bug show in tests, it does not contain it in service.
 * It costs a memset of every byte that passes (CPU profiles: ~17 ms per 685 MB study relayed, ~50 ms per 685 MB
 * pulled into the cache).
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
    block.fill(0, 0, written);
    if (this.free.length < this.maxFreeBlocks) this.free.push(block);
  }

  get freeBlocks(): number {
    return this.free.length;
  }
}
