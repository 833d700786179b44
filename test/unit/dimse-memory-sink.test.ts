import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlockPool, POISON } from '../../appliance/src/io/block-pool.js';
import { ByteBudget } from '../../appliance/src/dimse/byte-budget.js';
import { MemoryFirstSink } from '../../appliance/src/dimse/memory-sink.js';
import { encodeFileMeta } from '../../appliance/src/dimse/part10.js';

const meta = { sopClassUid: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUid: '1.2.3.4.5', transferSyntaxUid: '1.2.840.10008.1.2.1', sourceAeTitle: 'ORTHANC' };
const pieces = [Buffer.alloc(1000, 1), Buffer.alloc(3000, 2), Buffer.alloc(5000, 3)];
const expected = Buffer.concat([encodeFileMeta(meta), ...pieces]);

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'memory-sink-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function receive(budget: ByteBudget) {
  const sink = new MemoryFirstSink(meta, dir, budget);
  for (const p of pieces) sink.write(p);
  const decision = await sink.end();
  if (!('instance' in decision)) throw new Error(decision.failure.comment);
  return decision.instance;
}

describe('MemoryFirstSink', () => {
  it('within the budget: the Part-10 bytes stay in memory, nothing on disk, the budget comes back on release', async () => {
    const budget = new ByteBudget(64 * 1024);
    const instance = await receive(budget);
    expect(instance.held).toBeDefined();
    expect(instance.path).toBe('');
    expect(Buffer.concat(instance.held!.chunks).equals(expected)).toBe(true);
    expect(instance.bytes).toBe(expected.length);
    expect(budget.usedBytes).toBe(expected.length);
    expect(readdirSync(dir)).toEqual([]);
    instance.held!.release();
    instance.held!.release();
    expect(budget.usedBytes).toBe(0);
  });

  it('past the budget: what was held and the rest go to the file of the instance, the budget is given back at once', async () => {
    const budget = new ByteBudget(expected.length - 10);
    const instance = await receive(budget);
    expect(instance.held).toBeUndefined();
    expect(budget.usedBytes).toBe(0);
    expect(instance.path).toBe(join(dir, '1.2.3.4.5.dcm'));
    expect(readFileSync(instance.path).equals(expected)).toBe(true);
    expect(instance.bytes).toBe(expected.length);
  });

  it('a budget shared by a retrieve: a second instance spills while the first is held; an aborted one gives its share back', async () => {
    const budget = new ByteBudget(expected.length + 100);
    const first = await receive(budget);
    const second = new MemoryFirstSink({ ...meta, sopInstanceUid: '1.2.3.4.7' }, dir, budget);
    for (const p of pieces) second.write(p);
    const secondDecision = await second.end();
    expect('instance' in secondDecision && secondDecision.instance.held).toBeFalsy();
    expect(budget.usedBytes).toBe(expected.length);
    first.held!.release();
    const aborted = new MemoryFirstSink({ ...meta, sopInstanceUid: '1.2.3.4.8' }, dir, budget);
    aborted.write(pieces[0]!);
    expect(budget.usedBytes).toBeGreaterThan(0);
    aborted.destroy();
    expect(budget.usedBytes).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['1.2.3.4.7.dcm']);
  });
});

