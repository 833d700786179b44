import { describe, expect, it } from 'vitest';
import { BlockPool, POISON } from '../../appliance/src/io/block-pool.js';
import { ReadBlocks } from '../../appliance/src/io/read-blocks.js';

/** A read of `text` into the block `next()` gives, as a socket's `onread` does. */
function readInto(blocks: ReadBlocks, text: string): Buffer {
  const block = blocks.next();
  const n = block.write(text, 'latin1');
  blocks.read(n);
  return block;
}

describe('ReadBlocks', () => {
  it('reads into the same block again while nobody holds it', () => {
    const pool = new BlockPool(16, 4);
    const blocks = new ReadBlocks(pool);
    const first = readInto(blocks, 'abc');
    expect(readInto(blocks, 'defgh')).toBe(first);
    blocks.close();
    expect(pool.freeBlocks).toBe(1);
    expect(first.subarray(0, 5).equals(Buffer.alloc(5, POISON))).toBe(true);
  });

  it('reads into another block while one is held, and gives the held one back, stamped where it was read into, on its release', () => {
    const pool = new BlockPool(16, 4);
    const blocks = new ReadBlocks(pool);
    const first = readInto(blocks, 'patient-a-bytes');
    const release = blocks.hold();
    const second = readInto(blocks, 'patient-b');
    expect(second).not.toBe(first);
    expect(first.toString('latin1', 0, 15)).toBe('patient-a-bytes');
    release();
    release(); // twice: once counts
    expect(pool.freeBlocks).toBe(1);
    expect(first.subarray(0, 15).equals(Buffer.alloc(15, POISON))).toBe(true);
    expect(pool.take()).toBe(first);
  });

  it('keeps a block until its last hold is released, also past close', () => {
    const pool = new BlockPool(16, 4);
    const blocks = new ReadBlocks(pool);
    readInto(blocks, 'x');
    const releases = [blocks.hold(), blocks.hold()];
    blocks.close();
    expect(pool.freeBlocks).toBe(0);
    releases[0]!();
    expect(pool.freeBlocks).toBe(0);
    releases[1]!();
    expect(pool.freeBlocks).toBe(1);
    // A closed socket reads nothing more: what it is given is not a pooled block.
    expect(blocks.next().length).toBe(1);
  });

  it('refuses a hold before any read', () => {
    expect(() => new ReadBlocks(new BlockPool(16, 4)).hold()).toThrow(/no block/);
  });

  it('reads after what is held in the same block while enough room remains, then takes another; a block whose holds are all released is read from its start', () => {
    const pool = new BlockPool(16, 4);
    const blocks = new ReadBlocks(pool, 4);
    const first = blocks.next();
    first.write('abcde', 'latin1');
    blocks.read(5);
    const releaseA = blocks.hold();
    // 11 bytes remain: the next read goes right after the held 5.
    const second = blocks.next();
    expect(second.buffer).toBe(first.buffer);
    expect(second.byteOffset - first.byteOffset).toBe(5);
    second.write('fghijkl', 'latin1');
    blocks.read(7);
    const releaseB = blocks.hold();
    expect(first.toString('latin1', 0, 12)).toBe('abcdefghijkl');
    // 4 bytes remain, not less than minRead: one more read there, not held, then the same room again.
    expect(blocks.next().byteOffset - first.byteOffset).toBe(12);
    blocks.read(2);
    expect(blocks.next().byteOffset - first.byteOffset).toBe(12);
    blocks.read(4);
    blocks.hold();
    // Full: another block.
    const third = blocks.next();
    expect(third.buffer).not.toBe(first.buffer);
    releaseA();
    releaseB();
    expect(pool.freeBlocks).toBe(0); // the last hold on the first block is still there
  });

  it('reads from the start of the current block again once its holds are released', () => {
    const pool = new BlockPool(16, 4);
    const blocks = new ReadBlocks(pool, 4);
    const first = blocks.next();
    blocks.read(3);
    const release = blocks.hold();
    expect(blocks.next().byteOffset - first.byteOffset).toBe(3);
    blocks.read(2);
    release();
    const again = blocks.next();
    expect(again.byteOffset).toBe(first.byteOffset);
    expect(again.length).toBe(16);
  });
});
