import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../appliance/src/dimse/semaphore.js';
import { AsyncQueue } from '../../appliance/src/dimse/async-queue.js';
import { PacsError } from '../../appliance/src/dimse/types.js';
import { storageContexts, COMMON_STORAGE_CLASSES, STORED_AS_IS } from '../../appliance/src/dimse/storage-contexts.js';

describe('Semaphore (association limit)', () => {
  it('grants at most `limit` slots and serves waiters in order', async () => {
    const s = new Semaphore(2, 'PACS');
    const a = await s.acquire();
    const b = await s.acquire();
    const order: string[] = [];
    const c = s.acquire().then((release) => (order.push('c'), release));
    const d = s.acquire().then((release) => (order.push('d'), release));
    await Promise.resolve();
    expect(s.inUse).toBe(2);
    expect(s.waiting).toBe(2);
    a();
    a(); // idempotent: a second call frees nothing
    const releaseC = await c;
    expect(order).toEqual(['c']);
    expect(s.waiting).toBe(1);
    b();
    (await d)();
    releaseC();
    expect(s.inUse).toBe(0);
  });

  it('drops a waiter whose signal aborts, with a cancelled PacsError', async () => {
    const s = new Semaphore(1, 'PACS X');
    const held = await s.acquire();
    const controller = new AbortController();
    const waiting = s.acquire(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ kind: 'cancelled' });
    expect(s.waiting).toBe(0);
    held();
    expect(s.inUse).toBe(0);
    await expect(s.acquire(controller.signal)).rejects.toBeInstanceOf(PacsError);
  });
});

describe('AsyncQueue', () => {
  it('pauses its source above the high-water mark and resumes below the low one', async () => {
    const events: string[] = [];
    const q = new AsyncQueue<number>({ highWaterMark: 4, lowWaterMark: 1, onHigh: () => events.push('high'), onLow: () => events.push('low') });
    for (let i = 0; i < 6; i++) q.push(i);
    expect(events).toEqual(['high']);
    const got: number[] = [];
    for (let i = 0; i < 4; i++) got.push((await q.next()).value as number);
    expect(events).toEqual(['high']);
    got.push((await q.next()).value as number);
    expect(events).toEqual(['high', 'low']);
    q.end();
    for await (const v of q) got.push(v);
    expect(got).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('delivers what it holds, then the error; a waiting consumer gets pushed items at once', async () => {
    const q = new AsyncQueue<string>({ highWaterMark: 10, lowWaterMark: 2, onHigh: () => {}, onLow: () => {} });
    const pending = q.next();
    q.push('a');
    expect(await pending).toEqual({ value: 'a', done: false });
    q.push('b');
    q.fail(new Error('boom'));
    expect(await q.next()).toEqual({ value: 'b', done: false });
    await expect(q.next()).rejects.toThrow('boom');
  });
});

describe('C-GET storage presentation contexts', () => {
  it('offers each compressed syntax alone, after every class uncompressed, within the budget', () => {
    const { contexts, dropped } = storageContexts(['1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.5.1.4.1.1.88.59'], 127);
    expect(dropped).toEqual([]);
    expect(contexts[0]).toEqual({ abstractSyntaxUid: '1.2.840.10008.5.1.4.1.1.2', transferSyntaxUids: ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2'], scpRole: true });
    expect(contexts[2]).toEqual({ abstractSyntaxUid: '1.2.840.10008.5.1.4.1.1.2', transferSyntaxUids: ['1.2.840.10008.1.2.4.80'], scpRole: true });
    // the KOS carries no pixels: its compressed contexts come after every one of the CT's
    const kos = contexts.flatMap((c, i) => (c.abstractSyntaxUid.endsWith('.88.59') ? [i] : []));
    expect(kos).toHaveLength(1 + STORED_AS_IS.length);
    expect(kos[1]).toBe(2 + STORED_AS_IS.length);
    expect(contexts).toHaveLength(2 + 2 * STORED_AS_IS.length);
  });

  it('offers the stored syntaxes to every pixel-bearing class, RT Dose and Segmentation included', () => {
    for (const uid of ['1.2.840.10008.5.1.4.1.1.481.2', '1.2.840.10008.5.1.4.1.1.66.4']) {
      const { contexts } = storageContexts([uid, '1.2.840.10008.5.1.4.1.1.88.59'], 127);
      expect(contexts.slice(2, 2 + STORED_AS_IS.length).map((c) => [c.abstractSyntaxUid, c.transferSyntaxUids[0]])).toEqual(STORED_AS_IS.map((ts) => [uid, ts]));
    }
  });

  it('never exceeds the budget with the common classes, and every class has an uncompressed context', () => {
    const { contexts, dropped } = storageContexts(COMMON_STORAGE_CLASSES, 127);
    expect(contexts.length).toBeLessThanOrEqual(127);
    expect(dropped).toEqual([]);
    for (const uid of COMMON_STORAGE_CLASSES) {
      expect(contexts.some((c) => c.abstractSyntaxUid === uid && c.transferSyntaxUids.includes('1.2.840.10008.1.2'))).toBe(true);
    }
    expect(storageContexts(COMMON_STORAGE_CLASSES, 10).dropped).toHaveLength(COMMON_STORAGE_CLASSES.length - 10);
  });
});
