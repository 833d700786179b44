import { Hono } from 'hono';
import { runHealthChecks, type HealthCheck } from '../device/health.js';
import { log } from '../log/logger.js';

export interface AppDeps {
  health: HealthCheck[];
  /** Extra route groups mounted by the services the box runs (source, dicomweb, consumer...). */
  mount?: (app: Hono) => void;
}

/** The box's HTTP surface. Routes stay thin: they call services and map outcomes to HTTP. */
export function createHttpApp(deps: AppDeps): Hono {
  const app = new Hono();
  // Public liveness only: which checks pass, never their detail (PACS address, AE title, DMP texts). The detail
  // is on the LAN side, behind the administrator's PIN.
  app.get('/health', async (c) => {
    const report = await runHealthChecks(deps.health);
    return c.json({ ok: report.ok, checkedAt: report.checkedAt, checks: report.checks.map(({ name, ok }) => ({ name, ok })) }, report.ok ? 200 : 503);
  });
  deps.mount?.(app);
  app.notFound((c) => c.json({ error: 'not found' }, 404));
  app.onError((err, c) => {
    // Never a stack trace or a PACS detail in a response body.
    log.error('http request failed', { path: c.req.path, method: c.req.method, error: err });
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}
