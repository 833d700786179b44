import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { SecureContext, TLSSocket } from 'node:tls';

/**
 * What a setup wizard live test returns: a reason code the UI turns into words, and the technical detail (English,
 * for the "details" toggle and the log). Never thrown: every failure is a value.
 */
export type ProbeOutcome<R extends string, F = Record<string, unknown>> =
  | { ok: true; facts: F; warnings?: { reason: string; detail: string }[] }
  | { ok: false; reason: R; detail: string; facts?: Partial<F> };

export function elapsedMs(startedAt: number): number {
  return Math.round(performance.now() - startedAt);
}

/** An http(s) URL as typed by a technician, or undefined (no other scheme, no fragment). */
export function parseHttpUrl(text: string): URL | undefined {
  try {
    const url = new URL(text.trim());
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname || url.hash) return undefined;
    return url;
  } catch {
    return undefined;
  }
}

/** A URL fit for a log line: credentials hidden. */
export function safeUrl(url: URL): string {
  const copy = new URL(url);
  if (copy.username || copy.password) {
    copy.username = '***';
    copy.password = '';
  }
  return copy.toString();
}

export interface HttpGetOptions {
  /** Deadline for the whole exchange: connection, TLS, answer and body. */
  timeoutMs: number;
  /** Body bytes kept; the rest is not read. */
  maxBytes: number;
  headers?: Record<string, string>;
  tls?: { ca?: string | Buffer; key?: string; cert?: string; secureContext?: SecureContext };
}

export interface HttpGetAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  truncated: boolean;
  receivedAt: number;
  tls?: { protocol: string | null; peerSubject?: string };
}

export class ProbeTimeoutError extends Error {
  readonly code = 'PROBE_TIMEOUT';
}

/** Why a GET failed, and whether the TLS handshake had completed by then (a TLS 1.3 server refuses a client certificate after it). */
export class HttpGetFailure extends Error {
  constructor(
    override readonly cause: unknown,
    readonly tlsEstablished: boolean,
  ) {
    super((cause as Error)?.message ?? String(cause));
    this.name = 'HttpGetFailure';
  }
}

/** One GET on a fresh connection (no pooled socket hides a handshake), bounded in time and in body size. */
export function httpGet(url: URL, options: HttpGetOptions): Promise<HttpGetAnswer> {
  const secure = url.protocol === 'https:';
  const headers = { ...options.headers };
  if (url.username) headers.authorization ??= `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  const target = new URL(url);
  target.username = '';
  target.password = '';
  return new Promise((resolve, reject) => {
    let settled = false;
    let tls: HttpGetAnswer['tls'];
    const tlsOptions = secure ? { minVersion: 'TLSv1.2' as const, rejectUnauthorized: true, ...options.tls } : {};
    const req = (secure ? httpsRequest : httpRequest)(target, { method: 'GET', agent: false, headers, ...tlsOptions });
    const timer = setTimeout(() => req.destroy(new ProbeTimeoutError(`no complete answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    const settle = (error: unknown, answer?: HttpGetAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (answer) resolve(answer);
      else reject(new HttpGetFailure(error, tls !== undefined));
      req.destroy();
    };
    req.on('socket', (socket) => {
      socket.once('secureConnect', () => {
        const t = socket as TLSSocket;
        tls = { protocol: t.getProtocol(), peerSubject: t.getPeerX509Certificate()?.subject.replace(/\n/g, ', ') };
      });
    });
    req.on('error', (err) => settle(err));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (truncated: boolean) =>
        settle(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), truncated, receivedAt: Date.now(), ...(tls ? { tls } : {}) });
      res.on('data', (chunk: Buffer) => {
        const room = options.maxBytes - size;
        chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
        size += Math.min(chunk.length, room);
        if (chunk.length > room) done(true);
      });
      res.on('end', () => done(false));
      res.on('error', (err) => settle(err));
    });
    req.end();
  });
}

