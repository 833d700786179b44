import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/**
 * GETs to source DRIMboxes on Node's own HTTP clients, the body as the socket's Node stream: no web-stream layer
 * between the socket and the multipart scanner (fetch's, or node:https converted to one, cost the pull about 5 % of
 * its CPU: test/bench/consumer-import-bench.ts). Over HTTPS the given Agent
 * presents the structure's TLS client certificate to sources that require mutual TLS, including a key on a PKCS#11
 * token (the agent's secure context: auth/pkcs11/tls-key.ts). gzip is asked for (unless the caller chose an
 * encoding) and decoded, as fetch does: a source on a slow link may send its answers compressed. A redirect is
 * refused: it could lead anywhere, outside the whitelist.
 */

export interface SourceAnswer {
  status: number;
  /** Without Content-Encoding and Content-Length when the body was decoded. */
  headers: Headers;
  /** The body (decoded); null for 204 and 304. Destroy it to leave early (the connection is then closed). */
  body: Readable | null;
}

export type SourceGet = (url: URL, headers: Record<string, string>, signal: AbortSignal) => Promise<SourceAnswer>;

export class SourceRedirectError extends TypeError {
  constructor(status: number, location: string | undefined) {
    super(`redirect to ${location ?? '?'} refused (HTTP ${status})`);
    this.name = 'SourceRedirectError';
  }
}

/** Plain-HTTP sources (loopback tests, benches): connections kept alive, bounded. */
const plainAgent = new HttpAgent({ keepAlive: true, maxSockets: 16, maxFreeSockets: 4, timeout: 60_000 });

function answerOf(res: IncomingMessage): SourceAnswer {
  const status = res.statusCode ?? 0;
  const gzipped = /^\s*(x-)?gzip\s*$/i.test(String(res.headers['content-encoding'] ?? ''));
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (gzipped && (name === 'content-encoding' || name === 'content-length')) continue;
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, String(v));
  }
  if (status === 204 || status === 304) {
    res.resume();
    return { status, headers, body: null };
  }
  if (!gzipped) return { status, headers, body: res };
  const body = res.pipe(createGunzip());
  body.on('error', () => res.destroy());
  res.on('error', (err) => body.destroy(err));
  body.on('close', () => res.destroy());
  return { status, headers, body };
}

/** `tlsAgent`: the agent for https: sources (the box's client certificate); absent, Node's default one. */
export function nodeSourceGet(tlsAgent?: HttpsAgent): SourceGet {
  return (url, headers, signal) => {
    const wanted = { ...headers };
    if (!Object.keys(wanted).some((h) => h.toLowerCase() === 'accept-encoding')) wanted['accept-encoding'] = 'gzip';
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') return Promise.reject(new TypeError(`${url.protocol} is not HTTP`));
    return new Promise<SourceAnswer>((resolve, reject) => {
      const options = { method: 'GET', headers: wanted, signal };
      const onResponse = (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && status !== 304) {
          res.destroy();
          reject(new SourceRedirectError(status, res.headers.location));
          return;
        }
        resolve(answerOf(res));
      };
      const req = secure ? httpsRequest(url, { ...options, ...(tlsAgent ? { agent: tlsAgent } : {}) }, onResponse) : httpRequest(url, { ...options, agent: plainAgent }, onResponse);
      req.on('error', reject);
      req.end();
    });
  };
}
