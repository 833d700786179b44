import { Agent, request, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { readableChunks } from './readable-chunks.js';

/**
 * A plain-HTTP/1.1 GET for the PACS's DICOMweb answers on Node's own HTTP client (node:http, its llhttp parser):
 * the body's bytes reach the caller as Node reads them, without fetch's web-stream layers (which cost this box half
 * its throughput on this path). Connections are kept alive between requests, and one whose body is dropped is
 * closed, not reused. Node's stream buffering bounds what is read ahead of a reader that does not read.
 */

export interface Http1Answer {
  status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  headers: Map<string, string>;
  body: AsyncIterableIterator<Uint8Array>;
  /**
   * The same body as a Node stream, for a caller that pipes it: use either `body` or `stream`, not both. Its errors
   * are Node's own; idle limits are the caller's.
   */
  stream: IncomingMessage;
}

export interface Http1GetOptions {
  headers: Record<string, string>;
  signal: AbortSignal;
  /** The body fails with Http1IdleError after this long without a byte while the caller waits for one. */
  idleTimeoutMs: number;
  /** Longest head (status line and headers). */
  maxHeadBytes?: number;
}

export class Http1Error extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'Http1Error';
  }
}

export class Http1IdleError extends Http1Error {
  constructor(ms: number) {
    super(`no byte from the server for ${ms} ms`);
    this.name = 'Http1IdleError';
  }
}

/** Connections to the PACS, reused; bounded so that a burst of requests cannot open sockets without end. */
const agent = new Agent({ keepAlive: true, maxSockets: 32, maxFreeSockets: 4, timeout: 60_000 });

function headersOf(res: IncomingMessage): Map<string, string> {
  const headers = new Map<string, string>();
  for (let i = 0; i < res.rawHeaders.length; i += 2) headers.set(res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!);
  return headers;
}

/** GET `url` (http: only). Resolves once the head is read; the body then streams. */
export function http1Get(url: URL, options: Http1GetOptions): Promise<Http1Answer> {
  if (url.protocol !== 'http:') return Promise.reject(new Http1Error(`${url.protocol} is not plain HTTP`));
  const { signal } = options;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<Http1Answer>((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: options.headers, agent, maxHeaderSize: options.maxHeadBytes ?? 64 * 1024, setHost: true });
    const onAbort = () => req.destroy(signal.reason instanceof Error ? signal.reason : new Http1Error('aborted', { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    req.once('close', () => signal.removeEventListener('abort', onAbort));
    req.once('error', (err) => reject(signal.aborted ? signal.reason : new Http1Error(`GET ${url.pathname}: ${err.message}`, { cause: err })));
    req.once('response', (res) => resolve({ status: res.statusCode ?? 0, headers: headersOf(res), body: idleGuardedBody(res, () => res.complete, options, url), stream: res }));
    req.end();
  });
}

/**
 * A response body `res` read chunk by chunk, failing with Http1IdleError after `options.idleTimeoutMs` of silence and
 * with Http1Error when the connection ends before `complete()`; leaving it early (`return`, even before the first
 * `next`) closes the connection.
 */
export function idleGuardedBody(res: Readable, complete: () => boolean, options: Http1GetOptions, url: URL): AsyncIterableIterator<Uint8Array> {
  // Attached on the first read only: a caller that pipes `stream` instead must not have a second reader.
  let chunks: AsyncIterableIterator<Buffer> | undefined;
  const failure = (err: unknown) => (options.signal.aborted ? options.signal.reason : err instanceof Http1Error ? err : new Http1Error(`GET ${url.pathname}: the body was cut (${(err as Error).message})`, { cause: err }));
  return {
    async next(): Promise<IteratorResult<Uint8Array>> {
      let idle: NodeJS.Timeout | undefined;
      try {
        const silent = new Promise<never>((_, rejectIdle) => {
          idle = setTimeout(() => {
            const error = new Http1IdleError(options.idleTimeoutMs);
            res.destroy(error);
            rejectIdle(error);
          }, options.idleTimeoutMs);
        });
        const next = await Promise.race([(chunks ??= readableChunks(res)).next(), silent]);
        if (next.done && !complete()) throw new Http1Error('the connection closed before the end of the body');
        return next;
      } catch (err) {
        res.destroy();
        throw failure(err);
      } finally {
        clearTimeout(idle);
      }
    },
    async return(): Promise<IteratorResult<Uint8Array>> {
      if (!complete()) res.destroy();
      await chunks?.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
