import { createGzip, gunzipSync, gzipSync } from 'node:zlib';
import type { DicomJson } from '../dicom/model.js';
import type { Logger } from '../log/logger.js';
import { acceptsGzip, negotiateJson, parseAccept } from './accept.js';
import { declareUtf8, instanceToDicomJson, rewriteUris } from './dicom-json.js';
import { DicomwebError } from './errors.js';
import { scanPart10 } from '../dicom/dataset/part10-scan.js';
import { lookupAttribute } from './tags.js';
import { linkedController, type DicomwebResponse, type RequestContext } from './response.js';
import { spool } from './spool.js';
import { gunzipChunks, gzipChunks } from './streams.js';
import type { ImageUpstream, InstanceRef } from './upstream/types.js';
import type { WadoService } from './wado.js';

/**
 * WADO-RS metadata (PS3.18 §10.4.1.1.2) at study, series and instance level. Series metadata is built once — from
 * the PACS's own metadata, or from the headers of the instances retrieved over DIMSE — and kept gzipped in SQLite;
 * it is rebuilt when the PACS counts a different number of instances in the series, when the exam is invalidated
 * (IOCM, late images), or when the box's public URL changed.
 */

export interface CachedSeriesMetadata {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  instanceCount: number;
  /** Public base the BulkDataURIs were written with. */
  baseUrl: string;
  /** JSON array, gzipped. */
  gzippedJson: Buffer;
  builtAt: string;
}

/** Implemented by store/dicomweb-cache.ts. */
export interface SeriesMetadataCache {
  get(studyInstanceUid: string, seriesInstanceUid: string): CachedSeriesMetadata | undefined;
  put(entry: CachedSeriesMetadata): void;
  invalidateStudy(studyInstanceUid: string): number;
}

export interface MetadataServiceOptions {
  upstream: ImageUpstream;
  wado: WadoService;
  publicBaseUrl: string;
  tempDir: string;
  cache?: SeriesMetadataCache;
  /** When the PACS does not count instances, a cached entry is trusted this long. */
  uncountedMaxAgeMs?: number;
  log: Logger;
}

const SERIES_UID = lookupAttribute('SeriesInstanceUID')!;

function firstNumber(json: DicomJson, tag: string): number | undefined {
  const v = json[tag]?.Value?.[0];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isInteger(n) ? n : undefined;
}

function firstString(json: DicomJson, tag: string): string | undefined {
  const v = json[tag]?.Value?.[0];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

async function gzipItems(items: AsyncIterable<DicomJson>): Promise<{ gz: Buffer; count: number }> {
  let count = 0;
  const gzip = createGzip({ level: 6 });
  const out: Buffer[] = [];
  gzip.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    gzip.on('end', resolve);
    gzip.on('error', reject);
  });
  const write = (s: string) => new Promise<void>((resolve, reject) => gzip.write(s, (err) => (err ? reject(err) : resolve())));
  await write('[');
  for await (const item of items) {
    await write((count ? ',' : '') + JSON.stringify(item));
    count++;
  }
  await write(']');
  gzip.end();
  await ended;
  return { gz: Buffer.concat(out), count };
}

