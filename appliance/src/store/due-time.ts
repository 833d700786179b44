/**
 * When queued work is due, on a wall clock that may go back (a Raspberry Pi has no real-time clock; NTP corrects it
 * after boot). Fresh work is always due; a retry time further ahead than any the queue sets was set by a clock
 * ahead of the present one, so it is due now rather than stalled until the clock catches up.
 */

/** Retry times after this (ISO string, comparable in SQL) count as due now. */
export function clockWentBackAfter(now: Date, longestWaitMs: number): string {
  return new Date(now.getTime() + longestWaitMs + 60_000).toISOString();
}

/** When to wake for the queue: `earliest` and `fresh` are MIN(next_attempt_at) and the count of fresh rows. */
export function nextWake(row: { earliest: string | null; fresh: number | null }, now: Date, longestWaitMs: number): Date | undefined {
  if (!row.earliest) return undefined;
  return row.fresh || row.earliest > clockWentBackAfter(now, longestWaitMs) ? now : new Date(row.earliest);
}
