import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createLogger } from '../../../appliance/src/log/logger.js';
import { handleSoap, type HttpReply, type Outcome } from './dispatch.js';
import type { FaultController, FaultDecision } from './faults.js';
import { SoapFault, faultEnvelope } from './soap.js';
import type { EntryRow } from './store.js';
import type { SimContext } from './transaction.js';

/** One line of the request log the admin view shows. */
export interface LoggedRequest extends Partial<Outcome> {
  at: string;
  method: string;
  path: string;
  httpStatus: number | 'reset' | 'hang';
  structureId?: string;
}

export interface ServerDeps {
  ctx: SimContext;
  faults: FaultController;
  maxBodyBytes: number;
  log: LoggedRequest[];
  /** Sockets held open by a "hang" fault, destroyed at stop. */
  hanging: Set<Socket>;
}

const log = createLogger({ component: 'dmp-sim' });
const STRUCTURE_ID = /^\d{9,15}$/; // FINESS, SIRET or RPPS-rank based structure identifiers, optionally type-prefixed

/** The HTTPS request handler: client certificate subject, routes, faults, SOAP. */
export function requestHandler(deps: ServerDeps, admin: boolean) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res, deps, admin).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`DMP simulator internal error: ${(err as Error).message}\n`);
      } else res.destroy();
    });
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, deps: ServerDeps, adminListener: boolean): Promise<void> {
  req.socket.setNoDelay(true);
  const path = new URL(req.url ?? '/', 'https://dmp-sim').pathname;
  const method = req.method ?? 'GET';
  const entry: LoggedRequest = { at: new Date().toISOString(), method, path, httpStatus: 0 };
  let structureId = '';
  if (!adminListener) {
    const cert = (req.socket as TLSSocket).getPeerCertificate?.();
    const ou = cert?.subject?.OU;
    const ous = Array.isArray(ou) ? ou : ou ? [ou] : [];
    structureId = ous.find((o) => STRUCTURE_ID.test(o)) ?? '';
    entry.structureId = structureId;
    if (!structureId) {
      const fault = new SoapFault('Sender', `the client certificate subject must have an OU holding the structure identifier (IGC-Santé ORG AUTH_CLI); found OU=${ous.join(',') || '(none)'}`, undefined, 403);
      return send(res, deps, entry, { status: 403, headers: { 'content-type': 'application/soap+xml; charset=UTF-8' }, body: Buffer.from(faultEnvelope(fault)) });
    }
  }
  if (path.startsWith('/_sim/')) return simAdmin(req, res, path, method, deps);
  if (adminListener) return plain(res, 404, 'only /_sim/ is served here\n');
  const endpoint = path === '/registry' ? 'registry' : path === '/repository' ? 'repository' : undefined;
  if (!endpoint) return send(res, deps, entry, textReply(404, `no DMP service at ${path} (services: /registry, /repository)\n`));
  if (method !== 'POST') return send(res, deps, entry, { ...textReply(405, `${path} only accepts POST\n`), headers: { 'content-type': 'text/plain; charset=utf-8', allow: 'POST' } });

  const decision = deps.faults.decide(endpoint);
  if (decision.latencyMs > 0) await sleep(decision.latencyMs);
  if (decision.terminal?.phase === 'before' && applyTerminal(req, res, deps, entry, decision)) return;
  const body = await readBody(req, deps.maxBodyBytes);
  if (body === undefined) return send(res, deps, entry, textReply(413, `request larger than ${deps.maxBodyBytes} bytes\n`));
  const reply = await handleSoap({ endpoint, contentType: req.headers['content-type'], body, structureId }, deps.ctx);
  Object.assign(entry, reply.outcome);
  if (decision.terminal?.phase === 'after' && applyTerminal(req, res, deps, entry, decision)) return;
  await send(res, deps, entry, reply, decision.trickle);
}

function applyTerminal(req: IncomingMessage, res: ServerResponse, deps: ServerDeps, entry: LoggedRequest, decision: FaultDecision): boolean {
  const t = decision.terminal!;
  if (t.kind === 'reset') {
    record(deps, { ...entry, httpStatus: 'reset' });
    req.socket.destroy();
    return true;
  }
  if (t.kind === 'hang') {
    record(deps, { ...entry, httpStatus: 'hang' });
    deps.hanging.add(req.socket);
    req.socket.once('close', () => deps.hanging.delete(req.socket));
    req.resume();
    return true;
  }
  req.resume();
  const reply = textReply(503, 'Service Unavailable (simulated DMP outage)\n');
  if (t.retryAfterSeconds !== undefined) reply.headers['retry-after'] = String(t.retryAfterSeconds);
  void send(res, deps, entry, reply);
  return true;
}

async function simAdmin(req: IncomingMessage, res: ServerResponse, path: string, method: string, deps: ServerDeps): Promise<void> {
  if (path === '/_sim/entries' && method === 'GET') return json(res, 200, deps.ctx.store.allEntries().map(entryView));
  if (path === '/_sim/log' && method === 'GET') return json(res, 200, deps.log);
  if (path === '/_sim/faults' && method === 'GET') return json(res, 200, deps.faults.describe());
  if (path === '/_sim/faults' && (method === 'POST' || method === 'PUT' || method === 'DELETE')) {
    const body = method === 'DELETE' ? Buffer.from('{}') : await readBody(req, 64 * 1024);
    try {
      deps.faults.set(JSON.parse(body?.toString('utf8') || '{}'));
    } catch (err) {
      return json(res, 400, { error: (err as Error).message });
    }
    return json(res, 200, deps.faults.describe());
  }
  return json(res, 404, { error: `no admin resource ${method} ${path} (GET /_sim/entries, GET /_sim/log, GET|POST|DELETE /_sim/faults)` });
}

export function entryView(e: EntryRow): Record<string, unknown> {
  return {
    entryUUID: e.entry_uuid, uniqueId: e.unique_id, kind: e.kind, patientId: e.patient_id, status: e.status, typeCode: e.type_code,
    creationTime: e.creation_time, size: e.size, hash: e.hash, submissionSetUUID: e.submission_set_uuid, receivedAt: e.received_at, updatedAt: e.updated_at,
  };
}

async function send(res: ServerResponse, deps: ServerDeps, entry: LoggedRequest, reply: Pick<HttpReply, 'status' | 'headers' | 'body'>, trickle?: FaultDecision['trickle']): Promise<void> {
  record(deps, { ...entry, httpStatus: reply.status });
  res.writeHead(reply.status, { ...reply.headers, 'content-length': String(reply.body.length) });
  if (!trickle) {
    res.end(reply.body);
    return;
  }
  res.flushHeaders();
  for (let at = 0; at < reply.body.length && !res.destroyed; at += trickle.chunkBytes) {
    res.write(reply.body.subarray(at, at + trickle.chunkBytes));
    await sleep(trickle.delayMs);
  }
  res.end();
}

function record(deps: ServerDeps, entry: LoggedRequest): void {
  // No patient identifier in the log line: transaction, outcome and error codes only.
  log.info('dmp-sim request', { path: entry.path, transaction: entry.transaction, httpStatus: entry.httpStatus, status: entry.status, errors: entry.errors?.map((e) => e.code) });
  deps.log.push(entry);
  if (deps.log.length > 500) deps.log.splice(0, deps.log.length - 500);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function textReply(status: number, text: string): { status: number; headers: Record<string, string>; body: Buffer } {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: Buffer.from(text) };
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value, null, 2) + '\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
