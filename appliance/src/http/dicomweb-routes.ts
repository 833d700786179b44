import { compressImagesFor, type ImageCompression } from './compression-policy.js';
import { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono, type Context } from 'hono';
import { DicomwebError, type DicomwebResponse, type DicomwebService, type RequestContext } from '../dicomweb/index.js';
import { parseFrameList } from '../dicomweb/frames.js';
import { pipeLentToNodeResponse, pipeToNodeResponse, writeToNodeResponse } from '../dicomweb/node-response.js';
import { metered, toWebStream, type MeterResult } from '../dicomweb/streams.js';
import { isValidUid } from '../dicomweb/transfer-syntax.js';
import type { QueryLevel, RetrieveTarget } from '../dicom/model.js';
import { log as defaultLog, type Logger } from '../log/logger.js';
import type { AuditEnd, AuditEvent } from '../store/audit.js';
import type { WorkTracker } from '../device/work-tracker.js';

/**
 * DICOMweb routes of the source box, mounted at /dicom-web: thin over the DICOMweb service. Every request passes
 * the `authorize` hook first (token, KOS archive, whitelist: nothing is served without it) and is written to the
 * audit trail before anything is served, then completed with its outcome and the bytes actually sent.
 */

export type { AccessDecision, DicomwebAction, DicomwebResource } from '../dicomweb/access.js';
import type { AccessDecision, DicomwebAction, DicomwebResource } from '../dicomweb/access.js';

type Allowed = Extract<AccessDecision, { outcome: 'allow' }>;

/** Response bodies of refusals say no more than the status (who is refused, and why, is in the audit trail). */
const REFUSAL_TEXT: Record<number, string> = {
  401: 'authentication required',
  403: 'access denied',
  429: 'too many requests',
  503: 'service unavailable, try again later',
};

/** The access check the lead wires in (auth/access `decide`). It must not throw for a refused request. */
export type Authorize = (request: Request, resource: DicomwebResource) => Promise<AccessDecision>;

export interface AuditSink {
  record(event: AuditEvent): number;
  begin(event: Omit<AuditEvent, 'status' | 'outcome' | 'instances' | 'skipped' | 'bytesSent' | 'durationMs'>): number;
  finish(id: number, end: AuditEnd): void;
}

export interface DicomwebRoutesOptions {
  service: Pick<DicomwebService, 'search' | 'retrieve' | 'frames' | 'bulk' | 'studyMetadata' | 'seriesMetadata' | 'instanceMetadata'>;
  authorize: Authorize;
  audit: AuditSink;
  log?: Logger;
  /** The caller's address (the node adapter's getConnInfo); absent in tests that call app.request. */
  clientAddress?: (c: Context) => string | undefined;
  /** Counts each answer while it is served (the update lock); while it admits no new work, requests wait (503). */
  work?: Pick<WorkTracker, 'begin' | 'admits'>;
  /** When instances are served gzipped to a client that accepts it (default: never). */
  compressImages?: ImageCompression;
}

type Handler = (ctx: RequestContext, decision: Allowed) => Promise<DicomwebResponse>;

function jsonError(status: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: message }), { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });
}

/**
 * The HTTP/1.1 Node response under @hono/node-server (`c.env.outgoing`, its documented escape hatch): streamed
 * answers are written to it directly. Absent under app.request (tests) and HTTP/2: those get a web stream.
 */
function nodeResponse(c: Context): ServerResponse | undefined {
  const outgoing: unknown = (c.env as { outgoing?: unknown } | undefined)?.outgoing;
  return outgoing instanceof ServerResponse && !outgoing.headersSent ? outgoing : undefined;
}

const BULK_PATH = /^[0-9A-Fa-f]{8}(\/[0-9]{1,6}\/[0-9A-Fa-f]{8})*$/;

