import type { DicomJson, RetrieveTarget } from '../../dicom/model.js';
import { Readable } from 'node:stream';
import { DicomwebError, isAbortError } from '../errors.js';
import { http1Get, Http1IdleError } from '../http1-get.js';
import { http1TransientGet } from '../http1-transient-get.js';
import { parseMediaType } from '../media-type.js';
import type { RelayBody, RelaySource } from '../multipart-relay.js';
import { boundaryOf, readMultipart } from '../multipart-reader.js';
import { NotPart10Error, peekPart10Meta } from '../part10-peek.js';
import { qidoQueryString } from '../qido-query.js';
import { readAhead } from '../streams.js';
import type { ImageUpstream, InstanceRef, SearchRequest, UpstreamInstance, UpstreamMultipart } from './types.js';

/**
 * The PACS's own DICOMweb service as upstream. Instances are asked "as stored" (`transfer-syntax=*`) and streamed
 * part by part; the PACS is asked to transcode only an instance the client cannot take as stored. Timeouts are a
 * deadline for the first byte of the answer and an idle limit while a body streams, never a total deadline.
 * A plain-HTTP PACS is read over a bare HTTP/1.1 connection (http1-get.ts: the bytes as the socket reads them), and
 * a study or series relayed as stored over the box's own reader (http1-transient-get.ts: large reads into one reused
 * buffer, for the relay that copies what it sends); HTTPS, or a `fetch` given in the options, goes through fetch.
 */

export interface DicomwebUpstreamOptions {
  /** Root of the PACS's DICOMweb service, e.g. http://pacs:8042/dicom-web */
  baseUrl: string;
  /** Extra request headers (credentials for the PACS); never forwarded from the caller. */
  headers?: Record<string, string>;
  /** Use this fetch for every request (tests); without it, fetch is used for HTTPS only. */
  fetch?: typeof fetch;
  responseTimeoutMs?: number;
  idleTimeoutMs?: number;
  maxJsonBytes?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const AS_STORED = 'multipart/related; type="application/dicom"; transfer-syntax=*';
/** What may be read from the PACS ahead of the client, per response (keeps the PACS streaming while we write). */
const READ_AHEAD_BYTES = 2 * 1024 * 1024;

function resourcePath(target: RetrieveTarget): string {
  let path = `/studies/${target.studyInstanceUid}`;
  if (target.level !== 'STUDY' && target.seriesInstanceUid) path += `/series/${target.seriesInstanceUid}`;
  if (target.level === 'IMAGE' && target.sopInstanceUid) path += `/instances/${target.sopInstanceUid}`;
  return path;
}

function searchPath(request: SearchRequest): string {
  const { level, studyInstanceUid: st, seriesInstanceUid: se } = request;
  if (level === 'STUDY') return '/studies';
  if (level === 'SERIES') return st ? `/studies/${st}/series` : '/series';
  if (st && se) return `/studies/${st}/series/${se}/instances`;
  return st ? `/studies/${st}/instances` : '/instances';
}

/** The first bytes of an error body, for the log; the rest is not read. */
async function snippet(body: AsyncIterable<Uint8Array> | null): Promise<string> {
  if (!body) return '';
  const iterator = body[Symbol.asyncIterator]();
  try {
    const { value } = await iterator.next();
    return value ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8', 0, Math.min(value.byteLength, 500)) : '';
  } catch {
    return '';
  } finally {
    await iterator.return?.().catch(() => undefined);
  }
}

/**
 * The base URL without credentials (fetch refuses them, and logs must never show them): `user:pass@` in the
 * configured URL becomes a Basic Authorization header, unless one is configured.
 */
function splitCredentials(baseUrl: string, headers: Record<string, string>): { base: string; headers: Record<string, string> } {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(`pacs.dicomwebUrl "${baseUrl.replace(/\/\/[^@/]*@/, '//***@')}" is not a URL`);
  }
  const out = { ...headers };
  if (url.username && !Object.keys(out).some((h) => h.toLowerCase() === 'authorization')) {
    out.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  }
  url.username = '';
  url.password = '';
  return { base: url.toString().replace(/\/+$/, ''), headers: out };
}

