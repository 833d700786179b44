import { describe, expect, it } from 'vitest';
import { BlockPool, POISON, POISON_STRIDE } from '../../appliance/src/io/block-pool.js';

describe('BlockPool', () => {
  it('stamps a small written span whole on give-back, leaves the rest of the block, and hands the block out again', () => {
    const pool = new BlockPool(64, 2);
    const block = pool.take();
    block.fill(7);
    pool.give(block, 10);
    expect(block.subarray(0, 10).equals(Buffer.alloc(10, POISON))).toBe(true);
    expect(block.subarray(10).equals(Buffer.alloc(54, 7))).toBe(true);
    expect(pool.take()).toBe(block);
  });

  it('stamps a large span at every POISON_STRIDE-th byte and its last: every view of POISON_STRIDE bytes kept past give-back reads a stamp', () => {
    const blockBytes = 512 * 1024;
    const pool = new BlockPool(blockBytes, 1);
    const block = pool.take();
    block.fill(0);
    const written = blockBytes - 333;
    pool.give(block, written);
    for (let from = 0; from + POISON_STRIDE <= written; from += 97) expect(block.subarray(from, from + POISON_STRIDE).includes(POISON)).toBe(true);
    expect(block[written - 1]).toBe(POISON);
    expect(block[written]).toBe(0);
    // Strided, not cleared: most bytes are left as they were.
    expect(block.subarray(0, written).filter((b) => b === POISON).length).toBe(Math.ceil(written / POISON_STRIDE) + 1);
  });

  it('keeps at most its free-block bound and refuses a block of another size', () => {
    const pool = new BlockPool(16, 1);
    const [a, b] = [pool.take(), pool.take()];
    pool.give(a);
    pool.give(b);
    expect(pool.freeBlocks).toBe(1);
    expect(() => pool.give(Buffer.alloc(8))).toThrow(/8 bytes is not one of this pool's 16/);
  });
});
