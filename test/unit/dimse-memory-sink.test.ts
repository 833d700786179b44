import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ByteBudget, MemoryFirstSink } from '../../appliance/src/dimse/memory-sink.js';
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
