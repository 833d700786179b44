import { Agent, request } from 'node:https';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/**
 * A fetch over node:https with a given Agent: the one way to present the structure's TLS client certificate to
 * source DRIMboxes that require mutual TLS (global fetch takes no client certificate), including a key on a
 * PKCS#11 token (the agent's secure context: auth/pkcs11/tls-key.ts). Only what the source client uses: GET,
 * headers, `redirect: 'error'`, an abort signal, the body as a stream (gzip asked for and decoded, as fetch does).
 * http: URLs (loopback tests) go to fetch.
 */
export function agentFetch(agent: Agent): typeof fetch {
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol !== 'https:') return fetch(input, init);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => (headers[name] = value));
    // As fetch does: a source box on a slow link may then send its answers compressed (decoded below).
    headers['accept-encoding'] ??= 'gzip';
    return new Promise<Response>((resolve, reject) => {
      const req = request(url, { method: init.method ?? 'GET', headers, agent, ...(init.signal ? { signal: init.signal } : {}) }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && init.redirect !== 'follow') {
          res.destroy();
          reject(new TypeError(`redirect to ${res.headers.location ?? '?'} refused (HTTP ${status})`));
          return;
        }
        const gzipped = /^\s*(x-)?gzip\s*$/i.test(String(res.headers['content-encoding'] ?? ''));
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (gzipped && (name === 'content-encoding' || name === 'content-length')) continue;
          for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) responseHeaders.append(name, String(v));
        }
        const empty = status === 204 || status === 304 || req.method === 'HEAD';
        if (empty) res.resume();
        const body = gzipped ? res.pipe(createGunzip()).on('error', (err) => res.destroy(err)) : res;
        if (gzipped) res.on('error', (err) => body.destroy(err));
        resolve(new Response(empty ? null : (Readable.toWeb(body) as ReadableStream<Uint8Array>), { status, statusText: res.statusMessage ?? '', headers: responseHeaders }));
      });
      req.on('error', reject);
      req.end();
    });
  }) as typeof fetch;
}
