import type { DicomJson, QueryLevel } from '../dicom/model.js';
import { acceptsGzip, negotiateJson, parseAccept } from './accept.js';
import { declareUtf8, rewriteUris } from './dicom-json.js';
import { DicomwebError } from './errors.js';
import { parseQidoQuery, type QidoQuery } from './qido-query.js';
import { linkedController, type DicomwebResponse, type RequestContext } from './response.js';
import { gzipChunks, jsonArrayChunks } from './streams.js';
import type { ImageUpstream } from './upstream/types.js';

/**
 * QIDO-RS (PS3.18 §10.6): studies, series of a study, instances of a series or study, answered from the PACS
 * (C-FIND or its own QIDO) as application/dicom+json in UTF-8, streamed as results arrive. Every result carries
 * a RetrieveURL on this box; no URL of the PACS gets through.
 */

export interface SearchScope {
  level: QueryLevel;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
}

export interface QidoServiceOptions {
  upstream: ImageUpstream;
  publicBaseUrl: string;
  maxLimit?: number;
}

function firstString(json: DicomJson, tag: string): string | undefined {
  const v = json[tag]?.Value?.[0];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function createQidoService(options: QidoServiceOptions) {
  const { upstream } = options;
  const base = options.publicBaseUrl.replace(/\/+$/, '');

  function retrieveUrl(level: QueryLevel, json: DicomJson, scope: SearchScope): string | undefined {
    const st = firstString(json, '0020000D') ?? scope.studyInstanceUid;
    if (!st) return undefined;
    if (level === 'STUDY') return `${base}/studies/${st}`;
    const se = firstString(json, '0020000E') ?? scope.seriesInstanceUid;
    if (!se) return undefined;
    if (level === 'SERIES') return `${base}/studies/${st}/series/${se}`;
    const sop = firstString(json, '00080018');
    return sop ? `${base}/studies/${st}/series/${se}/instances/${sop}` : undefined;
  }

  function finish(json: DicomJson, scope: SearchScope): DicomJson {
    rewriteUris(json, (uri) => {
      const rel = upstream.relativePath?.(uri);
      return rel === undefined ? undefined : `${base}/${rel}`;
    });
    const url = retrieveUrl(scope.level, json, scope);
    if (url) json['00081190'] = { vr: 'UR', Value: [url] };
    return declareUtf8(json);
  }

  function checkScope(query: QidoQuery, scope: SearchScope): void {
    for (const m of query.matches) {
      const fixed = m.attribute.keyword === 'StudyInstanceUID' ? scope.studyInstanceUid : m.attribute.keyword === 'SeriesInstanceUID' ? scope.seriesInstanceUid : undefined;
      if (fixed !== undefined && m.value !== fixed) throw new DicomwebError(400, `${m.attribute.keyword} in the query contradicts the path`);
    }
  }

  /**
   * Search. `keep` lets the caller drop results it must not disclose (access control by study); results are
   * dropped after the PACS's own paging, so a page may come back shorter than `limit`.
   */
  async function search(scope: SearchScope, params: URLSearchParams, ctx: RequestContext, keep?: (json: DicomJson) => boolean): Promise<DicomwebResponse> {
    const mediaType = negotiateJson(parseAccept(ctx.accept));
    if (!mediaType) throw new DicomwebError(406, 'search results are served as application/dicom+json');
    const query = parseQidoQuery(params, { maxLimit: options.maxLimit });
    checkScope(query, scope);
    const controller = linkedController(ctx.signal);
    const source = upstream.search({ ...scope, query }, controller.signal)[Symbol.asyncIterator]();
    const served = { instances: 0, skipped: 0 };
    const coverage = ctx.coverage;
    const covered = (json: DicomJson): boolean => {
      if (!coverage || scope.level === 'STUDY') return true;
      const se = firstString(json, '0020000E') ?? scope.seriesInstanceUid ?? '';
      if (scope.level === 'SERIES') return coverage.has(se);
      return coverage.get(se)?.has(firstString(json, '00080018') ?? '') ?? false;
    };
    const pageLocally = !upstream.searchIsPaged;
    let skip = pageLocally ? query.offset : 0;
    let left = pageLocally ? (query.limit ?? Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY;
    const next = async (): Promise<DicomJson | undefined> => {
      while (left > 0) {
        const r = await source.next();
        if (r.done) return undefined;
        if ((keep && !keep(r.value)) || !covered(r.value)) continue;
        if (skip > 0) {
          skip--;
          continue;
        }
        left--;
        return finish(r.value, scope);
      }
      return undefined;
    };
    let first: DicomJson | undefined;
    try {
      first = await next();
    } catch (err) {
      await source.return?.();
      throw err;
    }
    async function* results(): AsyncGenerator<DicomJson> {
      try {
        for (let item = first; item; item = await next()) {
          served.instances++;
          yield item;
        }
      } finally {
        // Past the limit, or the client left: stop the C-FIND rather than read what nobody wants.
        controller.abort(new Error('search finished'));
        await source.return?.();
      }
    }
    const chunks = jsonArrayChunks(results());
    const headers: Record<string, string> = { 'content-type': `${mediaType}; charset=utf-8`, vary: 'Accept, Accept-Encoding' };
    if (acceptsGzip(ctx.acceptEncoding)) headers['content-encoding'] = 'gzip';
    return { status: 200, headers, body: headers['content-encoding'] ? gzipChunks(chunks) : chunks, served };
  }

  return { search };
}

export type QidoService = ReturnType<typeof createQidoService>;
