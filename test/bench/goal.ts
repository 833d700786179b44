/**
 * One line per goal, for scripts (scripts/bench.sh gathers them into a table):
 * `goal <name>: <value> (target <target>) ok|short`. `atLeast` says which side of the target is good.
 */
export function printGoal(name: string, value: number, target: number, unit: string, atLeast = true): void {
  const ok = atLeast ? value >= target : value <= target;
  const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2));
  console.log(`goal ${name}: ${fmt(value)}${unit} (target ${atLeast ? '≥' : '≤'} ${fmt(target)}${unit}) ${ok ? 'ok' : 'short'}`);
}