describe('MemoryFirstSink over pooled blocks', () => {
  // Blocks smaller than the pieces and than the File Meta header, so that every copy crosses a block boundary.
  const blockBytes = 700;
  const varied = [Buffer.alloc(1000), Buffer.alloc(3000), Buffer.alloc(5000)].map((b, n) => Buffer.from(b.map((_, i) => (i * 7 + n) & 0xff)));
  const variedExpected = Buffer.concat([encodeFileMeta(meta), ...varied]);

  async function heldInPool() {
    const pool = new BlockPool(blockBytes, 100);
    const budget = new ByteBudget(64 * 1024);
    const sink = new MemoryFirstSink(meta, dir, budget, pool);
    for (const p of varied) sink.write(p);
    const decision = await sink.end();
    if (!('instance' in decision)) throw new Error(decision.failure.comment);
    return { pool, budget, held: decision.instance.held! };
  }

  it('holds the bytes in the pool\'s blocks; release gives them back stamped, and the next instance reuses them', async () => {
    const { pool, budget, held } = await heldInPool();
    expect(Buffer.concat(held.chunks).equals(variedExpected)).toBe(true);
    const blocks = Math.ceil(variedExpected.length / blockBytes);
    expect(held.chunks).toHaveLength(blocks);
    expect(held.chunks.slice(0, -1).every((c) => c.length === blockBytes)).toBe(true);
    expect(held.released).toBe(false);
    held.release();
    held.release();
    expect(held.released).toBe(true);
    expect(pool.freeBlocks).toBe(blocks);
    expect(budget.usedBytes).toBe(0);
    // A view kept past the release (a bug) reads the pool's stamp (whole, in blocks this small), not the bytes it held.
    expect(held.chunks.every((c) => c.every((byte) => byte === POISON))).toBe(true);
    const next = new MemoryFirstSink({ ...meta, sopInstanceUid: '1.2.3.4.6' }, dir, budget, pool);
    next.write(varied[0]!);
    expect(pool.freeBlocks).toBeLessThan(blocks);
    next.destroy();
    expect(pool.freeBlocks).toBe(blocks);
    expect(budget.usedBytes).toBe(0);
  });

  it('lent blocks go back one by one when given back, not at release; a lent block never given back stays out of the pool', async () => {
    const { pool, budget, held } = await heldInPool();
    const lent = held.lend();
    expect(() => held.lend()).toThrow(/lent twice/);
    expect(Buffer.concat(lent.map((l) => l.chunk)).equals(variedExpected)).toBe(true);
    held.release();
    expect(budget.usedBytes).toBe(0);
    expect(pool.freeBlocks).toBe(0);
    lent[0]!.giveBack();
    lent[0]!.giveBack();
    lent[1]!.giveBack();
    expect(pool.freeBlocks).toBe(2);
    expect(lent[2]!.chunk.equals(variedExpected.subarray(2 * blockBytes, 3 * blockBytes))).toBe(true);
  });

  it('spilling mid-block: the file holds the header once and every byte in order; the blocks go back at once', async () => {
    const pool = new BlockPool(blockBytes, 100);
    const budget = new ByteBudget(variedExpected.length - 4000);
    const sink = new MemoryFirstSink(meta, dir, budget, pool);
    for (const p of varied) sink.write(p);
    expect(pool.freeBlocks).toBeGreaterThan(0);
    const decision = await sink.end();
    if (!('instance' in decision)) throw new Error(decision.failure.comment);
    expect(decision.instance.held).toBeUndefined();
    expect(readFileSync(decision.instance.path).equals(variedExpected)).toBe(true);
    expect(budget.usedBytes).toBe(0);
  });

  it('the pool keeps at most its free-block limit and takes back only its own size', () => {
    const pool = new BlockPool(blockBytes, 2);
    const taken = [pool.take(), pool.take(), pool.take()];
    expect(taken.every((b) => b.length === blockBytes)).toBe(true);
    for (const b of taken) pool.give(b);
    expect(pool.freeBlocks).toBe(2);
    expect(() => pool.give(Buffer.alloc(10))).toThrow(/not one of this pool's/);
  });
});

describe('MemoryFirstSink with a budget that waits', () => {
  const chunk = Buffer.alloc(4000, 9);

  it('over the budget: asks to pause; room freed by the reader keeps the instance in memory', async () => {
    const budget = new ByteBudget(10_000, 5000);
    const first = await receive(budget); // 9 KB and its header: within the budget
    expect(first.held).toBeDefined();
    const second = new MemoryFirstSink({ ...meta, sopInstanceUid: '1.2.3.4.9' }, dir, budget);
    expect(second.write(chunk)).toBe(false);
    let drained = false;
    void second.drained().then(() => (drained = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(drained).toBe(false);
    first.held!.release();
    await second.drained();
    const decision = await second.end();
    expect('instance' in decision && decision.instance.held).toBeTruthy();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('no room within the wait: the instance spills; the budget is then stalled, the next one spills at once, until the reader frees some', async () => {
    const budget = new ByteBudget(10_000, 50);
    const first = await receive(budget);
    const second = new MemoryFirstSink({ ...meta, sopInstanceUid: '1.2.3.4.9' }, dir, budget);
    expect(second.write(chunk)).toBe(false);
    await second.drained();
    const decision = await second.end();
    if (!('instance' in decision)) throw new Error(decision.failure.comment);
    expect(decision.instance.held).toBeUndefined();
    expect(readFileSync(decision.instance.path).equals(Buffer.concat([encodeFileMeta({ ...meta, sopInstanceUid: '1.2.3.4.9' }), chunk]))).toBe(true);
    expect(budget.canWait).toBe(false);
    const third = new MemoryFirstSink({ ...meta, sopInstanceUid: '1.2.3.4.10' }, dir, budget);
    expect(third.write(chunk)).toBe(true);
    third.destroy();
    first.held!.release();
    expect(budget.canWait).toBe(true);
    expect(budget.usedBytes).toBe(0);
  });

  it('an instance that ends while waiting is decided once the wait is over; one destroyed while waiting leaves nothing', async () => {
    const budget = new ByteBudget(10_000, 30);
    const first = await receive(budget);
    const ending = new MemoryFirstSink({ ...meta, sopInstanceUid: '1.2.3.4.11' }, dir, budget);
    ending.write(chunk);
    const decision = await ending.end();
    expect('instance' in decision && decision.instance.path).toBe(join(dir, '1.2.3.4.11.dcm'));
    first.held!.release();
    const destroyed = new MemoryFirstSink({ ...meta, sopInstanceUid: '1.2.3.4.12' }, dir, new ByteBudget(10, 30));
    destroyed.write(chunk);
    destroyed.destroy();
    await destroyed.drained();
    expect(readdirSync(dir)).toEqual(['1.2.3.4.11.dcm']);
  });
});
