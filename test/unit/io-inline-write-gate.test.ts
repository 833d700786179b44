import { describe, expect, it } from 'vitest';
import { InlineWriteGate } from '../../appliance/src/io/inline-write-gate.js';

/**
 * A gate on a clock the test moves (2 ms + 1 ms per 256 KiB allowed, 1 s away, two slow calls within 4);
 * `work(ms)` is a call that takes `ms`.
 */
function gateOnClock() {
  let now = 1000;
  const gate = new InlineWriteGate(2, 256 * 1024, 1000, () => now, 4);
  const work = (ms: number) => () => {
    now += ms;
    return ms;
  };
  return { gate, work, advance: (ms: number) => (now += ms) };
}

describe('inline write gate: writes on the event loop while they are fast', () => {
  it('stays inline while each call takes at most its allowance', () => {
    const { gate, work } = gateOnClock();
    for (let i = 0; i < 10; i++) expect(gate.run(work(2))).toBe(2);
    // 1 MiB: 2 ms + 4 ms.
    for (let i = 0; i < 10; i++) gate.run(work(6), 1024 * 1024);
    expect(gate.inline).toBe(true);
  });

  it('one slow call alone (the process lost its core for a tick) keeps the calls inline', () => {
    const { gate, work } = gateOnClock();
    for (let round = 0; round < 5; round++) {
      gate.run(work(7), 1024 * 1024);
      expect(gate.inline).toBe(true);
      // Four fast calls: the next slow one is alone again.
      for (let i = 0; i < 4; i++) gate.run(work(1));
    }
    expect(gate.inline).toBe(true);
  });

  it('a second slow call within 4 calls sends the next ones to the thread pool for backoffMs, then inline is tried again', () => {
    const { gate, work, advance } = gateOnClock();
    gate.run(work(7), 1024 * 1024);
    // The open and the write of the next instance, fast; then the open of the one after, fast; then its write, slow.
    gate.run(work(1));
    gate.run(work(1), 512 * 1024);
    gate.run(work(1));
    gate.run(work(9), 512 * 1024);
    expect(gate.inline).toBe(false);
    advance(999);
    expect(gate.inline).toBe(false);
    advance(1);
    expect(gate.inline).toBe(true);
    // What came before the pool is forgotten: one slow call alone keeps the calls inline…
    gate.run(work(3));
    expect(gate.inline).toBe(true);
    // …and an open (no bytes, 2 ms allowed) slow right after it sends them to the pool again.
    gate.run(work(3));
    expect(gate.inline).toBe(false);
  });

  it('two slow calls 5 calls apart keep the calls inline', () => {
    const { gate, work } = gateOnClock();
    gate.run(work(30));
    for (let i = 0; i < 4; i++) gate.run(work(1));
    gate.run(work(30));
    expect(gate.inline).toBe(true);
  });

  it('a call that fails is timed too, and its error thrown', () => {
    const { gate, advance } = gateOnClock();
    const failing = () =>
      gate.run(() => {
        advance(30);
        throw new Error('ENOSPC: no space left on device');
      });
    expect(failing).toThrow(/ENOSPC/);
    expect(gate.inline).toBe(true);
    expect(failing).toThrow(/ENOSPC/);
    expect(gate.inline).toBe(false);
  });
});