/** The server's clock minus the box's, in seconds, from an HTTP Date header (RFC 9110 §6.6.1, 1 s resolution). */
export function clockSkewSeconds(dateHeader: string | undefined, receivedAt: number): number | undefined {
  if (!dateHeader) return undefined;
  const server = Date.parse(dateHeader);
  return Number.isNaN(server) ? undefined : Math.round((server - receivedAt) / 1000);
}

export type NetworkFailureKind = 'unreachable' | 'timeout' | 'tls-untrusted' | 'tls-alert' | 'tls-failed' | 'not-http';

const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused: nothing listens on that port',
  ENOTFOUND: 'host name does not resolve',
  EAI_AGAIN: 'host name lookup failed (DNS server unreachable?)',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
  ECONNRESET: 'connection reset by the peer',
  EPIPE: 'connection closed by the peer',
};

/** OpenSSL's verification results as Node names them: the server's certificate is not trusted (or not for that name). */
const UNTRUSTED = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'CERT_SIGNATURE_FAILURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'INVALID_CA', 'INVALID_PURPOSE', 'PATH_LENGTH_EXCEEDED', 'CERT_CHAIN_TOO_LONG', 'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_REVOKED',
]);

/** A connection failure in kinds the probes share, with its code in the detail. */
export function networkFailure(failure: unknown): { kind: NetworkFailureKind; detail: string } {
  const err = failure instanceof HttpGetFailure ? failure.cause : failure;
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? '';
  const message = e?.message ?? String(err);
  if (err instanceof ProbeTimeoutError || code === 'ETIMEDOUT') return { kind: 'timeout', detail: message };
  if (UNREACHABLE[code]) return { kind: 'unreachable', detail: `${code}: ${UNREACHABLE[code]} (${message})` };
  if (UNTRUSTED.has(code)) return { kind: 'tls-untrusted', detail: `${code}: ${message}` };
  if (/^ERR_SSL_.*ALERT/.test(code)) return { kind: 'tls-alert', detail: `${code}: the server ended the TLS handshake (${message})` };
  if (/^ERR_SSL_|^ERR_TLS_|^EPROTO$/.test(code)) return { kind: 'tls-failed', detail: `${code}: ${message}` };
  if (/^HPE_/.test(code)) return { kind: 'not-http', detail: `${code}: the answer is not HTTP (${message})` };
  return { kind: 'unreachable', detail: code ? `${code}: ${message}` : message };
}

/** The failed GET of a probe: its kind, whether TLS was up by then, the detail naming the URL, the time spent. */
export interface FailedGet {
  ok: false;
  kind: NetworkFailureKind;
  tlsEstablished: boolean;
  /** `GET <url>: <why>`. */
  detail: string;
  /** The why alone (networkFailure's detail). */
  why: string;
  elapsedMs: number;
}

/**
 * One GET for a probe, timed: the answer, or the failure classified (networkFailure) with `GET <url>:` in its detail.
 * `shown` is the URL as the outcome may say it (credentials hidden). Each probe names the kinds in its own reasons.
 */
export async function probeGet(url: URL, shown: string, options: HttpGetOptions): Promise<{ ok: true; answer: HttpGetAnswer; elapsedMs: number } | FailedGet> {
  const started = performance.now();
  try {
    const answer = await httpGet(url, options);
    return { ok: true, answer, elapsedMs: elapsedMs(started) };
  } catch (err) {
    const { kind, detail } = networkFailure(err);
    return { ok: false, kind, tlsEstablished: err instanceof HttpGetFailure && err.tlsEstablished, detail: `GET ${shown}: ${detail}`, why: detail, elapsedMs: elapsedMs(started) };
  }
}

/** The first characters of an answer's body on one line, for a detail. */
export function bodyStart(body: Buffer, chars: number): string {
  return body.toString('utf8', 0, Math.min(body.length, chars)).replace(/\s+/g, ' ');
}

/** An answer with an unexpected status, said with the start of its body. */
export function httpStatusDetail(shown: string, answer: Pick<HttpGetAnswer, 'status' | 'body'>): string {
  const snippet = bodyStart(answer.body, 200);
  return `GET ${shown}: HTTP ${answer.status}${snippet ? `: ${snippet}` : ''}`;
}
