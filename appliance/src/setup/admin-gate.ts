import { randomBytes, timingSafeEqual } from 'node:crypto';
import { verifyPin } from './admin-pin.js';

export type GateOrigin = 'kiosk' | 'lan';

export interface AdminSession {
  id: string;
  origin: GateOrigin;
  /** Form token of this session (CSRF): every POST carries it. */
  csrf: string;
  /** True once the PIN was given (or on the touch screen before the first setup). */
  admin: boolean;
  lastSeenMs: number;
  createdMs: number;
}

export type PinCheck = { ok: true } | { ok: false; reason: 'wrong-pin'; triesLeft: number } | { ok: false; reason: 'locked'; minutesLeft: number } | { ok: false; reason: 'no-pin' };

export interface AdminGateSettings {
  maxPinFailures: number;
  pinLockMinutes: number;
  sessionIdleMinutes: number;
}

export const MAX_SESSIONS = 64;
const MAX_SESSION_AGE_MS = 8 * 3_600_000;

/** Every place in the gate holds an administrator's session: an anonymous visitor gets none rather than evicting one. */
export class SessionsFullError extends Error {
  constructor() {
    super(`all ${MAX_SESSIONS} admin sessions are in use`);
    this.name = 'SessionsFullError';
  }
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Who may change the box: sessions (a cookie naming one, bounded in number and lifetime), each with its form token,
 * and the PIN's wrong-try counter — one per origin, so that a stranger on the LAN trying PINs locks the LAN out,
 * not the technician at the touch screen. Kept in memory: a restart ends every session.
 */
export class AdminGate {
  private readonly sessions = new Map<string, AdminSession>();
  private readonly failures: Record<GateOrigin, { count: number; lockedUntilMs: number }> = { kiosk: { count: 0, lockedUntilMs: 0 }, lan: { count: 0, lockedUntilMs: 0 } };

  constructor(
    private readonly settings: AdminGateSettings,
    private readonly pinHash: () => string,
    // A monotonic clock: idle and absolute session lifetimes and PIN locks are durations, which a wall clock set
    // forward (shorter lock) or back (longer session) must not change.
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The session a cookie names, if alive; touching it extends its idle time. */
  session(id: string | undefined, origin: GateOrigin): AdminSession | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    const t = this.now();
    if (!s || s.origin !== origin) return undefined;
    if (t - s.lastSeenMs > this.settings.sessionIdleMinutes * 60_000 || t - s.createdMs > MAX_SESSION_AGE_MS) {
      this.sessions.delete(id);
      return undefined;
    }
    s.lastSeenMs = t;
    return s;
  }

  /**
   * A new session. The map stays bounded: when it is full the least recently seen anonymous session goes — never an
   * administrator's for an anonymous visitor (a stranger's burst of requests must not log the technician out). With
   * no anonymous one left, an administrator's new session replaces the oldest administrator's, and an anonymous one
   * is refused (SessionsFullError).
   */
  open(origin: GateOrigin, admin: boolean): AdminSession {
    this.expire();
    if (this.sessions.size >= MAX_SESSIONS) {
      const victim = this.leastRecent((s) => !s.admin) ?? (admin ? this.leastRecent(() => true) : undefined);
      if (!victim) throw new SessionsFullError();
      this.sessions.delete(victim.id);
    }
    const t = this.now();
    const s: AdminSession = { id: randomBytes(32).toString('base64url'), origin, csrf: randomBytes(32).toString('base64url'), admin, lastSeenMs: t, createdMs: t };
    this.sessions.set(s.id, s);
    return s;
  }

  close(id: string): void {
    this.sessions.delete(id);
  }

  /** Every session ends (PIN changed, factory reset). */
  closeAll(): void {
    this.sessions.clear();
  }

  csrfMatches(session: AdminSession, token: string | undefined): boolean {
    return typeof token === 'string' && sameToken(session.csrf, token);
  }

  /** Checks a PIN typed at `origin`; refused unseen while that origin is locked. */
  async checkPin(origin: GateOrigin, pin: string): Promise<PinCheck> {
    const hash = this.pinHash();
    if (!hash) return { ok: false, reason: 'no-pin' };
    const f = this.failures[origin];
    const t = this.now();
    if (f.lockedUntilMs > t) return { ok: false, reason: 'locked', minutesLeft: Math.ceil((f.lockedUntilMs - t) / 60_000) };
    if (await verifyPin(pin, hash)) {
      f.count = 0;
      return { ok: true };
    }
    f.count += 1;
    if (f.count >= this.settings.maxPinFailures) {
      f.count = 0;
      f.lockedUntilMs = this.now() + this.settings.pinLockMinutes * 60_000;
      return { ok: false, reason: 'locked', minutesLeft: this.settings.pinLockMinutes };
    }
    return { ok: false, reason: 'wrong-pin', triesLeft: this.settings.maxPinFailures - f.count };
  }

  private leastRecent(which: (s: AdminSession) => boolean): AdminSession | undefined {
    let found: AdminSession | undefined;
    for (const s of this.sessions.values()) if (which(s) && (!found || s.lastSeenMs < found.lastSeenMs)) found = s;
    return found;
  }

  private expire(): void {
    const t = this.now();
    for (const [id, s] of this.sessions) {
      if (t - s.lastSeenMs > this.settings.sessionIdleMinutes * 60_000 || t - s.createdMs > MAX_SESSION_AGE_MS) this.sessions.delete(id);
    }
  }
}
