/**
 * Session lifetimes on a wall clock that may jump (a Raspberry Pi has no real-time clock; NTP sets it after boot,
 * an operator may set it by hand). Sessions are stored with wall-clock times, so they survive a restart; within one
 * run of the box, each session seen also gets a deadline on the monotonic clock, which no jump moves. A session is
 * over when either clock says so, so turning the clock back never lengthens one. A record first seen in this run
 * stamped in the future (the clock went back before a restart) is over too: nothing it says can be trusted.
 */

/** Tolerated disagreement between the time a record was stamped and now (clocks of one box, seconds apart). */
export const CLOCK_SKEW_MS = 5 * 60_000;
/** Sessions followed on the monotonic clock at once; the oldest is forgotten past this (the wall clock still counts). */
const MAX_TRACKED = 10_000;

export interface SessionTimes {
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

interface Deadlines {
  /** performance.now() at which the session ends. */
  end: number;
  /** performance.now() of its last use. */
  lastSeen: number;
}

export class SessionClockGuard {
  private readonly tracked = new Map<string, Deadlines>();

  constructor(
    private readonly idleMs: number,
    private readonly monotonicNow: () => number = () => performance.now(),
  ) {}

  /** Whether the session is over at wall time `now`, by the wall clock or, since first seen in this run, the monotonic one. */
  isOver(id: string, row: SessionTimes, now: number): boolean {
    if (row.expiresAt <= now || row.lastSeenAt + this.idleMs <= now) return true;
    const mono = this.monotonicNow();
    let deadlines = this.tracked.get(id);
    if (!deadlines) {
      if (row.createdAt > now + CLOCK_SKEW_MS || row.lastSeenAt > now + CLOCK_SKEW_MS) return true;
      deadlines = this.track(id, { end: mono + (row.expiresAt - now), lastSeen: mono - (now - row.lastSeenAt) });
    }
    return deadlines.end <= mono || deadlines.lastSeen + this.idleMs <= mono;
  }

  /** The session was used now. */
  seen(id: string): void {
    const deadlines = this.tracked.get(id);
    if (deadlines) deadlines.lastSeen = this.monotonicNow();
  }

  /** A session starts now, for `ttlMs`. */
  started(id: string, ttlMs: number): void {
    const mono = this.monotonicNow();
    this.track(id, { end: mono + ttlMs, lastSeen: mono });
  }

  forget(id: string): void {
    this.tracked.delete(id);
  }

  private track(id: string, deadlines: Deadlines): Deadlines {
    this.tracked.delete(id);
    if (this.tracked.size >= MAX_TRACKED) this.tracked.delete(this.tracked.keys().next().value!);
    this.tracked.set(id, deadlines);
    return deadlines;
  }
}