export function createDicomwebRoutes(options: DicomwebRoutesOptions): Hono {
  const { service, authorize, audit } = options;
  const log = options.log ?? defaultLog;
  const app = new Hono();

  function uids(c: Context): { study?: string; series?: string; sop?: string } {
    const out = { study: c.req.param('study'), series: c.req.param('series'), sop: c.req.param('sop') };
    for (const uid of Object.values(out)) if (uid !== undefined && !isValidUid(uid)) throw new DicomwebError(400, 'malformed UID in the path');
    return out;
  }

  async function handle(c: Context, action: DicomwebAction, level: DicomwebResource['level'], run: Handler): Promise<Response> {
    if (options.work && !options.work.admits()) return jsonError(503, 'the box is updating, try again in a few minutes', { 'retry-after': '120' });
    const end = options.work?.begin('wado-stream');
    let streaming = false;
    try {
      const response = await handleAdmitted(c, action, level, run, () => {
        streaming = true;
        return () => end?.();
      });
      return response;
    } finally {
      if (!streaming) end?.();
    }
  }

  /** `stream()` is called when the answer is a stream: it returns what ends the work once the stream ends. */
  async function handleAdmitted(c: Context, action: DicomwebAction, level: DicomwebResource['level'], run: Handler, stream: () => () => void): Promise<Response> {
    const started = performance.now();
    const url = new URL(c.req.url);
    let ids: ReturnType<typeof uids>;
    try {
      ids = uids(c);
    } catch (err) {
      const message = (err as Error).message;
      safeRecord({ at: new Date().toISOString(), clientAddress: safeAddress(c), method: c.req.method, path: url.pathname + url.search, action, status: 400, outcome: 'refused', reason: message, instances: 0, skipped: 0, bytesSent: 0, durationMs: performance.now() - started });
      return jsonError(400, message);
    }
    const resource: DicomwebResource = {
      action,
      level,
      studyInstanceUid: ids.study,
      seriesInstanceUid: ids.series,
      sopInstanceUid: ids.sop,
      kosSopInstanceUid: c.req.header('kos-sopinstanceuid')?.trim() || undefined,
    };
    const base = {
      at: new Date().toISOString(),
      clientAddress: safeAddress(c),
      kosSopInstanceUid: resource.kosSopInstanceUid,
      method: c.req.method,
      path: url.pathname + url.search,
      action,
      studyUid: ids.study,
      seriesUid: ids.series,
      sopInstanceUid: ids.sop,
    };
    const elapsed = () => performance.now() - started;

    let decision: AccessDecision;
    try {
      decision = await authorize(c.req.raw, resource);
    } catch (err) {
      // Fail closed: an access check that cannot run serves nothing.
      log.error('dicomweb: access check failed', { path: base.path, error: err });
      safeRecord({ ...base, status: 503, outcome: 'failed', reason: 'access check unavailable', instances: 0, skipped: 0, bytesSent: 0, durationMs: elapsed() });
      return jsonError(503, 'access check unavailable, try again later');
    }
    if (decision.outcome !== 'allow') {
      const headers: Record<string, string> = {};
      if (decision.status === 401) headers['www-authenticate'] = decision.wwwAuthenticate ?? 'Bearer';
      if (decision.retryAfterSeconds !== undefined) headers['retry-after'] = String(decision.retryAfterSeconds);
      const reason = decision.message ? `${decision.reason}: ${decision.message}` : decision.reason;
      safeRecord({ ...base, subjectNameId: decision.subjectNameId, status: decision.status, outcome: 'refused', reason, instances: 0, skipped: 0, bytesSent: 0, durationMs: elapsed() });
      return jsonError(decision.status, REFUSAL_TEXT[decision.status] ?? 'refused', headers);
    }
    const who = {
      subjectNameId: decision.subjectNameId,
      rpps: decision.rpps,
      callingBox: decision.callerDomain?.db ?? decision.callerDomain?.identifiant,
      kosSopInstanceUid: decision.kosSopInstanceUid ?? base.kosSopInstanceUid,
    };

    let auditId: number;
    try {
      auditId = audit.begin({ ...base, ...who });
    } catch (err) {
      log.error('dicomweb: audit trail unavailable, request refused', { path: base.path, error: err });
      return jsonError(503, 'audit trail unavailable, try again later');
    }
    const finish = (end: AuditEnd) => {
      try {
        audit.finish(auditId, end);
      } catch (err) {
        log.error('dicomweb: audit write failed', { id: auditId, error: err });
      }
    };

    const ctx: RequestContext = {
      accept: c.req.raw.headers.get('accept') ?? undefined,
      acceptEncoding: c.req.header('accept-encoding'),
      compressInstances: compressImagesFor(options.compressImages ?? 'never', options.clientAddress?.(c)),
      signal: c.req.raw.signal,
      coverage: decision.coverage,
    };
    let answer: DicomwebResponse;
    try {
      answer = await run(ctx, decision);
    } catch (err) {
      const status = err instanceof DicomwebError ? err.status : 500;
      const message = err instanceof DicomwebError && status !== 500 ? err.message : 'internal error';
      const aborted = ctx.signal.aborted;
      if (status >= 500 && !aborted) log.error('dicomweb: request failed', { path: base.path, status, error: err, detail: (err as DicomwebError).detail });
      finish({ status, outcome: aborted ? 'interrupted' : 'failed', reason: message, instances: 0, skipped: 0, bytesSent: 0, durationMs: elapsed() });
      return jsonError(status, message);
    }

    const served = answer.served;
    if (answer.body === null || answer.body instanceof Uint8Array) {
      finish({ status: answer.status, outcome: 'complete', instances: served.instances, skipped: served.skipped, bytesSent: answer.body?.byteLength ?? 0, durationMs: elapsed() });
      return new Response(answer.body === null ? null : new Uint8Array(answer.body), { status: answer.status, headers: answer.headers });
    }
    const streamEnded = stream();
    const onEnd = (m: MeterResult) => {
      streamEnded();
      if (m.error && !ctx.signal.aborted) log.warn('dicomweb: response cut short', { path: base.path, bytes: m.bytes, error: m.error });
      finish({
        status: answer.status,
        outcome: m.completed ? 'complete' : 'interrupted',
        // A client that leaves aborts the upstream, whose error then ends the stream: it is still the client's doing.
        reason: m.completed ? undefined : m.error && !ctx.signal.aborted ? 'upstream failed while sending' : 'client went away',
        instances: served.instances,
        skipped: served.skipped,
        bytesSent: m.bytes,
        durationMs: elapsed(),
      });
    };
    const outgoing = nodeResponse(c);
    // A byte stream is piped; a stream of objects (the relay's lent chunks) is written chunk by chunk, so that each
    // goes back once the socket has taken it.
    if (outgoing && answer.body instanceof Readable) {
      const pipe = answer.body.readableObjectMode ? pipeLentToNodeResponse : pipeToNodeResponse;
      pipe(outgoing, answer.status, answer.headers, answer.body, onEnd);
      return RESPONSE_ALREADY_SENT;
    }
    const body = metered(answer.body, onEnd);
    if (outgoing) {
      void writeToNodeResponse(outgoing, answer.status, answer.headers, body);
      return RESPONSE_ALREADY_SENT;
    }
    return new Response(toWebStream(body), { status: answer.status, headers: answer.headers });
  }

  function safeAddress(c: Context): string | undefined {
    try {
      return options.clientAddress?.(c);
    } catch {
      return undefined;
    }
  }

  function safeRecord(event: AuditEvent): void {
    try {
      audit.record(event);
    } catch (err) {
      log.error('dicomweb: audit write failed', { path: event.path, error: err });
    }
  }

  const target = (level: QueryLevel, c: Context): RetrieveTarget => {
    const { study, series, sop } = uids(c);
    return { level, studyInstanceUid: study!, seriesInstanceUid: series, sopInstanceUid: sop };
  };
  const ref = (c: Context) => {
    const { study, series, sop } = uids(c);
    return { studyInstanceUid: study!, seriesInstanceUid: series!, sopInstanceUid: sop! };
  };
  const query = (c: Context) => new URL(c.req.url).searchParams;
  const disclose = (d: Allowed) => {
    const may = d.mayDisclose;
    if (!may) return undefined;
    return (json: Record<string, { Value?: unknown[] }>) => {
      const uid = json['0020000D']?.Value?.[0];
      return typeof uid === 'string' && may(uid);
    };
  };

  // HEAD would run a GET handler and drop its body unread, holding the PACS retrieval open: refuse it.
  app.use('*', async (c, next) => (c.req.method === 'HEAD' ? jsonError(405, 'method not allowed', { allow: 'GET' }) : next()));

  // ANS dry-run healthcheck: GET on the service root with Accept: application/json (DRIM-M_DATA test-a-blanc).
  app.get('/', (c) => c.json({ status: 'UP' }));

  app.get('/studies', (c) => handle(c, 'search', 'study', (ctx, d) => service.search({ level: 'STUDY' }, query(c), ctx, disclose(d))));
  app.get('/studies/:study/series', (c) =>
    handle(c, 'search', 'series', (ctx, d) => service.search({ level: 'SERIES', studyInstanceUid: uids(c).study }, query(c), ctx, disclose(d))),
  );
  app.get('/studies/:study/instances', (c) =>
    handle(c, 'search', 'instance', (ctx, d) => service.search({ level: 'IMAGE', studyInstanceUid: uids(c).study }, query(c), ctx, disclose(d))),
  );
  app.get('/studies/:study/series/:series/instances', (c) =>
    handle(c, 'search', 'instance', (ctx, d) =>
      service.search({ level: 'IMAGE', studyInstanceUid: uids(c).study, seriesInstanceUid: uids(c).series }, query(c), ctx, disclose(d)),
    ),
  );

  app.get('/studies/:study', (c) => handle(c, 'retrieve', 'study', (ctx) => service.retrieve(target('STUDY', c), ctx)));
  app.get('/studies/:study/series/:series', (c) => handle(c, 'retrieve', 'series', (ctx) => service.retrieve(target('SERIES', c), ctx)));
  app.get('/studies/:study/series/:series/instances/:sop', (c) => handle(c, 'retrieve', 'instance', (ctx) => service.retrieve(target('IMAGE', c), ctx)));

  app.get('/studies/:study/metadata', (c) => handle(c, 'metadata', 'study', (ctx) => service.studyMetadata(uids(c).study!, ctx)));
  app.get('/studies/:study/series/:series/metadata', (c) =>
    handle(c, 'metadata', 'series', (ctx) => service.seriesMetadata(uids(c).study!, uids(c).series!, ctx)),
  );
  app.get('/studies/:study/series/:series/instances/:sop/metadata', (c) => handle(c, 'metadata', 'instance', (ctx) => service.instanceMetadata(ref(c), ctx)));

  app.get('/studies/:study/series/:series/instances/:sop/frames/:frames', (c) =>
    handle(c, 'frames', 'instance', (ctx) => {
      const frames = parseFrameList(c.req.param('frames'));
      if (!frames) throw new DicomwebError(400, 'frame list must be positive integers separated by commas');
      return service.frames(ref(c), frames, ctx);
    }),
  );
  app.get('/studies/:study/series/:series/instances/:sop/bulk/*', (c) =>
    handle(c, 'bulk', 'instance', (ctx) => {
      const tagPath = decodeURIComponent(new URL(c.req.url).pathname.replace(/^.*\/bulk\//, ''));
      if (!BULK_PATH.test(tagPath)) throw new DicomwebError(400, 'malformed bulk data path');
      return service.bulk(ref(c), tagPath, ctx);
    }),
  );

  app.all('*', (c) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? jsonError(404, 'not found') : jsonError(405, 'method not allowed', { allow: 'GET' })));
  return app;
}