export function createMetadataService(options: MetadataServiceOptions) {
  const { upstream, wado, cache, log } = options;
  const base = options.publicBaseUrl.replace(/\/+$/, '');
  const uncountedMaxAgeMs = options.uncountedMaxAgeMs ?? 10 * 60_000;
  const building = new Map<string, Promise<Buffer>>();

  const bulkUri = (st: string, se: string, sop: string) => (tag: string) => `${base}/studies/${st}/series/${se}/instances/${sop}/bulk/${tag}`;
  const toOurBase = (uri: string) => {
    const rel = upstream.relativePath?.(uri);
    return rel === undefined ? undefined : `${base}/${rel}`;
  };

  /** Instance counts of a study's series, as the PACS reports them now (undefined count: it does not say). */
  async function seriesCounts(st: string, se: string | undefined, signal: AbortSignal): Promise<Map<string, number | undefined>> {
    const counts = new Map<string, number | undefined>();
    const query = { matches: se ? [{ attribute: SERIES_UID, value: se }] : [], includeAll: false, includeFields: [], offset: 0, fuzzyMatching: false };
    for await (const row of upstream.search({ level: 'SERIES', studyInstanceUid: st, query }, signal)) {
      const uid = firstString(row, '0020000E');
      if (uid && (!se || uid === se)) counts.set(uid, firstNumber(row, '00201209'));
    }
    return counts;
  }

  /**
   * Metadata items of one series, built from the PACS. An instance whose header cannot be read (deflated, malformed)
   * is left out and counted in `unreadable`, so one bad file does not take the whole series down.
   */
  async function* buildItems(st: string, se: string, signal: AbortSignal, unreadable: { count: number }): AsyncGenerator<DicomJson> {
    if (upstream.seriesMetadata) {
      for (const item of await upstream.seriesMetadata(st, se, signal)) yield declareUtf8(rewriteUris(item, toOurBase));
      return;
    }
    for await (const instance of wado.tracked({ level: 'SERIES', studyInstanceUid: st, seriesInstanceUid: se }, signal)) {
      const spooled = await spool(instance, options.tempDir);
      let item: DicomJson | undefined;
      try {
        const layout = await scanPart10(spooled.path);
        const sop = layout.sopInstanceUid ?? instance.sopInstanceUid;
        if (sop) item = await instanceToDicomJson(layout, { bulkDataUri: bulkUri(st, se, sop) });
      } catch (err) {
        log.warn('dicomweb: instance left out of series metadata, header unreadable', { study: st, series: se, sop: instance.sopInstanceUid, error: err });
      } finally {
        await spooled.release();
      }
      if (item) yield item;
      else unreadable.count++;
    }
  }

  async function seriesGzipped(st: string, se: string, count: number | undefined): Promise<Buffer> {
    const entry = cache?.get(st, se);
    if (entry && entry.baseUrl === base) {
      const fresh = count !== undefined ? entry.instanceCount === count : Date.now() - Date.parse(entry.builtAt) < uncountedMaxAgeMs;
      if (fresh) return entry.gzippedJson;
    }
    const key = `${st}/${se}`;
    let pending = building.get(key);
    if (!pending) {
      // Concurrent viewers asking for the same series share one build (and one retrieval from the PACS).
      // Not tied to the requesting client: a build that completes serves everyone after it.
      pending = (async () => {
        const started = Date.now();
        const unreadable = { count: 0 };
        const { gz, count: built } = await gzipItems(buildItems(st, se, new AbortController().signal, unreadable));
        // Counted with the unreadable ones: the entry matches the PACS's count and is not rebuilt at every request.
        const instanceCount = built + unreadable.count;
        cache?.put({ studyInstanceUid: st, seriesInstanceUid: se, instanceCount, baseUrl: base, gzippedJson: gz, builtAt: new Date().toISOString() });
        log.info('dicomweb: series metadata built', { study: st, series: se, instances: built, unreadable: unreadable.count, bytes: gz.length, ms: Date.now() - started });
        return gz;
      })().finally(() => building.delete(key));
      building.set(key, pending);
    }
    return pending;
  }

  function jsonResponse(ctx: RequestContext, mediaType: string, chunks: AsyncIterable<Uint8Array>, gzipped?: Buffer): DicomwebResponse {
    const served = { instances: 0, skipped: 0 };
    const headers: Record<string, string> = { 'content-type': `${mediaType}; charset=utf-8`, vary: 'Accept, Accept-Encoding' };
    if (acceptsGzip(ctx.acceptEncoding)) {
      headers['content-encoding'] = 'gzip';
      return { status: 200, headers, body: gzipped ?? gzipChunks(chunks), served };
    }
    return { status: 200, headers, body: gzipped ? gunzipChunks(gzipped) : chunks, served };
  }

  function negotiated(ctx: RequestContext): string {
    const mediaType = negotiateJson(parseAccept(ctx.accept));
    if (!mediaType) throw new DicomwebError(406, 'metadata is served as application/dicom+json');
    return mediaType;
  }

  /** Series metadata narrowed to the instances the caller may see (unchanged when it may see them all). */
  function narrowed(gz: Buffer, sops: ReadonlySet<string> | undefined): Buffer {
    if (!sops) return gz;
    const items = JSON.parse(gunzipSync(gz).toString('utf8')) as DicomJson[];
    const kept = items.filter((item) => sops.has(firstString(item, '00080018') ?? ''));
    return kept.length === items.length ? gz : gzipSync(JSON.stringify(kept));
  }

  async function series(st: string, se: string, ctx: RequestContext): Promise<DicomwebResponse> {
    const mediaType = negotiated(ctx);
    if (ctx.coverage && !ctx.coverage.has(se)) throw new DicomwebError(404, 'no such series');
    const signal = linkedController(ctx.signal).signal;
    const counts = await seriesCounts(st, se, signal);
    if (!counts.has(se)) throw new DicomwebError(404, 'no such series');
    const gz = narrowed(await seriesGzipped(st, se, counts.get(se)), ctx.coverage?.get(se));
    return jsonResponse(ctx, mediaType, gunzipChunks(gz), gz);
  }

  async function study(st: string, ctx: RequestContext): Promise<DicomwebResponse> {
    const mediaType = negotiated(ctx);
    const controller = linkedController(ctx.signal);
    const counts = await seriesCounts(st, undefined, controller.signal);
    const entries = [...counts].filter(([se]) => !ctx.coverage || ctx.coverage.has(se));
    if (entries.length === 0) throw new DicomwebError(404, 'no such study');
    // The first series is built before answering, so a PACS failure is a status, not a truncated body.
    const firstGz = await seriesGzipped(st, entries[0]![0], entries[0]![1]);
    async function* chunks(): AsyncGenerator<Uint8Array> {
      let wrote = false;
      yield Buffer.from('[');
      for (const [i, [se, count]] of entries.entries()) {
        const gz = narrowed(i === 0 ? firstGz : await seriesGzipped(st, se, count), ctx.coverage?.get(se));
        const inner = gunzipSync(gz).subarray(1, -1); // one series at a time in memory, its brackets dropped
        if (inner.length === 0) continue;
        if (wrote) yield Buffer.from(',');
        yield inner;
        wrote = true;
      }
      yield Buffer.from(']');
    }
    return jsonResponse(ctx, mediaType, chunks());
  }

  async function instance(ref: InstanceRef, ctx: RequestContext): Promise<DicomwebResponse> {
    const mediaType = negotiated(ctx);
    const held = await wado.fetchInstanceFile(ref, linkedController(ctx.signal).signal, ctx.coverage);
    let json: DicomJson;
    try {
      json = await instanceToDicomJson(held.layout, { bulkDataUri: bulkUri(ref.studyInstanceUid, ref.seriesInstanceUid, ref.sopInstanceUid) });
    } finally {
      await held.release();
    }
    const bytes = Buffer.from(JSON.stringify([json]), 'utf8');
    return jsonResponse(ctx, mediaType, (async function* () {
      yield bytes;
    })());
  }

  /**
   * Builds the cached metadata of every series of a study before anyone asks: a web viewer opening the exam (the
   * report's link) waits for each series' metadata, which for a 1,300-image CT took 1.2 s to build from the PACS on
   * the development machine. One study at a time, in the order asked; a study already waiting is not queued twice.
   * Only over a PACS that gives its own series metadata (DICOMweb): over DIMSE, building it means retrieving every
   * instance, a cost paid for the exams someone opens, not for every exam published.
   * Never rejects: a failure is logged, and the first request builds the metadata as before.
   */
  let preparing: Promise<void> = Promise.resolve();
  const waitingToPrepare = new Set<string>();
  function prepareStudy(st: string): Promise<void> {
    if (!upstream.seriesMetadata || waitingToPrepare.has(st)) return preparing;
    waitingToPrepare.add(st);
    preparing = preparing.then(async () => {
      waitingToPrepare.delete(st);
      try {
        const counts = await seriesCounts(st, undefined, new AbortController().signal);
        for (const [se, count] of counts) await seriesGzipped(st, se, count);
      } catch (err) {
        log.warn('dicomweb: series metadata not prepared ahead (built at the first request instead)', { study: st, error: err });
      }
    });
    return preparing;
  }

  return { study, series, instance, prepareStudy, invalidateStudy: (st: string) => cache?.invalidateStudy(st) ?? 0 };
}

export type MetadataService = ReturnType<typeof createMetadataService>;
