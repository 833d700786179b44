import { Hono } from 'hono';
import { SETUP } from '../../../ui/strings/setup.js';
import { StatusPage, StatusTiles } from '../../../ui/status/status-page.js';
import { loadStatusAssets } from '../../../ui/status/assets.js';
import { STATUS } from '../../../ui/strings/status.js';
import type { StatusReport } from '../device/status-report.js';
import type { Outbox } from '../store/outbox.js';
import { log as rootLog, type Logger } from '../log/logger.js';
import { formToken, practiceAccess, requireAdmin, staticAssets, type AdminAccessDeps, type AdminEnv } from './admin-access.js';
import { practiceScreenHeaders } from './page-headers.js';

export interface StatusRoutesDeps {
  /** The practice side's sessions (the setup routes' gate). */
  access: AdminAccessDeps;
  report: () => Promise<StatusReport>;
  outbox: Pick<Outbox, 'retry'>;
  /** Wakes the outbox's sender after a retry. */
  wake: () => void;
  boxName: string;
  /** Sends a test report through the whole chain; rejects with the reason. The button shows only when given. */
  sendTestReport?: () => Promise<void>;
  log?: Logger;
}

/** `id` of the retry form: one dead letter's number, or every dead letter. */
function retryTarget(id: unknown): number[] | 'all-dead' | undefined {
  if (id === 'all') return 'all-dead';
  return typeof id === 'string' && /^[1-9][0-9]{0,11}$/.test(id) ? [Number(id)] : undefined;
}

/**
 * `/status`: the touch screen's home once set up (open there: physical presence), an administrator's page from the
 * LAN. Sessions and form tokens: admin-access.ts, with the setup routes' gate.
 */
export function createStatusRoutes(deps: StatusRoutesDeps): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const log = deps.log ?? rootLog.child({ component: 'status' });
  const admin = requireAdmin();
  app.use('*', practiceScreenHeaders());
  // Static files first: a stylesheet or a script never opens a session.
  app.get('/assets/:name', staticAssets(loadStatusAssets()));
  app.use('*', ...practiceAccess(deps.access, (c) => c.text(SETUP.access.forbidden, 403)));
  app.use('*', async (c, next) => (c.get('origin') === 'kiosk' ? next() : admin(c, next)));
  app.get('/', async (c) => {
    const retried = c.req.query('reessaye');
    const test = c.req.query('essai');
    const message = retried && /^\d{1,6}$/.test(retried) ? STATUS.retried(Number(retried)) : test === 'envoye' ? STATUS.testReportSent : undefined;
    const failure = test === 'echec' ? STATUS.testReportFailed : undefined;
    const page = StatusPage({ view: await deps.report(), csrf: formToken(c), boxName: deps.boxName, testReport: !!deps.sendTestReport, ...(message ? { message } : {}), ...(failure ? { failure } : {}) });
    return c.html(String(page));
  });
  app.get('/tiles', async (c) => c.html(String(StatusTiles({ view: await deps.report(), csrf: formToken(c) }))));
  app.get('/report.json', async (c) => c.json(await deps.report()));
  app.post('/dead-letters/retry', async (c) => {
    const target = retryTarget((await c.req.parseBody()).id);
    if (!target) return c.text(STATUS.badRetry, 400);
    const n = deps.outbox.retry(target);
    log.info('dead letters retried from the status screen', { target: target === 'all-dead' ? 'all' : target[0], retried: n, origin: c.get('origin') });
    if (n) deps.wake();
    return c.redirect(`/status?reessaye=${n}`, 303);
  });
  const send = deps.sendTestReport;
  if (send) {
    app.post('/test-report', async (c) => {
      try {
        await send();
        return c.redirect('/status?essai=envoye', 303);
      } catch (err) {
        log.warn('test report from the status screen failed', { error: err });
        return c.redirect('/status?essai=echec', 303);
      }
    });
  }
  return app;
}
