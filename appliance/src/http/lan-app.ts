import { Hono, type MiddlewareHandler } from 'hono';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { log } from '../log/logger.js';
import type { RisCredential } from '../auth/ris/index.js';

/** Where a request on the practice's side came from: the touch screen (loopback) or the LAN. */
export type LanOrigin = 'kiosk' | 'lan';

export interface LanEnv {
  Variables: { origin: LanOrigin; clientAddress: string };
}

export interface LanAppDeps {
  clientAddress: (c: Context) => string;
  ris: RisCredential;
  /** Route groups of the practice's side; each one guards its own routes (RIS credential, admin PIN). */
  mount?: (app: Hono<LanEnv>) => void;
}

/**
 * The practice's side of the box, served on the LAN listener and on the kiosk's loopback listener — never on
 * the public one. Nothing here is open: each route group says who may call it (docs/SECURITY.md).
 */
export function createLanApp(deps: LanAppDeps, origin: LanOrigin): Hono<LanEnv> {
  const app = new Hono<LanEnv>();
  app.use('*', async (c, next) => {
    c.set('origin', origin);
    c.set('clientAddress', origin === 'kiosk' ? '127.0.0.1' : deps.clientAddress(c));
    await next();
  });
  // Liveness for the container's health check: the process answers; nothing about the box's state.
  app.get('/health', (c) => c.json({ alive: true }));
  deps.mount?.(app);
  app.notFound((c) => c.json({ error: 'not found' }, 404));
  app.onError((err, c) => {
    // An answer decided on the way (a full session gate: 503), not a failure.
    if (err instanceof HTTPException) return err.getResponse();
    log.error('http request failed', { listener: origin, path: c.req.path, method: c.req.method, error: err });
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}

/** Only the RIS, by its bearer token, from an allowed address (ris.*). */
export function requireRis(ris: RisCredential): MiddlewareHandler<LanEnv> {
  return async (c, next) => {
    const decision = ris.check(c.get('clientAddress'), c.req.header('authorization'));
    if (!decision.ok) {
      log.warn('RIS request refused', { listener: c.get('origin'), remote: c.get('clientAddress'), path: c.req.path, reason: decision.reason });
      return c.json({ error: decision.reason }, decision.status);
    }
    await next();
  };
}
