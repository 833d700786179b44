import { describe, expect, it } from 'vitest';
import { InlineWriteGate } from '../../appliance/src/io/inline-write-gate.js';

/** A gate on a clock the test moves: `work(ms)` is inline work that takes `ms`. */
function gateOnClock(slowMs = 5, backoffMs = 2000) {
  let now = 1000;
  const gate = new InlineWriteGate(slowMs, backoffMs, () => now);
  const work = (ms: number) => () => {
    now += ms;
    return ms;
  };
  return { gate, work, advance: (ms: number) => (now += ms) };
}

describe('inline write gate: writes on the event loop while they are fast', () => {
  it('stays inline while each write takes at most slowMs', () => {
    const { gate, work } = gateOnClock();
    for (let i = 0; i < 10; i++) expect(gate.run(work(5))).toBe(5);
    expect(gate.inline).toBe(true);
  });

  it('one slow write sends the next ones to the thread pool for backoffMs, then inline is tried again', () => {
    const { gate, work, advance } = gateOnClock(5, 2000);
    gate.run(work(40));
    expect(gate.inline).toBe(false);
    advance(1999);
    expect(gate.inline).toBe(false);
    advance(1);
    expect(gate.inline).toBe(true);
  });

  it('a write that fails is timed too, and its error thrown', () => {
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
