import { describe, expect, it } from 'vitest';
import { InlineWriteGate } from '../../appliance/src/io/inline-write-gate.js';

/** A gate on a clock the test moves (2 ms + 1 ms per 256 KiB allowed, 1 s away); `work(ms)` is a call that takes `ms`. */
function gateOnClock() {
  let now = 1000;
  const gate = new InlineWriteGate(2, 256 * 1024, 1000, () => now);
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

  it('a call slower than its allowance sends the next ones to the thread pool for backoffMs, then inline is tried again', () => {
    const { gate, work, advance } = gateOnClock();
    gate.run(work(7), 1024 * 1024);
    expect(gate.inline).toBe(false);
    advance(999);
    expect(gate.inline).toBe(false);
    advance(1);
    expect(gate.inline).toBe(true);
    // An open (no bytes) is allowed 2 ms.
    gate.run(work(3));
    expect(gate.inline).toBe(false);
  });

  it('a call that fails is timed too, and its error thrown', () => {
    const { gate, advance } = gateOnClock();
    expect(() =>
      gate.run(() => {
        advance(30);
        throw new Error('ENOSPC: no space left on device');
      }),
    ).toThrow(/ENOSPC/);
    expect(gate.inline).toBe(false);
  });
});
