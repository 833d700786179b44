import type { RetrieveTarget } from '../dicom/model.js';
import type { Logger } from '../log/logger.js';
import { acceptsAnyStoredSyntax, acceptsGzip, acceptsMultipartOf, bestMultipart, chooseInstanceTransferSyntax, instanceRangesAsFrames, parseAccept, type MediaRange, type Representation } from './accept.js';
import { DicomwebError } from './errors.js';
import { framePartContentType, frameRepresentations, locateFrames, type ByteRange } from './frames.js';
import { rewriteLittleEndian } from './le-rewrite.js';
import { parseMediaType } from './media-type.js';
import { boundaryOf, readMultipart, type IncomingPart } from './multipart-reader.js';
import { MultipartRelay, type RelaySource } from './multipart-relay.js';
import { multipartBody, multipartContentType, newBoundary, type OutgoingPart } from './multipart-writer.js';
import type { Part10Meta } from './part10-peek.js';
import { DeflatedDatasetError, PIXEL_DATA, hex, scanPart10, Part10Error, type Part10Layout } from '../dicom/dataset/part10-scan.js';
import { linkedController, type Coverage, type DicomwebResponse, type RequestContext, type Served } from './response.js';
import { spool, type SpooledInstance } from './spool.js';
import { collect, fileChunks, gzipChunks } from './streams.js';
import { EXPLICIT_VR_BE, EXPLICIT_VR_LE, IMPLICIT_VR_LE, canRewriteLocally, isEncapsulated, isLossy, isUncompressedLittleEndian } from './transfer-syntax.js';
import type { ImageUpstream, InstanceHints, InstanceRef, UpstreamInstance } from './upstream/types.js';

/**
 * WADO-RS retrieval (PS3.18 §10.4): instances, frames and bulk data as multipart/related, streamed from the PACS.
 * Headers go out once the first part is ready, so a failure before it is a proper status (404, 406, 502), and a
 * response never holds more than the part being sent.
 */

export interface WadoServiceOptions {
  upstream: ImageUpstream;
  /** Temp files (instances spooled to serve frames, or to learn where to have them transcoded). */
  tempDir: string;
  /** Largest instance rewritten in memory between Implicit and Explicit VR LE. */
  maxRewriteBytes?: number;
  log: Logger;
  /** Told when an upstream retrieval starts and ends (ended early = the client left or it failed); `relayed`: as stored. */
  onUpstream?: (event: 'start' | 'end' | 'abandoned', relayed?: boolean) => void;
}

interface PreparedPart {
  part: OutgoingPart;
  dispose(): Promise<void>;
}

const noop = async () => undefined;

/**
 * The PACS retrievals a request makes, each with the SOP Instance UIDs the caller may see of it (undefined: all):
 * a study-level request with a coverage becomes one request per covered series.
 */
function coveredTargets(target: RetrieveTarget, coverage: Coverage | undefined): { narrowed: RetrieveTarget; sops?: ReadonlySet<string> }[] {
  if (!coverage) return [{ narrowed: target }];
  const seriesList = target.level === 'STUDY' ? [...coverage.keys()] : target.seriesInstanceUid ? [target.seriesInstanceUid] : [];
  return seriesList.flatMap((seriesInstanceUid) => {
    const sops = coverage.get(seriesInstanceUid);
    if (!sops || (target.level === 'IMAGE' && !sops.has(target.sopInstanceUid ?? ''))) return [];
    const narrowed: RetrieveTarget = target.level === 'IMAGE' ? target : { level: 'SERIES', studyInstanceUid: target.studyInstanceUid, seriesInstanceUid };
    return [{ narrowed, sops }];
  });
}

function dicomPartType(ts: string): string {
  return `application/dicom; transfer-syntax=${ts}`;
}

async function* concatFileRanges(path: string, ranges: ByteRange[]): AsyncGenerator<Uint8Array> {
  for (const r of ranges) yield* fileChunks(path, r.offset, r.length);
}

