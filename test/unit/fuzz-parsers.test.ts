import { describe, expect, it } from 'vitest';
import { TARGETS } from '../fuzz/targets.js';
import { fuzz, isCrash } from '../fuzz/run.js';

// A short run of the parser fuzzing (test/bench/fuzz-bench.ts runs 100,000 inputs per parser): mutated valid
// inputs and random bytes never crash a parser of untrusted input. A hang fails the test by its timeout.
const INPUTS = 400;

describe('parsers of untrusted input under mutated and random input', () => {
  it.each(TARGETS.map((t) => [t.name, t] as const))('%s: refuses, never crashes', async (_name, target) => {
    for (const seed of target.seeds) await target.run(seed); // the seeds themselves are valid
    const stats = await fuzz(target, INPUTS, 20261205);
    expect(stats.crashes.map((c) => `${c.error} on ${JSON.stringify(c.input.toString('latin1').slice(0, 200))}`)).toEqual([]);
    expect(stats.inputs).toBe(INPUTS);
  });

  it('tells a crash from a refusal', () => {
    expect(isCrash(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe(true);
    expect(isCrash('a string')).toBe(true);
    expect(isCrash(new Error('malformed HL7 message'))).toBe(false);
  });
});
