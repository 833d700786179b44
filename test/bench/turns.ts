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
