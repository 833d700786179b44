/**
 * Fuzzing of every parser of untrusted input (test/fuzz/targets.ts): N mutated or random inputs each (default
 * 100,000), deterministic for a seed. Prints, per parser: inputs, refusals, crashes, slowest input, mean time,
 * and the process's RSS growth; writes each crashing input, and any input slower than 1 s, to test-results/fuzz/
 * (a regression test starts there).
 * usage: npx tsx test/bench/fuzz-bench.ts [inputs] [seed] [target-name-substring]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { TARGETS } from '../fuzz/targets.js';
import { fuzz } from '../fuzz/run.js';
import { printGoal } from './goal.js';

const count = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? 20261205);
const only = process.argv[4];
const silence = () => {}; // dcmjs prints a console line per odd element it meets
const [warn, info, logError] = [console.warn, console.info, console.error];

mkdirSync('test-results/fuzz', { recursive: true });
let crashes = 0;
let worstMs = 0;
const rss = () => process.memoryUsage().rss / 2 ** 20;
const start = rss();
console.log(`parser fuzzing: ${count} inputs per parser, seed ${seed}`);
for (const target of TARGETS.filter((t) => !only || t.name.includes(only))) {
  const before = rss();
  console.warn = console.info = console.error = silence;
  const stats = await fuzz(target, count, seed);
  [console.warn, console.info, console.error] = [warn, info, logError];
  const file = target.name.replace(/\W+/g, '-');
  stats.crashes.forEach((c, i) => writeFileSync(`test-results/fuzz/${file}-${i}.bin`, c.input));
  if (stats.slowest && stats.maxMs > 1000) writeFileSync(`test-results/fuzz/${file}-slowest.bin`, stats.slowest);
  crashes += stats.crashes.length;
  worstMs = Math.max(worstMs, stats.maxMs);
  console.log(
    `${target.name.padEnd(32)} ${String(stats.inputs).padStart(7)} inputs, ${String(stats.refused).padStart(7)} refused, ${stats.crashes.length} crash(es); ` +
      `slowest ${stats.maxMs.toFixed(1)} ms, mean ${((stats.totalMs / stats.inputs) * 1000).toFixed(0)} µs; RSS ${before.toFixed(0)} → ${rss().toFixed(0)} MiB` +
      (stats.crashes.length ? `\n    first: ${stats.crashes[0]!.error}` : ''),
  );
}
console.log(`RSS ${start.toFixed(0)} → ${rss().toFixed(0)} MiB over the run`);
printGoal('fuzz-crashes', crashes, 0, '', false);
printGoal('fuzz-slowest-input', worstMs, 1000, ' ms', false);
