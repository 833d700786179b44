import { createHash, randomBytes } from 'node:crypto';
import type { PendingLogin, PscTokens } from '../psc/types.js';
import { clearCookie, cookieValues, serializeCookie, type CookieSettings } from './cookie.js';
import type { PortalUser } from './user.js';
import type { SessionRow } from '../../store/consumer-sessions.js';
import { SessionClockGuard } from './clock-guard.js';

/**
 * Server-side sessions of the consumer portal. The browser holds only a random 256-bit value; the box keeps a
 * SHA-256 digest of it as the key, so its database never holds a usable session id. A session has an absolute end
 * and an idle limit, is bound to one professional once logged in, and gets a new id at login (no fixation). Nothing
 * here is module-level: every session's state lives in its own record.
 */

/** What is persisted per session (store/consumer-sessions.ts implements the records). */
export type SessionRecord = SessionRow;

export interface SessionRecords {
  insert(row: SessionRecord): void;
  get(id: string): SessionRecord | undefined;
  touch(id: string, at: number): void;
  setPendingLogin(id: string, pendingLogin: string | undefined): void;
  setResumeContext(id: string, context: string | undefined): void;
  setTokens(id: string, tokens: { accessToken: string; idToken?: string; refreshToken?: string; expiresAt: number }): void;
  delete(id: string): boolean;
  deleteExpired(now: number, idleBefore: number): number;
  /** Hands what the old session opened to the new one (id rotation at login). */
  moveOpened(fromSessionId: string, toSessionId: string): void;
}

export interface SessionSettings {
  /** Absolute lifetime of a session. */
  ttlMs: number;
  /** A session unused this long is over. */
  idleMs: number;
  cookie: CookieSettings;
}

/** The login in progress: PKCE and state, and where to go once logged in. */
export interface PendingPortalLogin extends PendingLogin {
  returnTo: string;
  startedAt: number;
}

export interface Session {
  /** Digest of the cookie value: the key of everything the session owns. */
  readonly id: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly user?: PortalUser;
  readonly tokens?: SessionTokens;
  readonly pendingLogin?: PendingPortalLogin;
  /** A contextual call received before the login, applied once logged in (JSON, owned by consumer/). */
  readonly resumeContext?: string;
}

/** PSC's tokens as a session holds them (the refresh token only when PSC gave one). */
export interface SessionTokens {
  accessToken: string;
  idToken?: string;
  refreshToken?: string;
  expiresAt: number;
}

/** A professional's session: PSC tokens, or a CPS card (user.authentication) and then no tokens. */
export interface AuthenticatedSession extends Session {
  readonly user: PortalUser;
}

export function isAuthenticated(s: Session | undefined): s is AuthenticatedSession {
  return !!s?.user && (!!s.tokens || !!s.user.authentication);
}

/** A session and the Set-Cookie header that gives it to the browser. */
export interface IssuedSession {
  session: Session;
  setCookie: string;
}

const TOUCH_EVERY_MS = 30_000;

