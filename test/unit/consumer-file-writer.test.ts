import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileWriter, WriteBudget } from '../../appliance/src/consumer/cache/file-writer.js';
import { lentChunk } from '../../appliance/src/dicomweb/lent-chunks.js';
import { InlineWriteGate } from '../../appliance/src/io/inline-write-gate.js';

const work = mkdtempSync(join(tmpdir(), 'file-writer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A gate on a clock the test moves; `slow()` (two slow calls) makes it send writes to the thread pool for the next 1,000 ms. */
function testGate() {
  let now = 0;
  const gate = new InlineWriteGate(5, 256 * 1024, 1000, () => now);
  return {
    gate,
    slow: () => {
      gate.run(() => (now += 50));
      gate.run(() => (now += 50));
    },
    later: (ms: number) => (now += ms),
  };
}

/** Lent chunks of `text`, counting how often each is given back. */
function lent(texts: string[]) {
  const givenBack = texts.map(() => 0);
  const chunks = texts.map((t, i) => lentChunk(Buffer.from(t), () => givenBack[i]!++));
  return { chunks, givenBack };
}

describe('consumer cache file writer: inline while writes are fast, in order either way', () => {
  it('inline: the file holds every write in order, each lent chunk given back once, as soon as written', async () => {
    const { gate } = testGate();
    const path = join(work, 'inline.dcm');
    const writer = new FileWriter(path, new WriteBudget(), 'wx', gate);
    const { chunks, givenBack } = lent(['alpha-', 'beta-', 'gamma']);
    writer.write(chunks.slice(0, 2), 11);
    // Written before write() returned: nothing waits in the thread pool.
    expect(givenBack).toEqual([1, 1, 0]);
    expect(readFileSync(path, 'latin1')).toBe('alpha-beta-');
    writer.write(chunks.slice(2), 5);
    await writer.close();
    expect(readFileSync(path, 'latin1')).toBe('alpha-beta-gamma');
    expect(givenBack).toEqual([1, 1, 1]);
  });

  it('a write through the thread pool still pending keeps the next ones behind it, even once inline is allowed again', async () => {
    const t = testGate();
    const path = join(work, 'mixed.dcm');
    const writer = new FileWriter(path, new WriteBudget(), 'wx', t.gate);
    const { chunks, givenBack } = lent(['one-', 'two-', 'three-', 'four']);
    writer.write([chunks[0]!], 4);
    t.slow();
    writer.write([chunks[1]!], 4);
    expect(givenBack[1]).toBe(0);
    t.later(1000);
    expect(t.gate.inline).toBe(true);
    writer.write([chunks[2]!], 6);
    // Behind "two-" in the pool, not written ahead of it.
    expect(givenBack[2]).toBe(0);
    await writer.close();
    expect(readFileSync(path, 'latin1')).toBe('one-two-three-');
    // Once the pool is drained, writes are inline again.
    expect(givenBack).toEqual([1, 1, 1, 0]);
  });

  it('the file opened through the thread pool (the gate closed at creation): writes wait for it, in order', async () => {
    const t = testGate();
    t.slow();
    const path = join(work, 'pool-open.dcm');
    const writer = new FileWriter(path, new WriteBudget(), 'wx', t.gate);
    t.later(1000);
    const { chunks, givenBack } = lent(['x', 'y']);
    writer.write([chunks[0]!], 1);
    writer.write([chunks[1]!], 1);
    await writer.close();
    expect(readFileSync(path, 'latin1')).toBe('xy');
    expect(givenBack).toEqual([1, 1]);
  });

  it("a new file over an existing one ('wx') fails: the failure is told at check and close, lent chunks given back", async () => {
    const path = join(work, 'exists.dcm');
    writeFileSync(path, 'kept');
    for (const slowOpen of [false, true]) {
      const t = testGate();
      if (slowOpen) t.slow();
      const writer = new FileWriter(path, new WriteBudget(), 'wx', t.gate);
      const { chunks, givenBack } = lent(['lost']);
      writer.write(chunks, 4);
      await expect(writer.close()).rejects.toThrow(/EEXIST/);
      expect(() => writer.check()).toThrow(/EEXIST/);
      expect(givenBack).toEqual([1]);
      expect(readFileSync(path, 'latin1')).toBe('kept');
    }
  });
});
