import { isAbortError } from '../dicomweb/errors.js';
import { parseMediaType } from '../dicomweb/media-type.js';
import { Http1Error } from '../dicomweb/http1-get.js';
import { boundaryOf } from '../dicomweb/multipart-reader.js';
import { MultipartError } from '../dicomweb/multipart-scanner.js';
import { NotPart10Error } from '../dicomweb/part10-peek.js';
import { PartFeed } from './part-feed.js';
import { nodeSourceGet, type SourceAnswer, type SourceGet } from './source-transport.js';

/**
 * WADO-RS client of a source DRIMbox (ci-sis-imaging.md §3.2): series or instance retrieval with the user's Pro
 * Santé Connect bearer token and the `KOS-SOPInstanceUID` of the manifest the study was found through. Parts are
 * handed on one at a time as they arrive (never a series in memory). Timeouts are a deadline for the answer's
 * headers and an idle limit while the body streams, never a total deadline: a large series takes what it takes.
 */

/** What the consumer accepts, best first: as stored, then the ANS validator's list (ci-sis-imaging.md §3.2). */
export const SOURCE_ACCEPT = [
  'multipart/related; type="application/dicom"; transfer-syntax=*',
  ...[
    ['1.2.840.10008.1.2.4.70', '0.9'],
    ['1.2.840.10008.1.2.4.80', '0.8'],
    ['1.2.840.10008.1.2.4.91', '0.6'],
    ['1.2.840.10008.1.2.4.50', '0.5'],
    ['1.2.840.10008.1.2.4.51', '0.5'],
    ['1.2.840.10008.1.2.1', '0.4'],
  ].map(([ts, q]) => `multipart/related; type="application/dicom"; transfer-syntax=${ts}; q=${q}`),
].join(', ');

export type SourceErrorKind = 'unauthorized' | 'forbidden' | 'not-found' | 'unavailable' | 'protocol' | 'interrupted' | 'cancelled';

export class SourceError extends Error {
  constructor(
    readonly kind: SourceErrorKind,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SourceError';
  }
}

export interface SourceRequest {
  /** Series URL (…/studies/{st}/series/{se}) or instance URL (…/instances/{sop}). */
  url: URL;
  /** Absent for a CPS card login: no Authorization header is sent. */
  accessToken?: string;
  kosSopInstanceUid: string;
  signal: AbortSignal;
  /**
   * A whole series, read by a caller that gives back the chunks it is lent (dicomweb/lent-chunks.ts) once they are on
   * disk: the answer is read into pooled blocks (source-transport.ts).
   */
  bulk?: boolean;
}

export interface SourcePart {
  transferSyntaxUid: string;
  sopClassUid?: string;
  sopInstanceUid?: string;
  /** The Part-10 bytes; read it to its end (or not at all) before asking for the next part. */
  body: AsyncIterable<Uint8Array>;
}

export interface SourceClientOptions {
  /** How GETs reach a source (default: node:http/https with Node's agents; give one with the box's certificate). */
  get?: SourceGet;
  responseTimeoutMs?: number;
  idleTimeoutMs?: number;
}

export interface SourceClient {
  retrieve(request: SourceRequest): AsyncGenerator<SourcePart>;
  /**
   * QIDO-RS search of a series' instances (…/series/{se}/instances), gzip accepted; refused beyond `maxBytes`.
   * Its metadata would say as much, but a source over DIMSE must retrieve every instance to build it.
   */
  seriesInstances?(request: SourceRequest, maxBytes: number): Promise<unknown[]>;
}

function statusError(status: number, host: string, withToken: boolean): SourceError {
  if (status === 401 && !withToken) return new SourceError('unauthorized', `la DRIMbox source ${host} exige une connexion Pro Santé Connect pour ses images (401) : la connexion par carte CPS au boîtier ne lui suffit pas ; connectez-vous avec Pro Santé Connect`, status);
  if (status === 401) return new SourceError('unauthorized', `la DRIMbox source ${host} refuse le jeton Pro Santé Connect (401) : reconnectez-vous`, status);
  if (status === 403) return new SourceError('forbidden', `la DRIMbox source ${host} refuse l'accès à cet examen (403)`, status);
  if (status === 404 || status === 410) return new SourceError('not-found', `la DRIMbox source ${host} ne trouve pas ces images (${status})`, status);
  if (status === 406) return new SourceError('protocol', `la DRIMbox source ${host} ne peut fournir les images dans aucun format accepté (406)`, status);
  if (status === 429 || status >= 500) return new SourceError('unavailable', `la DRIMbox source ${host} est indisponible (HTTP ${status}), réessayez plus tard`, status);
  return new SourceError('protocol', `la DRIMbox source ${host} a répondu HTTP ${status}`, status);
}

