import { Hono } from 'hono';
import { acceptHttpReport, type IntakeDeps } from '../source/report-intake.js';
import { RejectedMessage } from '../source/report-processor.js';
import type { Outbox } from '../store/outbox.js';
import type { ReportInbox } from '../store/report-inbox.js';

/** Largest report accepted over HTTP (a CDA with an embedded PDF stays well below). */
const MAX_REPORT_BYTES = 32 * 1024 * 1024;

export interface SourceRoutesDeps extends IntakeDeps {
  outbox: Outbox;
  inbox: ReportInbox;
}

/** `POST /api/source/reports` for RIS that prefer HTTP to MLLP; `GET /api/source/status` for the setup screen. */
export function createSourceRoutes(deps: SourceRoutesDeps): Hono {
  const app = new Hono();
  app.post('/reports', async (c) => {
    const declared = Number(c.req.header('content-length') ?? '0');
    if (declared > MAX_REPORT_BYTES) return c.json({ error: `report larger than ${MAX_REPORT_BYTES} bytes` }, 413);
    const body = Buffer.from(await c.req.arrayBuffer());
    if (body.length > MAX_REPORT_BYTES) return c.json({ error: `report larger than ${MAX_REPORT_BYTES} bytes` }, 413);
    try {
      const result = acceptHttpReport(deps, body, c.req.header('x-forwarded-for') ?? undefined);
      return c.json({ inboxId: result.inboxId, ...(result.error ? { error: result.error } : { state: 'accepted' }) }, result.status);
    } catch (err) {
      if (err instanceof RejectedMessage) return c.json({ error: err.message }, 400);
      throw err;
    }
  });
  app.get('/status', (c) =>
    c.json({
      outbox: deps.outbox.counts(),
      stuck: deps.outbox.list({ state: 'dead', limit: 20 }).map((r) => ({ id: r.id, op: r.op, uniqueId: r.uniqueId, error: r.lastError })),
      waitingReports: deps.inbox.list({ state: 'waiting', limit: 20 }).map((r) => ({ id: r.id, receivedAt: r.receivedAt, reason: r.error })),
    }),
  );
  return app;
}
