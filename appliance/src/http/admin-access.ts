import { SETUP } from '../../../ui/strings/setup.js';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import { SessionsFullError, type AdminGate, type AdminSession } from '../setup/admin-gate.js';
import type { LanEnv } from './lan-app.js';

export const CSRF_FIELD = '_csrf';
export const ADMIN_COOKIE = 'drimbox_admin';
const COOKIE = ADMIN_COOKIE;

export type AdminEnv = LanEnv & {
  Variables: LanEnv['Variables'] & {
    /** The session the request's cookie names, if alive; none is opened until a page needs one (sessionOf). */
    session: AdminSession | undefined;
    /** The touch screen before the first setup: the administrator by physical presence, without a PIN. */
    adminByPresence: boolean;
    openSession: () => AdminSession;
  };
};

export interface AdminAccessDeps {
  gate: AdminGate;
  /** False until the first setup is applied: the touch screen is then open without a PIN. */
  isSetUp: () => boolean;
  /** The LAN listener speaks TLS: its cookie is then Secure. */
  secureLan: boolean;
}

function sendCookie(c: Context<AdminEnv>, session: AdminSession, secure: boolean): void {
  setCookie(c, COOKIE, session.id, { httpOnly: true, sameSite: 'Strict', path: '/', secure });
}

/** A new session with its cookie; a 503 when the gate has room only for administrators' sessions. */
function openWithCookie(c: Context<AdminEnv>, deps: Pick<AdminAccessDeps, 'gate' | 'secureLan'>, admin: boolean): AdminSession {
  let session: AdminSession;
  try {
    session = deps.gate.open(c.get('origin'), admin);
  } catch (err) {
    if (!(err instanceof SessionsFullError)) throw err;
    throw new HTTPException(503, { res: c.text(SETUP.access.busy, 503, { 'retry-after': '60' }) });
  }
  sendCookie(c, session, c.get('origin') === 'lan' && deps.secureLan);
  c.set('session', session);
  return session;
}

/**
 * Sessions of the practice's side. The cookie's session, if any, is found here; a new one is opened only when a page
 * needs it (sessionOf: a form token, the PIN page), so that static files and redirects never fill the gate. On the
 * touch screen before the first setup a session is an administrator's, otherwise it becomes one when the PIN is given.
 */
export function withSession(deps: AdminAccessDeps): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const origin = c.get('origin');
    const byPresence = origin === 'kiosk' && !deps.isSetUp();
    const session = deps.gate.session(getCookie(c, COOKIE), origin);
    if (session && byPresence) session.admin = true;
    c.set('session', session);
    c.set('adminByPresence', byPresence);
    c.set('openSession', () => openWithCookie(c, deps, byPresence));
    await next();
  };
}

/** The request's session, opened (with its cookie) if it has none yet. */
export function sessionOf(c: Context<AdminEnv>): AdminSession {
  return c.get('session') ?? c.get('openSession')();
}

/** The hidden field a page's forms carry: the session's token (the session opened if need be). */
export function formToken(c: Context<AdminEnv>): { name: string; token: string } {
  return { name: CSRF_FIELD, token: sessionOf(c).csrf };
}

/** The PIN was given: a new session (new cookie, new form token) replaces the anonymous one — no fixation. */
export function promoteToAdmin(c: Context<AdminEnv>, deps: Pick<AdminAccessDeps, 'gate' | 'secureLan'>): void {
  const before = c.get('session');
  if (before) deps.gate.close(before.id);
  openWithCookie(c, deps, true);
}

/** The administrator only: a page asks for the PIN, an API call is refused. */
export function requireAdmin(): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    if (c.get('session')?.admin || c.get('adminByPresence')) return next();
    if (c.req.method === 'GET' && !c.req.path.startsWith('/api/')) return c.redirect(`/setup/code?suite=${encodeURIComponent(c.req.path)}`, 303);
    return c.json({ error: SETUP.access.pinRequired }, 401);
  };
}

function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * Forms come from the box's own pages: the session's token in the body (or the X-CSRF-Token header), and, when the
 * browser says where the request comes from, that origin is the box's. A form without a session is refused.
 */
export function requireCsrf(gate: AdminGate, onRefused: (c: Context<AdminEnv>) => Response | Promise<Response>): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const origin = c.req.header('origin');
    if (origin && !sameHost(origin, c.req.header('host'))) return onRefused(c);
    const type = c.req.header('content-type') ?? '';
    let token = c.req.header('x-csrf-token');
    if (!token && (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data'))) {
      const body = await c.req.parseBody();
      token = typeof body[CSRF_FIELD] === 'string' ? (body[CSRF_FIELD] as string) : undefined;
    }
    const session = c.get('session');
    if (!session || !gate.csrfMatches(session, token)) return onRefused(c);
    await next();
  };
}

/** The session and form-token checks of a group of practice pages, in order. */
export function practiceAccess(deps: AdminAccessDeps, onRefused: (c: Context<AdminEnv>) => Response | Promise<Response>): MiddlewareHandler<AdminEnv>[] {
  return [withSession(deps), requireCsrf(deps.gate, onRefused)];
}

/** A page group's static files (style, script), served before any session is looked at: no session for an asset. */
export function staticAssets(assets: Map<string, { body: string; contentType: string }>): (c: Context<AdminEnv>) => Response | Promise<Response> {
  return (c) => {
    const asset = assets.get(c.req.param('name') ?? '');
    return asset ? c.body(asset.body, 200, { 'content-type': asset.contentType, 'cache-control': 'no-cache' }) : c.notFound();
  };
}