export function createSourceClient(options: SourceClientOptions = {}): SourceClient {
  const get = options.get ?? nodeSourceGet();
  const responseTimeoutMs = options.responseTimeoutMs ?? 30_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;

  async function* retrieve(request: SourceRequest): AsyncGenerator<SourcePart> {
    const host = request.url.host;
    const controller = new AbortController();
    const onAbort = () => controller.abort(request.signal.reason);
    if (request.signal.aborted) onAbort();
    else request.signal.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    let idle = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('response timeout'));
    }, responseTimeoutMs);
    let res: SourceAnswer;
    try {
      res = await get(
        request.url,
        {
          accept: SOURCE_ACCEPT,
          ...(request.accessToken ? { authorization: `Bearer ${request.accessToken}` } : {}),
          'kos-sopinstanceuid': request.kosSopInstanceUid,
        },
        controller.signal,
        { bulk: !!request.bulk, idleTimeoutMs },
      );
    } catch (err) {
      request.signal.removeEventListener('abort', onAbort);
      if (request.signal.aborted) throw new SourceError('cancelled', 'récupération annulée', undefined, { cause: err });
      if (timedOut) throw new SourceError('unavailable', `la DRIMbox source ${host} n'a pas répondu à temps`, undefined, { cause: err });
      throw new SourceError('unavailable', `la DRIMbox source ${host} est injoignable`, undefined, { cause: err });
    } finally {
      clearTimeout(deadline);
    }
    /** What a failure while the answer streams means, wherever it surfaces (here or in a part's body). */
    const failure = (err: unknown): unknown => {
      if (err instanceof SourceError) return err;
      if (request.signal.aborted) return new SourceError('cancelled', 'récupération annulée', undefined, { cause: err });
      if (idle) return new SourceError('interrupted', `la DRIMbox source ${host} a cessé d'envoyer (plus de ${Math.round(idleTimeoutMs / 1000)} s sans données)`, undefined, { cause: err });
      if (err instanceof NotPart10Error) return new SourceError('protocol', `la DRIMbox source ${host} a envoyé une partie qui n'est pas un fichier DICOM`, undefined, { cause: err });
      if (err instanceof MultipartError || err instanceof Http1Error || isAbortError(err) || err instanceof TypeError || (err as { code?: string }).code) {
        return new SourceError('interrupted', `la connexion à la DRIMbox source ${host} a été coupée en cours de transfert`, undefined, { cause: err });
      }
      return err;
    };
    try {
      if (res.status === 204) return;
      if (res.status !== 200 || !res.body) {
        await res.body?.return?.();
        throw statusError(res.status, host, !!request.accessToken);
      }
      const contentType = res.headers.get('content-type') ?? '';
      const media = parseMediaType(contentType);
      const boundary = boundaryOf(contentType);
      if (!media || media.type !== 'multipart' || media.subtype !== 'related' || !boundary) {
        await res.body.return?.();
        throw new SourceError('protocol', `la DRIMbox source ${host} n'a pas répondu en multipart/related (${contentType || 'sans type'})`);
      }
      const chunks = res.body;
      // The idle limit counts only while waiting for the source (not while the disk is slow): one timer, re-armed
      // at each read rather than one created per chunk.
      let reading = false;
      const idleTimer = setTimeout(() => {
        if (!reading) return void idleTimer.refresh();
        idle = true;
        controller.abort(new Error('idle timeout'));
      }, idleTimeoutMs);
      const feed = new PartFeed(boundary, async () => {
        idleTimer.refresh();
        reading = true;
        try {
          const chunk = await chunks.next();
          return chunk.done ? undefined : chunk.value;
        } finally {
          reading = false;
        }
      }, failure);
      try {
        for (let part = await feed.next(); part; part = await feed.next()) {
          const partType = part.headers.get('content-type');
          const partMedia = partType ? parseMediaType(partType) : undefined;
          if (partMedia && !(partMedia.type === 'application' && partMedia.subtype === 'dicom')) {
            throw new SourceError('protocol', `la DRIMbox source ${host} a envoyé une partie ${partType} au lieu d'une instance DICOM`);
          }
          const { meta } = part;
          yield { transferSyntaxUid: meta.transferSyntaxUid, sopClassUid: meta.sopClassUid, sopInstanceUid: meta.sopInstanceUid, body: part.body };
          await feed.finishPart();
        }
      } finally {
        clearTimeout(idleTimer);
        // Read to its end: nothing happens; left early: the stream is destroyed and its connection closed.
        await chunks.return?.().catch(() => undefined);
      }
    } catch (err) {
      throw failure(err);
    } finally {
      request.signal.removeEventListener('abort', onAbort);
      controller.abort(new Error('done'));
    }
  }

  /** A QIDO-RS list (a JSON array), gzip accepted and decoded by the transport; refused beyond `maxBytes`. */
  async function jsonArray(url: URL, request: SourceRequest, maxBytes: number): Promise<unknown[]> {
    const host = url.host;
    const controller = new AbortController();
    const onAbort = () => controller.abort(request.signal.reason);
    request.signal.addEventListener('abort', onAbort, { once: true });
    const deadline = setTimeout(() => controller.abort(new Error('response timeout')), responseTimeoutMs);
    try {
      const res = await get(
        url,
        {
          accept: 'application/dicom+json',
          'accept-encoding': 'gzip',
          ...(request.accessToken ? { authorization: `Bearer ${request.accessToken}` } : {}),
          'kos-sopinstanceuid': request.kosSopInstanceUid,
        },
        controller.signal,
      );
      if (res.status !== 200 || !res.body) {
        await res.body?.return?.();
        throw statusError(res.status, host, !!request.accessToken);
      }
      const chunks: Uint8Array[] = [];
      let total = 0;
      for await (const chunk of res.body) {
        total += chunk.byteLength;
        if (total > maxBytes) {
          controller.abort(new Error('too large'));
          throw new SourceError('protocol', `la DRIMbox source ${host} a envoyé une liste d'instances de plus de ${maxBytes} octets`);
        }
        chunks.push(chunk);
      }
      const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (!Array.isArray(parsed)) throw new SourceError('protocol', `la DRIMbox source ${host} a envoyé une liste d'instances qui n'est pas un tableau JSON`);
      return parsed;
    } finally {
      clearTimeout(deadline);
      request.signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * QIDO-RS instances of a series, with their Instance Number (a default return attribute, PS3.18 Table 6.7.1-2a;
   * a required key of the image-level C-FIND, PS3.4 Table C.6-4, so a source over DIMSE answers it at once).
   */
  const seriesInstances = (request: SourceRequest, maxBytes: number) =>
    jsonArray(new URL(`${request.url.href}/instances?includefield=00200013`), request, maxBytes);

  return { retrieve, seriesInstances };
}
