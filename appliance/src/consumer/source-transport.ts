import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { createGunzip } from 'node:zlib';
import { http1TransientGet, type Http1TransientAnswer } from '../dicomweb/http1-transient-get.js';
import { lentChunk } from '../dicomweb/lent-chunks.js';
import { readableChunks } from '../dicomweb/readable-chunks.js';
import { BlockPool } from '../io/block-pool.js';

/**
 * GETs to source DRIMboxes. Short answers (an instance, a list) go through Node's own HTTP clients on kept-alive
 * connections. A bulk answer (a whole series) is read into pooled blocks on a connection of its own
 * (dicomweb/http1-transient-get.ts): its chunks are lent to the reader, who gives each back once it is on disk, so no
 * Buffer is allocated per read nor copied by an HTTP parser (Node's reads cost the pull about a third of its CPU:
 * test/bench/consumer-import-bench.ts). Neither puts a web-stream layer between the socket and the multipart scanner.
 * Over HTTPS both present the structure's TLS client certificate to sources that require mutual TLS, including a
 * key on a PKCS#11 token (the secure context: auth/pkcs11/tls-key.ts). gzip is asked for (unless the caller chose an
 * encoding) and decoded, as fetch does: a source on a slow link may send its answers compressed. A redirect is
 * refused: it could lead anywhere, outside the whitelist.
 */

export interface SourceAnswer {
  status: number;
  /** Without Content-Encoding and Content-Length when the body was decoded. */
  headers: Headers;
  /**
   * The body's chunks (decoded); null for 204 and 304. Leave early with `return()` (the connection is then closed).
   * A bulk answer's chunks may be lent (dicomweb/lent-chunks.ts): give each back once done with it.
   */
  body: AsyncIterableIterator<Uint8Array> | null;
}

export interface SourceGetOptions {
  /** A long answer, read by a reader that gives back what it is lent. */
  bulk?: boolean;
  /** The idle limit the caller applies (a bulk answer that must be decoded is guarded with it too). */
  idleTimeoutMs?: number;
}

export type SourceGet = (url: URL, headers: Record<string, string>, signal: AbortSignal, options?: SourceGetOptions) => Promise<SourceAnswer>;

/** How the box reaches HTTPS sources: the agent for short answers and the same TLS options for bulk ones. */
export interface SourceTls {
  agent: HttpsAgent;
  options: ConnectionOptions;
}

export function sourceTlsOf(options: ConnectionOptions): SourceTls {
  return { agent: new HttpsAgent({ keepAlive: true, ...options }), options };
}

export class SourceRedirectError extends TypeError {
  constructor(status: number, location: string | undefined) {
    super(`redirect to ${location ?? '?'} refused (HTTP ${status})`);
    this.name = 'SourceRedirectError';
  }
}

/** Plain-HTTP sources (loopback tests, benches): connections kept alive, bounded. */
const plainAgent = new HttpAgent({ keepAlive: true, maxSockets: 16, maxFreeSockets: 4, timeout: 60_000 });

/**
 * Bulk answers are read into these: 512 KiB blocks, up to 12 MiB kept free between reads. A pull holds what it has
 * read until it is on disk: its read-ahead (below), a write batch, and what waits in the thread pool when writes are
 * slow, up to consumer/cache/file-writer.ts QUEUED_MAX.
 */
const bulkBlockPool = new BlockPool(512 * 1024, 24);

/**
 * Read ahead of a bulk answer's reader: the socket is paused past this. The pull's main thread is busy at times (an
 * index batch, an instance checked); while it is, the source sends on into this queue rather than waiting on a full
 * socket, its pipeline (its reads from its PACS) stopped. At 256 KiB, less than one 512 KiB read, the socket of a CT's
 * pull was paused ~1,200 times (test/bench's 685 MB CT); at 4 MiB, ~15.
 */
const BULK_READ_AHEAD = 4 * 1024 * 1024;

const GZIP = /^\s*(x-)?gzip\s*$/i;

function headersOf(entries: Iterable<[string, string | string[] | undefined]>, decoded: boolean): Headers {
  const headers = new Headers();
  for (const [name, value] of entries) {
    if (decoded && (name === 'content-encoding' || name === 'content-length')) continue;
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, String(v));
  }
  return headers;
}

function answerOf(res: IncomingMessage): SourceAnswer {
  const status = res.statusCode ?? 0;
  const gzipped = GZIP.test(String(res.headers['content-encoding'] ?? ''));
  const headers = headersOf(Object.entries(res.headers), gzipped);
  if (status === 204 || status === 304) {
    res.resume();
    return { status, headers, body: null };
  }
  return { status, headers, body: readableChunks(gzipped ? gunzipped(res) : res) };
}

function gunzipped(input: Readable): Readable {
  const body = input.pipe(createGunzip());
  body.on('error', () => input.destroy());
  input.on('error', (err) => body.destroy(err));
  body.on('close', () => input.destroy());
  return body;
}

function bulkAnswerOf(answer: Http1TransientAnswer): SourceAnswer {
  const { status } = answer;
  const gzipped = GZIP.test(answer.headers.get('content-encoding') ?? '');
  const headers = headersOf(answer.headers, gzipped);
  if (status === 204 || status === 304) {
    answer.stream.destroy();
    return { status, headers, body: null };
  }
  if (gzipped) return { status, headers, body: readableChunks(gunzipped(Readable.from(answer.body, { objectMode: false }))) };
  const stream = answer.stream;
  return { status, headers, body: readableChunks(stream, BULK_READ_AHEAD, (chunk) => lentChunk(chunk, stream.hold())) };
}

function refuseRedirect(status: number, location: string | undefined, drop: () => void): void {
  if (status >= 300 && status < 400 && status !== 304) {
    drop();
    throw new SourceRedirectError(status, location);
  }
}

/** `tls`: how https: sources are reached (the box's client certificate); absent, Node's defaults. */
export function nodeSourceGet(tls?: SourceTls): SourceGet {
  return async (url, headers, signal, options = {}) => {
    const wanted = { ...headers };
    if (!Object.keys(wanted).some((h) => h.toLowerCase() === 'accept-encoding')) wanted['accept-encoding'] = 'gzip';
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') throw new TypeError(`${url.protocol} is not HTTP`);
    if (options.bulk) {
      const answer = await http1TransientGet(url, { headers: wanted, signal, idleTimeoutMs: options.idleTimeoutMs ?? 60_000, pool: bulkBlockPool, tls: tls?.options ?? {} });
      refuseRedirect(answer.status, answer.headers.get('location'), () => answer.stream.destroy());
      return bulkAnswerOf(answer);
    }
    return new Promise<SourceAnswer>((resolve, reject) => {
      const requestOptions = { method: 'GET', headers: wanted, signal };
      const onResponse = (res: IncomingMessage) => {
        try {
          refuseRedirect(res.statusCode ?? 0, res.headers.location, () => res.destroy());
          resolve(answerOf(res));
        } catch (err) {
          reject(err);
        }
      };
      const req = secure ? httpsRequest(url, { ...requestOptions, ...(tls ? { agent: tls.agent } : {}) }, onResponse) : httpRequest(url, { ...requestOptions, agent: plainAgent }, onResponse);
      req.on('error', reject);
      req.end();
    });
  };
}
