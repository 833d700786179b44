import { SETUP } from '../../../ui/strings/setup.js';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { AdminGate, AdminSession } from '../setup/admin-gate.js';
import type { LanEnv } from './lan-app.js';

export const CSRF_FIELD = '_csrf';
export const ADMIN_COOKIE = 'drimbox_admin';
const COOKIE = ADMIN_COOKIE;

export type AdminEnv = LanEnv & { Variables: LanEnv['Variables'] & { session: AdminSession } };

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

/**
 * Sessions of the practice's side. Every visitor gets a session (its cookie and form token); on the touch screen
 * before the first setup it is an administrator's, otherwise it becomes one when the PIN is given.
 */
export function withSession(deps: AdminAccessDeps): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const origin = c.get('origin');
    let session = deps.gate.session(getCookie(c, COOKIE), origin);
    if (!session) {
      session = deps.gate.open(origin, origin === 'kiosk' && !deps.isSetUp());
      sendCookie(c, session, origin === 'lan' && deps.secureLan);
    } else if (origin === 'kiosk' && !deps.isSetUp()) session.admin = true;
    c.set('session', session);
    await next();
  };
}

/** The PIN was given: a new session (new cookie, new form token) replaces the anonymous one — no fixation. */
export function promoteToAdmin(c: Context<AdminEnv>, deps: Pick<AdminAccessDeps, 'gate' | 'secureLan'>): void {
  deps.gate.close(c.get('session').id);
  const session = deps.gate.open(c.get('origin'), true);
  sendCookie(c, session, c.get('origin') === 'lan' && deps.secureLan);
  c.set('session', session);
}

/** The administrator only: a page asks for the PIN, an API call is refused. */
export function requireAdmin(): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    if (c.get('session').admin) return next();
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
 * browser says where the request comes from, that origin is the box's.
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
    if (!gate.csrfMatches(c.get('session'), token)) return onRefused(c);
    await next();
  };
}
