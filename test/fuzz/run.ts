import fc from 'fast-check';
import type { FuzzTarget } from './targets.js';
import { mutatedInputs } from './mutate.js';

/**
 * A crash is what a parser must never do with bad input: a JavaScript fault (TypeError, RangeError,
 * ReferenceError, a stack overflow) or a throw of something that is not an Error. A refusal is any other
 * Error: the parser saw the input was bad and said so.
 */
export function isCrash(err: unknown): boolean {
  return !(err instanceof Error) || err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError;
}

export interface Finding {
  input: Buffer;
  error: string;
}

export interface FuzzStats {
  target: string;
  inputs: number;
  refused: number;
  crashes: Finding[];
  maxMs: number;
  /** The input that took longest (a hang candidate: keep it as a regression test). */
  slowest?: Buffer;
  totalMs: number;
}

/** Runs `count` inputs derived from the target's seeds (deterministic for a given seed), one after another. */
export async function fuzz(target: FuzzTarget, count: number, seed: number): Promise<FuzzStats> {
  const stats: FuzzStats = { target: target.name, inputs: 0, refused: 0, crashes: [], maxMs: 0, totalMs: 0 };
  const batch = 1000;
  for (let done = 0; done < count; done += batch) {
    const inputs = fc.sample(mutatedInputs(target.seeds), { numRuns: Math.min(batch, count - done), seed: seed + done });
    for (const input of inputs) {
      const start = performance.now();
      try {
        await target.run(input);
      } catch (err) {
        if (isCrash(err)) stats.crashes.push({ input, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
        else stats.refused++;
      }
      const ms = performance.now() - start;
      if (ms > stats.maxMs) {
        stats.maxMs = ms;
        stats.slowest = input;
      }
      stats.totalMs += ms;
      stats.inputs++;
    }
  }
  return stats;
}
