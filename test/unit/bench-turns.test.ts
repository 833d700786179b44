import { describe, expect, it } from 'vitest';
import { inTurns, pairedRatios } from '../bench/turns.js';

describe('bench turns', () => {
  it('runs the contenders in turns, a b a b, keeping every result in order', async () => {
    const order: string[] = [];
    const runs = await inTurns(2, { a: async () => (order.push('a'), order.length), b: async () => (order.push('b'), order.length) });
    expect(order).toEqual(['a', 'b', 'a', 'b']);
    expect(runs).toEqual({ a: [1, 3], b: [2, 4] });
  });

  it('pairs each run with the other side\'s run of the same round: median and quartiles of the ratios, not best over best', () => {
    // Round 3 is a quiet moment for b alone: best over best would say 0.83×, the rounds say 1× with one outlier.
    const r = pairedRatios([10, 20, 30, 40, 50], [10, 20, 60, 40, 50]);
    expect(r).toEqual({ median: 1, low: 1, high: 1 });
    expect(pairedRatios([2, 3, 4], [1, 1, 1])).toEqual({ median: 3, low: 2, high: 4 });
    expect(() => pairedRatios([1, 2], [1])).toThrow(/as many runs on each side/);
  });
});