export function createWadoService(options: WadoServiceOptions) {
  const { upstream, tempDir, log } = options;
  const maxRewriteBytes = options.maxRewriteBytes ?? 256 * 1024 * 1024;

  /** Upstream instances, reported to `onUpstream` so a test (or a metrics page) sees a retrieval abandoned. */
  async function* tracked(target: RetrieveTarget, signal: AbortSignal, hints?: InstanceHints): AsyncGenerator<UpstreamInstance> {
    options.onUpstream?.('start');
    let completed = false;
    try {
      yield* upstream.instances(target, signal, hints);
      completed = true;
    } finally {
      options.onUpstream?.(completed ? 'end' : 'abandoned');
    }
  }

  /** `tracked`, narrowed to what the caller may see; instances outside the coverage are dropped unread. */
  async function* covered(target: RetrieveTarget, coverage: Coverage | undefined, signal: AbortSignal): AsyncGenerator<UpstreamInstance> {
    // Each instance is passed on whole, once, in order: the upstream may hand its bytes over from memory.
    const hints: InstanceHints = { readOnceInOrder: true };
    for (const { narrowed, sops } of coveredTargets(target, coverage)) {
      for await (const instance of tracked(narrowed, signal, hints)) {
        if (!sops || (instance.sopInstanceUid && sops.has(instance.sopInstanceUid))) yield instance;
        else await instance.dispose();
      }
    }
  }

  /** The PACS answers `covered` would read, each to be relayed as it comes, reported to `onUpstream` as `tracked`. */
  async function* relaySources(target: RetrieveTarget, coverage: Coverage | undefined, signal: AbortSignal): AsyncGenerator<RelaySource, void> {
    for (const { narrowed, sops } of coveredTargets(target, coverage)) {
      options.onUpstream?.('start', true);
      let completed = false;
      try {
        const source = await upstream.relay!(narrowed, signal);
        yield sops ? { ...source, keep: (meta) => meta.sopInstanceUid !== undefined && sops.has(meta.sopInstanceUid) } : source;
        completed = true;
      } finally {
        options.onUpstream?.(completed ? 'end' : 'abandoned');
      }
    }
  }

  /**
   * WADO-RS retrieval relayed as stored (the caller takes any transfer syntax): the PACS's parts re-framed under
   * our boundary by Node streams, without per-instance conversion logic.
   */
  async function relayed(target: RetrieveTarget, ctx: RequestContext): Promise<DicomwebResponse> {
    const controller = linkedController(ctx.signal);
    const served: Served = { instances: 0, skipped: 0 };
    const boundary = newBoundary();
    const relay = new MultipartRelay({ sources: relaySources(target, ctx.coverage, controller.signal), boundary, served });
    let first: Part10Meta | undefined;
    try {
      first = await relay.firstPart;
    } catch (err) {
      controller.abort();
      relay.destroy();
      throw err;
    }
    if (!first) {
      relay.destroy();
      throw new DicomwebError(404, 'no such instances');
    }
    relay.once('close', () => {
      if (!relay.readableEnded) controller.abort(new Error('client went away'));
    });
    return { status: 200, headers: retrieveHeaders(boundary, first.transferSyntaxUid, ctx), body: withContentCoding(relay, ctx), served };
  }

  function retrieveHeaders(boundary: string, firstTs: string | undefined, ctx: RequestContext): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': multipartContentType('application/dicom', boundary, { 'transfer-syntax': firstTs }), vary: 'Accept, Accept-Encoding' };
    if (gzips(ctx)) headers['content-encoding'] = 'gzip';
    return headers;
  }

  /** Lossless on the wire: a content coding, never a lossy transfer syntax the caller did not ask for. */
  function gzips(ctx: RequestContext): boolean {
    return ctx.compressInstances === true && acceptsGzip(ctx.acceptEncoding);
  }

  function withContentCoding(body: AsyncIterable<Uint8Array>, ctx: RequestContext): AsyncIterable<Uint8Array> {
    return gzips(ctx) ? gzipChunks(body, 1) : body;
  }

  async function prepare(instance: UpstreamInstance, target: RetrieveTarget, ranges: MediaRange[], signal: AbortSignal): Promise<PreparedPart | undefined> {
    const stored = instance.transferSyntaxUid;
    const sizeOk = instance.size === undefined || instance.size <= maxRewriteBytes;
    const byTheBox = (ts: string) => canRewriteLocally(stored, ts) && sizeOk;
    // The PACS may transcode, never from lossless to lossy (a clinical image must not lose information silently).
    const byThePacs = (ts: string) => upstream.transcode !== undefined && (upstream.canTranscodeTo?.(ts) ?? true) && (isLossy(stored) || !isLossy(ts));
    const chosen = chooseInstanceTransferSyntax(ranges, stored, [byTheBox, byThePacs]);
    if (chosen === stored) {
      return { part: { contentType: dicomPartType(stored), contentLength: instance.size, body: instance.body() }, dispose: () => instance.dispose() };
    }
    try {
      if (chosen && canRewriteLocally(stored, chosen) && sizeOk) {
        const bytes = await collect(instance.body(), maxRewriteBytes, 'instance');
        await instance.dispose();
        const rewritten = rewriteLittleEndian(bytes, stored, chosen);
        return { part: { contentType: dicomPartType(chosen), contentLength: rewritten.length, body: rewritten }, dispose: noop };
      }
      if (chosen && upstream.transcode) {
        const transcoded = await transcodeStored(instance, target, chosen, signal);
        return { part: { contentType: dicomPartType(chosen), body: transcoded.body() }, dispose: () => transcoded.dispose() };
      }
    } catch (err) {
      if (signal.aborted) throw err;
      log.warn('wado: instance left out, could not be converted', { sop: instance.sopInstanceUid, from: stored, to: chosen, error: err });
    }
    if (!chosen) log.info('wado: instance left out, no acceptable transfer syntax', { sop: instance.sopInstanceUid, stored });
    // Unread bytes of a streamed part are skipped by the multipart reader; a file is deleted.
    await instance.dispose();
    return undefined;
  }

  /**
   * The instance converted by the upstream, given where the PACS keeps it (the series UID read from the file when the
   * request was study-level) and the stored bytes, on disk until the conversion returns.
   */
  async function transcodeStored(instance: UpstreamInstance, target: RetrieveTarget, transferSyntaxUid: string, signal: AbortSignal): Promise<UpstreamInstance> {
    const spooled = await spool(instance, tempDir);
    try {
      const layout = await scanPart10(spooled.path);
      const seriesInstanceUid = target.seriesInstanceUid ?? layout.seriesInstanceUid;
      const sopInstanceUid = instance.sopInstanceUid ?? layout.sopInstanceUid;
      if (!seriesInstanceUid || !sopInstanceUid) throw new Part10Error('instance without Series or SOP Instance UID');
      const ref = { studyInstanceUid: target.studyInstanceUid, seriesInstanceUid, sopInstanceUid };
      return await upstream.transcode!(ref, transferSyntaxUid, signal, spooled.path);
    } finally {
      await spooled.release();
    }
  }

  /** WADO-RS RetrieveStudy / RetrieveSeries / RetrieveInstance. */
  async function retrieve(target: RetrieveTarget, ctx: RequestContext): Promise<DicomwebResponse> {
    const ranges = parseAccept(ctx.accept);
    if (!acceptsMultipartOf(ranges, 'application/dicom')) throw new DicomwebError(406, 'only multipart/related; type="application/dicom" is served here');
    if (upstream.relay && acceptsAnyStoredSyntax(ranges)) return relayed(target, ctx);
    const controller = linkedController(ctx.signal);
    const source = covered(target, ctx.coverage, controller.signal);
    const served: Served = { instances: 0, skipped: 0 };
    const next = async (): Promise<PreparedPart | undefined> => {
      for (;;) {
        const r = await source.next();
        if (r.done) return undefined;
        const prepared = await prepare(r.value, target, ranges, controller.signal);
        if (prepared) return prepared;
        served.skipped++;
      }
    };
    let first: PreparedPart | undefined;
    try {
      first = await next();
    } catch (err) {
      controller.abort();
      await source.return(undefined);
      throw err;
    }
    if (!first) {
      await source.return(undefined);
      if (served.skipped) throw new DicomwebError(406, 'no acceptable transfer syntax can be produced for the requested instances');
      throw new DicomwebError(404, 'no such instances');
    }
    const boundary = newBoundary();
    const firstTs = /transfer-syntax=([0-9.]+)/.exec(first.part.contentType)?.[1];
    async function* parts(): AsyncGenerator<OutgoingPart> {
      let current: PreparedPart | undefined = first;
      while (current) {
        try {
          yield current.part;
          served.instances++;
        } finally {
          await current.dispose();
        }
        current = await next();
      }
    }
    async function* body(): AsyncGenerator<Uint8Array> {
      let completed = false;
      try {
        yield* multipartBody(parts(), boundary);
        completed = true;
      } finally {
        if (!completed) controller.abort(new Error('client went away'));
        await source.return(undefined);
      }
    }
    return { status: 200, headers: retrieveHeaders(boundary, firstTs, ctx), body: withContentCoding(body(), ctx), served };
  }

  /** Re-frames a multipart answer of the PACS under our own boundary, part headers reduced to Content-Type. */
  async function reframe(contentType: string, source: AsyncIterable<Uint8Array>, controller: AbortController, served: Served): Promise<DicomwebResponse> {
    const upstreamBoundary = boundaryOf(contentType);
    if (!upstreamBoundary) throw new DicomwebError(502, 'the PACS did not answer multipart/related');
    const parts = readMultipart(source, upstreamBoundary);
    const partType = (headers: Map<string, string>) => {
      const value = headers.get('content-type') ?? '';
      return parseMediaType(value) ? value : 'application/octet-stream';
    };
    let first: IteratorResult<IncomingPart, void>;
    try {
      first = await parts.next();
    } catch (err) {
      controller.abort();
      throw err;
    }
    if (first.done) throw new DicomwebError(404, 'nothing to send');
    const firstPart = first.value;
    const type = parseMediaType(partType(firstPart.headers))!;
    const boundary = newBoundary();
    async function* outgoing(): AsyncGenerator<OutgoingPart> {
      yield { contentType: partType(firstPart.headers), body: firstPart.body };
      served.instances++;
      for await (const p of parts) {
        yield { contentType: partType(p.headers), body: p.body };
        served.instances++;
      }
    }
    async function* body(): AsyncGenerator<Uint8Array> {
      let completed = false;
      try {
        yield* multipartBody(outgoing(), boundary);
        completed = true;
      } finally {
        if (!completed) controller.abort(new Error('client went away'));
        await parts.return(undefined);
      }
    }
    return { status: 200, headers: { 'content-type': multipartContentType(`${type.type}/${type.subtype}`, boundary) }, body: body(), served };
  }

  /** One instance from the PACS, on disk, scanned; the caller releases it. */
  async function fetchInstanceFile(ref: InstanceRef, signal: AbortSignal, coverage?: Coverage): Promise<{ layout: Part10Layout; release(): Promise<void> }> {
    if (coverage && !coverage.get(ref.seriesInstanceUid)?.has(ref.sopInstanceUid)) throw new DicomwebError(404, 'no such instance');
    const source = tracked({ level: 'IMAGE', ...ref }, signal);
    let spooled: SpooledInstance | undefined;
    try {
      const r = await source.next();
      if (r.done) throw new DicomwebError(404, 'no such instance');
      spooled = await spool(r.value, tempDir);
      const layout = await scanPart10(spooled.path);
      const held = spooled;
      return {
        layout,
        release: async () => {
          await held.release();
          // Read the retrieval to its end (it was for one instance), so it counts as completed, not abandoned.
          for (let rest = await source.next(); !rest.done; rest = await source.next()) await rest.value.dispose();
        },
      };
    } catch (err) {
      await spooled?.release();
      await source.return(undefined);
      if (err instanceof Part10Error) throw new DicomwebError(502, 'the PACS sent an unreadable instance', { cause: err });
      throw err;
    }
  }

  /** How frames go out: PS3.18 negotiation, else the ANS test platform's instance-style Accept (`deviant`). */
  function frameRepresentation(ranges: MediaRange[], stored: string): { rep: Representation; deviant: boolean } | undefined {
    const reps = frameRepresentations(stored);
    const rep = bestMultipart(ranges, reps);
    if (rep) return { rep, deviant: false };
    const reread = instanceRangesAsFrames(ranges);
    const deviant = reread && bestMultipart(reread, reps);
    return deviant ? { rep: deviant, deviant: true } : undefined;
  }

  /** The representation frames are sent in, the deviation logged; 406 when none. */
  function sentFramesAs(ranges: MediaRange[], stored: string, ref: InstanceRef, refusal: string): Representation {
    const chosen = frameRepresentation(ranges, stored);
    if (!chosen) throw new DicomwebError(406, refusal);
    if (chosen.deviant) log.info('wado: frames asked as application/dicom parts (ANS test platform style), sent as frames', { sop: ref.sopInstanceUid, as: framePartContentType(chosen.rep) });
    return chosen.rep;
  }

  /**
   * The instance with frames this box can cut and send: as stored when uncompressed little endian, or encapsulated
   * in a syntax the client takes; otherwise (big endian, deflate, or compressed frames the client cannot take, as a
   * client asking for the default Explicit VR LE) converted by the PACS to Explicit VR LE first, when it can be.
   */
  async function cuttableInstance(ref: InstanceRef, ranges: MediaRange[], signal: AbortSignal): Promise<{ layout: Part10Layout; release(): Promise<void> }> {
    const converts = upstream.transcode !== undefined && (upstream.canTranscodeTo?.(EXPLICIT_VR_LE) ?? true);
    if (!converts) return fetchInstanceFile(ref, signal);
    try {
      const held = await fetchInstanceFile(ref, signal);
      const stored = held.layout.transferSyntaxUid;
      const sendable = isUncompressedLittleEndian(stored) || (isEncapsulated(stored) && frameRepresentation(ranges, stored) !== undefined);
      const wantsUncompressed = bestMultipart(ranges, frameRepresentations(EXPLICIT_VR_LE)) !== undefined;
      if (sendable || (isEncapsulated(stored) && !wantsUncompressed)) return held;
      if (isEncapsulated(stored)) log.info('wado: frames asked uncompressed, the instance is decompressed', { sop: ref.sopInstanceUid, stored });
      try {
        return await spooledLayout(await upstream.transcode!(ref, EXPLICIT_VR_LE, signal, held.layout.path));
      } finally {
        await held.release();
      }
    } catch (err) {
      if (!(err instanceof DicomwebError && err.detail?.cause instanceof DeflatedDatasetError)) throw err;
    }
    return spooledLayout(await upstream.transcode!(ref, EXPLICIT_VR_LE, signal));
  }

  /** A converted instance on disk, scanned. */
  async function spooledLayout(transcoded: UpstreamInstance): Promise<{ layout: Part10Layout; release(): Promise<void> }> {
    const spooled = await spool(transcoded, tempDir);
    try {
      return { layout: await scanPart10(spooled.path), release: () => spooled.release() };
    } catch (err) {
      await spooled.release();
      throw new DicomwebError(502, 'the PACS sent an unreadable instance', { cause: err });
    }
  }

  function acceptHeaderValue(accept: RequestContext['accept']): string {
    if (accept === undefined) return '*/*';
    return typeof accept === 'string' ? accept : accept.join(', ');
  }

  /** Serves byte ranges of a held instance file as one part per item of `items`. */
  function rangesResponse(
    held: { layout: Part10Layout; release(): Promise<void> },
    rep: Representation,
    items: ByteRange[][],
    controller: AbortController,
    contentType: string,
  ): DicomwebResponse {
    const boundary = newBoundary();
    const served: Served = { instances: 1, skipped: 0 };
    async function* body(): AsyncGenerator<Uint8Array> {
      let completed = false;
      try {
        yield* multipartBody(
          items.map((ranges) => ({
            contentType,
            contentLength: ranges.reduce((n, r) => n + r.length, 0),
            body: concatFileRanges(held.layout.path, ranges),
          })),
          boundary,
        );
        completed = true;
      } finally {
        if (!completed) controller.abort(new Error('client went away'));
        await held.release();
      }
    }
    return { status: 200, headers: { 'content-type': multipartContentType(rep.partType, boundary, { 'transfer-syntax': rep.transferSyntaxUid }) }, body: body(), served };
  }

  /** WADO-RS RetrieveFrames (PS3.18 §10.4.1.1.4). */
  async function frames(ref: InstanceRef, frameNumbers: number[], ctx: RequestContext): Promise<DicomwebResponse> {
    const controller = linkedController(ctx.signal);
    const served: Served = { instances: 0, skipped: 0 };
    if (ctx.coverage && !ctx.coverage.get(ref.seriesInstanceUid)?.has(ref.sopInstanceUid)) throw new DicomwebError(404, 'no such instance');
    if (upstream.passthrough) {
      const path = `/studies/${ref.studyInstanceUid}/series/${ref.seriesInstanceUid}/instances/${ref.sopInstanceUid}/frames/${frameNumbers.join(',')}`;
      try {
        const answer = await upstream.passthrough(path, acceptHeaderValue(ctx.accept), controller.signal);
        return reframe(answer.contentType, answer.body, controller, served);
      } catch (err) {
        // A PACS that cannot cut the frames itself (Orthanc: big endian, deflate, YBR_FULL_422) still serves the
        // instance: the frames are then cut here, as over DIMSE.
        if (controller.signal.aborted || !pacsRefusedFrames(err)) throw err;
        log.info('wado: the PACS refused the frames, cutting them from the instance', { sop: ref.sopInstanceUid, error: err });
      }
    }
    const ranges = parseAccept(ctx.accept);
    const held = await cuttableInstance(ref, ranges, controller.signal);
    try {
      const rep = sentFramesAs(ranges, held.layout.transferSyntaxUid, ref, `frames stored as ${held.layout.transferSyntaxUid} cannot be sent in an acceptable media type`);
      let all: ByteRange[][];
      try {
        all = await locateFrames(held.layout);
      } catch (err) {
        throw new DicomwebError(err instanceof Part10Error ? 422 : 500, 'frames of this instance cannot be located', { cause: err });
      }
      const missing = frameNumbers.find((n) => n > all.length);
      if (missing !== undefined) throw new DicomwebError(404, `frame ${missing} does not exist (the instance has ${all.length})`);
      return rangesResponse(held, rep, frameNumbers.map((n) => all[n - 1]!), controller, framePartContentType(rep));
    } catch (err) {
      await held.release();
      throw err;
    }
  }

  /** WADO-RS RetrieveBulkdata of a top-level attribute (the BulkDataURIs our metadata gives). */
  async function bulk(ref: InstanceRef, tagPath: string, ctx: RequestContext): Promise<DicomwebResponse> {
    const controller = linkedController(ctx.signal);
    const served: Served = { instances: 0, skipped: 0 };
    if (ctx.coverage && !ctx.coverage.get(ref.seriesInstanceUid)?.has(ref.sopInstanceUid)) throw new DicomwebError(404, 'no such instance');
    if (upstream.passthrough) {
      const path = `/studies/${ref.studyInstanceUid}/series/${ref.seriesInstanceUid}/instances/${ref.sopInstanceUid}/bulk/${tagPath}`;
      const answer = await upstream.passthrough(path, acceptHeaderValue(ctx.accept), controller.signal);
      return reframe(answer.contentType, answer.body, controller, served);
    }
    if (!/^[0-9A-Fa-f]{8}$/.test(tagPath)) throw new DicomwebError(404, 'bulk data is served for top-level attributes only');
    const tag = tagPath.toUpperCase();
    const ranges = parseAccept(ctx.accept);
    const held = await fetchInstanceFile(ref, controller.signal);
    try {
      const { layout } = held;
      if (tag === hex(PIXEL_DATA)) {
        const rep = sentFramesAs(ranges, layout.transferSyntaxUid, ref, 'pixel data cannot be sent in an acceptable media type');
        const all = await locateFrames(layout).catch((err: unknown) => {
          throw new DicomwebError(422, 'frames of this instance cannot be located', { cause: err });
        });
        return rangesResponse(held, rep, all, controller, framePartContentType(rep));
      }
      const element = layout.elements.find((e) => hex(e.tag) === tag);
      if (!element || element.length === undefined) throw new DicomwebError(404, `no bulk data for ${tag} in this instance`);
      // Bulk data is little endian in DICOMweb (PS3.18 §8.7.3.3.2); a big endian file's values would need swapping.
      const rep: Representation = { partType: 'application/octet-stream', transferSyntaxUid: EXPLICIT_VR_LE, aliases: [IMPLICIT_VR_LE] };
      if (layout.transferSyntaxUid === EXPLICIT_VR_BE) throw new DicomwebError(406, 'bulk data of a big endian instance is not served');
      if (!bestMultipart(ranges, [rep])) throw new DicomwebError(406, 'bulk data is sent as application/octet-stream');
      return rangesResponse(held, rep, [[{ offset: element.valueOffset, length: element.length }]], controller, 'application/octet-stream');
    } catch (err) {
      await held.release();
      throw err;
    }
  }

  return { retrieve, frames, bulk, fetchInstanceFile, tracked };
}

export type WadoService = ReturnType<typeof createWadoService>;

/** The PACS answered a frames request with a refusal or a failure of its own (not: not found, unreachable, too slow). */
function pacsRefusedFrames(err: unknown): boolean {
  if (!(err instanceof DicomwebError)) return false;
  const upstreamStatus = err.detail?.status;
  return err.status === 400 || err.status === 406 || (err.status === 502 && typeof upstreamStatus === 'number' && upstreamStatus >= 500);
}
