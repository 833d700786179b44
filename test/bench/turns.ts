/**
 * Every contender `rounds` times, in turns (a, b, c, a, b, c…), so that load from elsewhere on the machine hits all
 * alike; every result kept, in order.
 */
export async function inTurns<K extends string, R>(rounds: number, contenders: Record<K, () => Promise<R>>): Promise<Record<K, R[]>> {
  const names = Object.keys(contenders) as K[];
  const results = Object.fromEntries(names.map((name) => [name, [] as R[]])) as Record<K, R[]>;
  for (let round = 0; round < rounds; round++) for (const name of names) results[name].push(await contenders[name]());
  return results;
}

/** Each contender's results reduced to one figure (its best, its median…). */
export function eachOf<K extends string, R, T>(results: Record<K, R[]>, reduce: (runs: R[]) => T): Record<K, T> {
  return Object.fromEntries((Object.keys(results) as K[]).map((name) => [name, reduce(results[name])])) as Record<K, T>;
}

/** The run of least `time` (the first of equals). */
export function fastestBy<R>(runs: R[], time: (run: R) => number): R {
  return runs.reduce((best, run) => (time(run) < time(best) ? run : best));
}

/**
 * `a`'s figure over `b`'s, round by round (each run against the other's run of the same round, next to it in time),
 * as the median of those ratios and their quartiles. On a shared machine whose speed drifts within a run, each pair
 * meets the same conditions, where the best of each can come from different minutes.
 */
export function pairedRatios(a: number[], b: number[]): { median: number; low: number; high: number } {
  if (a.length !== b.length || a.length === 0) throw new Error(`paired ratios need as many runs on each side (${a.length} and ${b.length})`);
  const ratios = a.map((x, i) => x / b[i]!).sort((x, y) => x - y);
  const at = (q: number) => ratios[Math.min(ratios.length - 1, Math.floor(q * ratios.length))]!;
  return { median: at(0.5), low: at(0.25), high: at(0.75) };
}