function digest(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

function parse<T>(json: string | undefined): T | undefined {
  if (!json) return undefined;
  try {
    return JSON.parse(json) as T;
  } catch {
    return undefined;
  }
}

export class SessionManager {
  private readonly clock: SessionClockGuard;

  constructor(
    private readonly records: SessionRecords,
    private readonly settings: SessionSettings,
    private readonly now: () => number = Date.now,
    monotonicNow?: () => number,
  ) {
    if (settings.idleMs <= 0 || settings.ttlMs <= 0) throw new RangeError('session lifetimes must be positive');
    this.clock = new SessionClockGuard(settings.idleMs, monotonicNow);
  }

  get cookieSettings(): CookieSettings {
    return this.settings.cookie;
  }

  /** The live session named by the request's Cookie header, or undefined (unknown, expired, idle too long). */
  resolve(cookieHeader: string | null | undefined): Session | undefined {
    const now = this.now();
    for (const value of cookieValues(cookieHeader, this.settings.cookie.name)) {
      const id = digest(value);
      const row = this.records.get(id);
      if (!row) continue;
      if (this.clock.isOver(id, row, now)) {
        this.records.delete(id);
        this.clock.forget(id);
        continue;
      }
      this.clock.seen(id);
      if (now - row.lastSeenAt >= TOUCH_EVERY_MS) this.records.touch(id, now);
      return this.toSession(row);
    }
    return undefined;
  }

  /** A new session without a user (to carry a login in progress or a contextual call). */
  create(): IssuedSession {
    const now = this.now();
    const value = randomBytes(32).toString('base64url');
    const row: SessionRecord = { id: digest(value), createdAt: now, lastSeenAt: now, expiresAt: now + this.settings.ttlMs };
    this.records.insert(row);
    this.clock.started(row.id, this.settings.ttlMs);
    return { session: this.toSession(row), setCookie: serializeCookie(this.settings.cookie, value, this.settings.ttlMs / 1000) };
  }

  beginLogin(session: Session, pending: PendingPortalLogin): void {
    this.records.setPendingLogin(session.id, JSON.stringify(pending));
  }

  setResumeContext(session: Session, context: string | undefined): void {
    this.records.setResumeContext(session.id, context);
  }

  /**
   * Ends the login: a new session (new id, new cookie) bound to the professional, carrying what the anonymous one
   * held (a contextual call waiting for the login); the old id stops working.
   */
  completeLogin(previous: Session, user: PortalUser, tokens: PscTokens | undefined, keepResumeContext = true): IssuedSession {
    const now = this.now();
    const value = randomBytes(32).toString('base64url');
    const row: SessionRecord = {
      id: digest(value),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + this.settings.ttlMs,
      user: JSON.stringify(user),
      ...(tokens ? { accessToken: tokens.accessToken, idToken: tokens.idToken, refreshToken: tokens.refreshToken, tokenExpiresAt: tokens.expiresAt } : {}),
      ...(keepResumeContext && previous.resumeContext ? { resumeContext: previous.resumeContext } : {}),
    };
    this.records.insert(row);
    this.clock.started(row.id, this.settings.ttlMs);
    // A logged-in session logging in again (another professional at the same browser) starts empty.
    if (!previous.user || previous.user.subjectNameId === user.subjectNameId) this.records.moveOpened(previous.id, row.id);
    this.records.delete(previous.id);
    return { session: this.toSession(row), setCookie: serializeCookie(this.settings.cookie, value, this.settings.ttlMs / 1000) };
  }

  /** The session with renewed PSC tokens (a refresh grant), stored. */
  renewTokens<S extends Session>(session: S, tokens: PscTokens): S {
    const next: SessionTokens = {
      accessToken: tokens.accessToken,
      ...(tokens.idToken || session.tokens?.idToken ? { idToken: tokens.idToken || session.tokens!.idToken! } : {}),
      ...(tokens.refreshToken || session.tokens?.refreshToken ? { refreshToken: tokens.refreshToken || session.tokens!.refreshToken! } : {}),
      expiresAt: tokens.expiresAt,
    };
    this.records.setTokens(session.id, next);
    return { ...session, tokens: next };
  }

  /** Ends a session: its record and everything it opened go; returns the header that clears the cookie. */
  end(session: Session): string {
    this.records.delete(session.id);
    this.clock.forget(session.id);
    return clearCookie(this.settings.cookie);
  }

  clearCookieHeader(): string {
    return clearCookie(this.settings.cookie);
  }

  /** Deletes expired and idle sessions; run it periodically. */
  sweep(): number {
    const now = this.now();
    return this.records.deleteExpired(now, now - this.settings.idleMs);
  }

  private toSession(row: SessionRecord): Session {
    const user = parse<PortalUser>(row.user);
    const pendingLogin = parse<PendingPortalLogin>(row.pendingLogin);
    return {
      id: row.id,
      createdAt: row.createdAt,
      expiresAt: row.expiresAt,
      ...(user ? { user } : {}),
      ...(user && row.accessToken && row.tokenExpiresAt !== undefined
        ? { tokens: { accessToken: row.accessToken, ...(row.idToken ? { idToken: row.idToken } : {}), ...(row.refreshToken ? { refreshToken: row.refreshToken } : {}), expiresAt: row.tokenExpiresAt } }
        : {}),
      ...(pendingLogin ? { pendingLogin } : {}),
      ...(row.resumeContext ? { resumeContext: row.resumeContext } : {}),
    };
  }
}

/** Whether the Pro Santé Connect access token of a session is still usable for `marginSeconds` more. */
export function tokenUsable(session: AuthenticatedSession, nowMs: number, marginSeconds = 15): boolean {
  return !!session.tokens && session.tokens.expiresAt - marginSeconds > nowMs / 1000;
}