export function createDicomwebUpstream(options: DicomwebUpstreamOptions): ImageUpstream {
  const { base, headers } = splitCredentials(options.baseUrl, options.headers ?? {});
  const fetchImpl = options.fetch ?? fetch;
  const overHttp1 = !options.fetch && base.startsWith('http:');
  const responseTimeoutMs = options.responseTimeoutMs ?? 30_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const maxJsonBytes = options.maxJsonBytes ?? 128 * 1024 * 1024;

  interface Answer {
    status: number;
    contentType: string;
    body: AsyncIterable<Uint8Array>;
    /** The body as the socket gives it (bare HTTP/1.1 only): either it or `body` is read. */
    stream?: RelayBody;
  }

  interface Sent {
    status: number;
    contentType: string;
    body: AsyncIterable<Uint8Array> | null;
    stream?: RelayBody;
  }

  /**
   * The PACS's answer, its body read ahead and idle-guarded. `transient`: over bare HTTP/1.1, the body's chunks are
   * views of a reused read buffer, for a reader that copies what it keeps (the relay).
   */
  async function send(path: string, accept: string, controller: AbortController, done: () => void, transient: boolean): Promise<Sent> {
    if (overHttp1) {
      const get = transient ? http1TransientGet : http1Get;
      const answer = await get(new URL(base + path), { headers: { ...headers, accept }, signal: controller.signal, idleTimeoutMs });
      // A redirect (to HTTPS, to another path) is left to fetch, which follows it as it always did.
      if (!REDIRECTS.has(answer.status)) {
        answer.stream.once('close', done);
        return { status: answer.status, contentType: answer.headers.get('content-type') ?? '', body: socketErrorsMapped(answer.body, controller, done), stream: answer.stream };
      }
      await answer.body[Symbol.asyncIterator]().return?.();
    }
    const res = await fetchImpl(base + path, { headers: { ...headers, accept }, signal: controller.signal });
    const body = res.body ? readAhead(idleGuarded(res.body, controller, done), READ_AHEAD_BYTES) : null;
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', body };
  }

  async function request(path: string, accept: string, signal: AbortSignal, transient = false): Promise<Answer> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const done = () => signal.removeEventListener('abort', onAbort);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('response timeout'));
    }, responseTimeoutMs);
    let res: Sent;
    try {
      res = await send(path, accept, controller, done, transient);
    } catch (err) {
      done();
      if (signal.aborted) throw err;
      if (timedOut) throw new DicomwebError(504, 'the PACS did not answer in time', { upstream: base + path });
      throw new DicomwebError(502, 'the PACS DICOMweb service is not reachable', { upstream: base + path, cause: err });
    } finally {
      clearTimeout(timer);
    }
    if (res.status >= 300 || !res.body) {
      done();
      const text = await snippet(res.body);
      if (res.status === 204 || (res.status < 300 && !res.body)) return { status: 204, contentType: '', body: (async function* () {})() };
      const detail = { upstream: base + path, status: res.status, body: text };
      if (res.status === 404) throw new DicomwebError(404, 'not found on the PACS', detail);
      if (res.status === 406) throw new DicomwebError(406, 'no acceptable representation', detail);
      if (res.status === 400) throw new DicomwebError(400, 'the PACS refused the request', detail);
      throw new DicomwebError(502, `the PACS answered HTTP ${res.status}`, detail);
    }
    return { status: res.status, contentType: res.contentType, body: res.body, stream: res.stream };
  }

  /**
   * The bare connection's failures as the box reports them: 504 when the PACS went silent, 502 when it broke.
   * Leaving it early, even before the first read, closes the connection.
   */
  function socketErrorsMapped(body: AsyncIterableIterator<Uint8Array>, controller: AbortController, done: () => void): AsyncIterableIterator<Uint8Array> {
    const map = (err: unknown): unknown => {
      if (err instanceof Http1IdleError) return new DicomwebError(504, 'the PACS stopped sending', { cause: err });
      if (isAbortError(err) || controller.signal.aborted) return err;
      return new DicomwebError(502, 'the PACS connection broke', { cause: err });
    };
    return {
      async next() {
        try {
          const r = await body.next();
          if (r.done) done();
          return r;
        } catch (err) {
          done();
          throw map(err);
        }
      },
      async return() {
        done();
        return body.return!();
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /**
   * A body that fails with 504 after `idleTimeoutMs` of PACS silence, and cancels the request when dropped. Only
   * time spent waiting on the PACS counts: a chunk waiting for our client does not.
   */
  async function* idleGuarded(body: ReadableStream<Uint8Array>, controller: AbortController, done: () => void): AsyncGenerator<Uint8Array> {
    const reader = body.getReader();
    let idle = false;
    let waitingSince: number | undefined;
    const check = setInterval(() => {
      if (waitingSince !== undefined && performance.now() - waitingSince > idleTimeoutMs && !idle) {
        idle = true;
        controller.abort(new Error('idle timeout'));
        // Ends the pending read whatever the fetch implementation does with the abort.
        reader.cancel().catch(() => undefined);
      }
    }, Math.min(idleTimeoutMs, 1000));
    try {
      for (;;) {
        waitingSince = performance.now();
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (err) {
          if (idle) throw new DicomwebError(504, 'the PACS stopped sending', { cause: err });
          if (isAbortError(err) || controller.signal.aborted) throw err;
          throw new DicomwebError(502, 'the PACS connection broke', { cause: err });
        }
        waitingSince = undefined;
        if (idle) throw new DicomwebError(504, 'the PACS stopped sending');
        if (chunk.done) return;
        yield chunk.value;
      }
    } finally {
      clearInterval(check);
      done();
      await reader.cancel().catch(() => undefined);
    }
  }

  async function json(path: string, signal: AbortSignal): Promise<DicomJson[]> {
    const answer = await request(path, 'application/dicom+json', signal);
    if (answer.status === 204) return [];
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of answer.body) {
      total += chunk.byteLength;
      if (total > maxJsonBytes) throw new DicomwebError(502, 'the PACS answer is too large', { upstream: base + path });
      chunks.push(Buffer.from(chunk));
    }
    let parsed: unknown;
    try {
      parsed = total ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : [];
    } catch (err) {
      throw new DicomwebError(502, 'the PACS answered malformed JSON', { upstream: base + path, cause: err });
    }
    if (!Array.isArray(parsed)) throw new DicomwebError(502, 'the PACS answered JSON that is not an array', { upstream: base + path });
    return parsed.filter((x): x is DicomJson => x !== null && typeof x === 'object' && !Array.isArray(x));
  }

  async function multipart(path: string, accept: string, signal: AbortSignal, transient = false): Promise<Answer & { boundary: string }> {
    const answer = await request(path, accept, signal, transient);
    if (answer.status === 204) throw new DicomwebError(404, 'not found on the PACS', { upstream: base + path });
    const media = parseMediaType(answer.contentType);
    const boundary = boundaryOf(answer.contentType);
    if (!media || media.type !== 'multipart' || !boundary) {
      await answer.body[Symbol.asyncIterator]().return?.();
      throw new DicomwebError(502, 'the PACS did not answer multipart/related', { upstream: base + path, contentType: answer.contentType });
    }
    return { ...answer, boundary };
  }

  async function* partsAsInstances(source: AsyncIterable<Uint8Array>, boundary: string): AsyncGenerator<UpstreamInstance> {
    for await (const part of readMultipart(source, boundary)) {
      let peeked;
      try {
        peeked = await peekPart10Meta(part.body);
      } catch (err) {
        if (err instanceof NotPart10Error) throw new DicomwebError(502, 'the PACS sent a part that is not a DICOM file', { cause: err });
        throw err;
      }
      const { meta, body } = peeked;
      yield { transferSyntaxUid: meta.transferSyntaxUid, sopInstanceUid: meta.sopInstanceUid, body: () => body, dispose: async () => undefined };
    }
  }

  async function* instances(target: RetrieveTarget, signal: AbortSignal): AsyncGenerator<UpstreamInstance> {
    const answer = await multipart(resourcePath(target), AS_STORED, signal);
    yield* partsAsInstances(answer.body, answer.boundary);
  }

  async function transcode(ref: InstanceRef, transferSyntaxUid: string, signal: AbortSignal): Promise<UpstreamInstance> {
    const path = resourcePath({ level: 'IMAGE', ...ref });
    const answer = await multipart(path, `multipart/related; type="application/dicom"; transfer-syntax=${transferSyntaxUid}`, signal);
    const iterator = partsAsInstances(answer.body, answer.boundary);
    const first = await iterator.next();
    if (first.done) throw new DicomwebError(502, 'the PACS sent no instance', { upstream: base + path });
    if (first.value.transferSyntaxUid !== transferSyntaxUid) {
      await iterator.return(undefined);
      throw new DicomwebError(406, `the PACS could not transcode to ${transferSyntaxUid}`, { upstream: base + path, sent: first.value.transferSyntaxUid });
    }
    return { ...first.value, dispose: async () => void (await iterator.return(undefined)) };
  }

  async function* search(req: SearchRequest, signal: AbortSignal): AsyncGenerator<DicomJson> {
    yield* await json(searchPath(req) + qidoQueryString(req.query), signal);
  }

  async function relay(target: RetrieveTarget, signal: AbortSignal): Promise<RelaySource> {
    const answer = await multipart(resourcePath(target), AS_STORED, signal, true);
    return { body: answer.stream ?? Readable.from(answer.body, { objectMode: false }), boundary: answer.boundary, idleTimeoutMs };
  }

  async function passthrough(path: string, accept: string, signal: AbortSignal): Promise<UpstreamMultipart> {
    const answer = await multipart(path, accept, signal);
    return { contentType: answer.contentType, body: answer.body };
  }

  /**
   * A URL the PACS wrote (BulkDataURI, RetrieveURL) as a path below its DICOMweb root. Only the path counts: a PACS
   * often names itself by another host than the one configured here (its own `Host` setting, a proxy), and the
   * result only ever addresses this upstream. Relative URLs are read against the root.
   */
  function relativePath(url: string): string | undefined {
    let parsed: URL;
    try {
      parsed = new URL(url, base + '/');
    } catch {
      return undefined;
    }
    const root = new URL(base + '/').pathname;
    if (!parsed.pathname.startsWith(root) || parsed.search || parsed.pathname.includes('/../')) return undefined;
    const rest = parsed.pathname.slice(root.length);
    return /^studies\/[0-9.]+(\/|$)/.test(rest) ? rest : undefined;
  }

  return {
    description: `PACS DICOMweb ${base}`,
    searchIsPaged: true,
    search,
    instances,
    relay,
    transcode,
    seriesMetadata: (st, se, signal) => json(`/studies/${st}/series/${se}/metadata`, signal),
    passthrough,
    relativePath,
  };
}
