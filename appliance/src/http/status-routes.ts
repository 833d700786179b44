import { Hono, type Context } from 'hono';
import { StatusPage, StatusTiles } from '../../../ui/status/status-page.js';
import { loadStatusAssets } from '../../../ui/status/assets.js';
import { STATUS } from '../../../ui/strings/status.js';
import type { StatusReport } from '../device/status-report.js';
import type { Outbox } from '../store/outbox.js';
import { CSRF_FIELD, requireAdmin, type AdminEnv } from './admin-access.js';

export interface StatusRoutesDeps {
  report: () => Promise<StatusReport>;
  outbox: Pick<Outbox, 'retry'>;
  /** Wakes the outbox's sender after a retry. */
  wake: () => void;
  boxName: string;
}

/**
 * `/status`: the touch screen's home once set up (open there: physical presence), an administrator's page from the
 * LAN. Sessions and form tokens are checked before (admin-access.ts, mounted with the setup routes' gate).
 */
export function createStatusRoutes(deps: StatusRoutesDeps): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const assets = loadStatusAssets();
  const csrfOf = (c: Context<AdminEnv>) => ({ name: CSRF_FIELD, token: c.get('session').csrf });
  const admin = requireAdmin();
  app.get('/assets/:name', (c) => {
    const asset = assets.get(c.req.param('name'));
    return asset ? c.body(asset.body, 200, { 'content-type': asset.contentType, 'cache-control': 'no-cache' }) : c.notFound();
  });
  app.use('*', async (c, next) => (c.get('origin') === 'kiosk' ? next() : admin(c, next)));
  app.get('/', async (c) => {
    const retried = c.req.query('reessaye');
    const message = retried && /^\d{1,6}$/.test(retried) ? STATUS.retried(Number(retried)) : undefined;
    return c.html(String(StatusPage({ view: await deps.report(), csrf: csrfOf(c), boxName: deps.boxName, ...(message ? { message } : {}) })));
  });
  app.get('/tiles', async (c) => c.html(String(StatusTiles({ view: await deps.report(), csrf: csrfOf(c) }))));
  app.get('/report.json', async (c) => c.json(await deps.report()));
  app.post('/dead-letters/retry', async (c) => {
    const id = (await c.req.parseBody()).id;
    if (typeof id !== 'string' || !(id === 'all' || /^[1-9][0-9]{0,11}$/.test(id))) return c.text('id: a number or "all"', 400);
    const n = deps.outbox.retry(id === 'all' ? 'all-dead' : [Number(id)]);
    if (n) deps.wake();
    return c.redirect(`/status?reessaye=${n}`, 303);
  });
  return app;
}
