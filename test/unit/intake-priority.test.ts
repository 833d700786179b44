import { describe, expect, it } from 'vitest';
import { IntakePriority } from '../../appliance/src/source/intake-priority.js';

describe('intake priority', () => {
  it('the processor waits for a quiet intake, and never longer than the bound under a steady stream', async () => {
    let now = 0;
    const priority = new IntakePriority(50, 1_000, () => now);
    const sleep = async (ms: number) => void (now += ms);
    await priority.yieldToIntake(sleep);
    expect(now).toBe(0); // nothing arriving: no wait

    priority.arrived();
    expect(priority.busy).toBe(true);
    await priority.yieldToIntake(sleep);
    expect(now).toBe(50); // one quiet period
    expect(priority.busy).toBe(false);

    // A message every 30 ms, for ever: the processor still gets its turn after the bound.
    const start = now;
    const steady = async (ms: number) => {
      now += ms;
      priority.arrived();
    };
    priority.arrived();
    await priority.yieldToIntake(steady);
    expect(now - start).toBeGreaterThanOrEqual(1_000);
    expect(now - start).toBeLessThan(1_100);
  });
});
