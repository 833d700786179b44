import { Hono } from 'hono';
import { acceptHttpReport, type IntakeDeps } from '../source/report-intake.js';
import { RejectedMessage } from '../source/report-processor.js';
import type { Outbox } from '../store/outbox.js';
import type { ReportInbox } from '../store/report-inbox.js';
import type { RisCredential } from '../auth/ris/index.js';
import { requireRis, type LanEnv } from './lan-app.js';
import { runHealthChecks, type HealthCheck } from '../device/health.js';

/** Largest report accepted over HTTP (a CDA with an embedded PDF stays well below). */
const MAX_REPORT_BYTES = 32 * 1024 * 1024;

export interface SourceRoutesDeps extends IntakeDeps {
  outbox: Outbox;
  inbox: ReportInbox;
  ris: RisCredential;
  /** The box's health checks, with their detail (the public /health has none). */
  health: HealthCheck[];
}

/**
 * On the LAN listener only: `POST /api/source/reports` for RIS that prefer HTTP to MLLP, `GET /api/source/status`
 * (queue, DMP error texts). Both need the RIS credential.
 */
export function createSourceRoutes(deps: SourceRoutesDeps): Hono<LanEnv> {
  const app = new Hono<LanEnv>();
  app.use('*', requireRis(deps.ris));
  app.post('/reports', async (c) => {
    const refusal = await deps.admission?.();
    if (refusal) return c.json({ error: refusal }, 503, { 'retry-after': '300' });
    const declared = Number(c.req.header('content-length') ?? '0');
    if (declared > MAX_REPORT_BYTES) return c.json({ error: `report larger than ${MAX_REPORT_BYTES} bytes` }, 413);
    const body = Buffer.from(await c.req.arrayBuffer());
    if (body.length > MAX_REPORT_BYTES) return c.json({ error: `report larger than ${MAX_REPORT_BYTES} bytes` }, 413);
    try {
      const result = acceptHttpReport(deps, body, c.get('clientAddress'));
      return c.json({ inboxId: result.inboxId, ...(result.error ? { error: result.error } : { state: 'accepted' }) }, result.status);
    } catch (err) {
      if (err instanceof RejectedMessage) return c.json({ error: err.message }, 400);
      throw err;
    }
  });
  app.get('/status', async (c) =>
    c.json({
      health: await runHealthChecks(deps.health),
      outbox: deps.outbox.counts(),
      stuck: deps.outbox.list({ state: 'dead', limit: 20 }).map((r) => ({ id: r.id, op: r.op, uniqueId: r.uniqueId, error: r.lastError })),
      waitingReports: deps.inbox.list({ state: 'waiting', limit: 20 }).map((r) => ({ id: r.id, receivedAt: r.receivedAt, reason: r.error })),
    }),
  );
  return app;
}
