import { mkdir, mkdtemp, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PacsError, type HeldBytes, type FindQuery, type PacsBridge, type ReceivedInstance } from '../../dimse/types.js';
import type { DicomJson, RetrieveTarget } from '../../dicom/model.js';
import { DicomwebError } from '../errors.js';
import { isUncompressedLittleEndian } from '../transfer-syntax.js';
import { dimseMatchValue, returnAttributes } from '../qido-query.js';
import { AsyncQueue, fileChunks } from '../streams.js';
import { lentChunk } from '../lent-chunks.js';
import type { ImageUpstream, InstanceHints, InstanceRef, SearchRequest, UpstreamInstance } from './types.js';
import { ByteBudget } from '../../dimse/byte-budget.js';
import { decompressFile } from '../../dimse/transcode.js';
import { log } from '../../log/logger.js';

/**
 * The PACS over DIMSE, through the PACS bridge: C-FIND for searches, C-GET (or C-MOVE to the box) for instances.
 * Each retrieval gets its own temp folder; an instance is handed on as soon as its file is complete and deleted
 * once sent, and the folder goes when the retrieval ends, however it ends.
 */

export interface DimseUpstreamOptions {
  bridge: PacsBridge;
  /** Parent of the per-request temp folders (on the data volume, not tmpfs: a study can be large). */
  tempDir: string;
  description?: string;
  /**
   * The bridge retrieves by C-GET: the PACS is first asked for an instance in one uncompressed transfer syntax, which
   * it converts to (decompression on request); the box's own codecs do it when the PACS cannot. A C-MOVE cannot ask.
   */
  decompress?: boolean;
  /**
   * Bytes one WADO-RS retrieval may hold in memory between the PACS and the client (C-GET): within it, instances go
   * from the association to the client without touching the disk; past it, the association pauses a moment
   * (HELD_WAIT_MS) for the client to catch up, and if it does not (a stalled client), they wait on disk.
   */
  memoryPerRetrievalBytes?: number;
}

export const DEFAULT_MEMORY_PER_RETRIEVAL_BYTES = 2 * 1024 * 1024;
/**
 * How long an instance past the memory budget pauses the association, waiting for the client to take what is held,
 * before it goes to disk: far below a PACS's DIMSE timeout, long enough for a client a little slower than the PACS
 * (measured: a Node fetch client spilled a third of a 685 MB study to disk with no wait).
 */
const HELD_WAIT_MS = 1000;

/** An instance the bridge received, as an upstream instance; `dispose` removes what it leaves on disk or in memory. */
function asUpstreamInstance(received: ReceivedInstance, dispose: () => Promise<void>): UpstreamInstance {
  const { held } = received;
  if (held) {
    return {
      transferSyntaxUid: received.transferSyntaxUid,
      sopInstanceUid: received.sopInstanceUid,
      size: received.bytes,
      body: () => heldChunks(held),
      dispose: () => {
        held.release();
        return dispose();
      },
    };
  }
  return {
    transferSyntaxUid: received.transferSyntaxUid,
    sopInstanceUid: received.sopInstanceUid,
    path: received.path,
    size: received.bytes,
    body: () => fileChunks(received.path),
    dispose,
  };
}

/**
 * A held instance's bytes, lent to the response block by block: each block goes back to the pool once the client's
 * socket has taken it (lent-chunks.ts), never at dispose, while a socket or a compressor may still have it queued.
 */
async function* heldChunks(held: HeldBytes): AsyncGenerator<Uint8Array> {
  for (const { chunk, giveBack } of held.lend()) {
    if (held.released) throw new Error('a held instance was read after its release');
    yield lentChunk(chunk, giveBack);
  }
}

/** A PacsError as an answer to a remote caller: what failed, in general terms; the details stay in the log. */
export function pacsErrorToDicomweb(err: unknown, what: string): unknown {
  if (!(err instanceof PacsError)) return err;
  if (err.kind === 'cancelled') return err;
  const status = err.kind === 'timeout' ? 504 : 502;
  const message =
    err.kind === 'timeout' ? `the PACS did not answer the ${what} in time` : `the PACS could not serve the ${what} (${err.kind})`;
  return new DicomwebError(status, message, { cause: err, upstream: 'dimse' });
}

export function createDimseUpstream(options: DimseUpstreamOptions): ImageUpstream {
  const { bridge, tempDir } = options;
  const memoryBytes = options.memoryPerRetrievalBytes ?? DEFAULT_MEMORY_PER_RETRIEVAL_BYTES;

  async function* search(request: SearchRequest, signal: AbortSignal): AsyncGenerator<DicomJson> {
    const keys: Record<string, string> = {};
    for (const a of returnAttributes(request.level, request.query)) if (a.keyword !== 'RetrieveURL') keys[a.keyword] = '';
    for (const m of request.query.matches) keys[m.attribute.keyword] = dimseMatchValue(m);
    if (request.studyInstanceUid) keys.StudyInstanceUID = request.studyInstanceUid;
    if (request.seriesInstanceUid) keys.SeriesInstanceUID = request.seriesInstanceUid;
    const query: FindQuery = { level: request.level, keys };
    try {
      yield* bridge.find(query, signal);
    } catch (err) {
      throw pacsErrorToDicomweb(err, 'search');
    }
  }

  async function* instances(target: RetrieveTarget, signal: AbortSignal, hints?: InstanceHints): AsyncGenerator<UpstreamInstance> {
    await mkdir(tempDir, { recursive: true });
    const dir = await mkdtemp(join(tempDir, 'retrieve-'));
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const queue = new AsyncQueue<ReceivedInstance>();
    let finished = false;
    const retrieval = bridge
      .retrieve(target, { outDir: dir, signal: controller.signal, onInstance: (i) => queue.push(i), ...(hints?.readOnceInOrder ? { memory: new ByteBudget(memoryBytes, HELD_WAIT_MS) } : {}) })
      .then(
        (result) => {
          if (result.instances === 0 && result.failed > 0) {
            queue.fail(new DicomwebError(502, 'the PACS failed to send the requested instances', { upstream: 'dimse', result }));
          } else queue.close();
        },
        (err: unknown) => queue.fail(pacsErrorToDicomweb(err, 'retrieval')),
      )
      .finally(() => (finished = true));
    try {
      for await (const received of queue) {
        let disposed = false;
        yield asUpstreamInstance(received, async () => {
          if (disposed || received.held) return;
          disposed = true;
          await unlink(received.path).catch(() => undefined);
        });
      }
    } finally {
      // The client left or the stream failed: stop the PACS now rather than receive what nobody will read.
      if (!finished) controller.abort(new Error('retrieval abandoned by the DICOMweb client'));
      await retrieval;
      for (const left of queue.drain()) left.held?.release();
      signal.removeEventListener('abort', onAbort);
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** To an uncompressed little-endian syntax: by the PACS (C-GET), or else by the box's own codecs. */
  const canTranscodeTo = (transferSyntaxUid: string) => isUncompressedLittleEndian(transferSyntaxUid);

  /** One instance in an uncompressed syntax: converted by the PACS when it can (C-GET), else decompressed here. */
  async function transcode(ref: InstanceRef, transferSyntaxUid: string, signal: AbortSignal, storedPath?: string): Promise<UpstreamInstance> {
    if (!canTranscodeTo(transferSyntaxUid)) throw new DicomwebError(406, `instances are converted to uncompressed little endian only, not to ${transferSyntaxUid}`);
    await mkdir(tempDir, { recursive: true });
    const dir = await mkdtemp(join(tempDir, 'convert-'));
    const dispose = () => rm(dir, { recursive: true, force: true });
    try {
      const converted = options.decompress ? await convertedByPacs(ref, transferSyntaxUid, dir, signal) : undefined;
      if (converted) return asUpstreamInstance(converted, dispose);
      return await decompressedHere(ref, transferSyntaxUid, dir, signal, dispose, storedPath);
    } catch (err) {
      await dispose();
      throw err instanceof DicomwebError ? err : pacsErrorToDicomweb(err, 'conversion');
    }
  }

  /** A C-GET offering that syntax alone; undefined when the PACS cannot convert (e.g. Orthanc has no JPEG 2000 decoder). */
  async function convertedByPacs(ref: InstanceRef, transferSyntaxUid: string, dir: string, signal: AbortSignal): Promise<ReceivedInstance | undefined> {
    let received: ReceivedInstance | undefined;
    try {
      await bridge.retrieve({ level: 'IMAGE', ...ref }, { outDir: dir, signal, onlyTransferSyntax: transferSyntaxUid, onInstance: (i) => void (received = i) });
    } catch (err) {
      // The PACS answered with a failure: it cannot convert this one (not: it is unreachable).
      if (!(err instanceof PacsError && err.kind === 'failed')) throw err;
    }
    return received;
  }

  /** The instance as stored (the caller's copy, else fetched), decompressed by the box (bounded: MAX_LOCAL_DECODE_BYTES). */
  async function decompressedHere(ref: InstanceRef, transferSyntaxUid: string, dir: string, signal: AbortSignal, dispose: () => Promise<void>, storedPath?: string): Promise<UpstreamInstance> {
    let stored: ReceivedInstance | undefined;
    if (!storedPath) {
      await bridge.retrieve({ level: 'IMAGE', ...ref }, { outDir: join(dir, 'stored'), signal, onInstance: (i) => void (stored = i) });
      if (!stored) throw new DicomwebError(502, 'the PACS did not send the instance to convert', { upstream: 'dimse' });
    }
    const path = join(dir, 'decompressed.dcm');
    let size: number;
    try {
      size = await decompressFile(storedPath ?? stored!.path, transferSyntaxUid, path);
    } catch (err) {
      throw new DicomwebError(406, `this instance cannot be decompressed to ${transferSyntaxUid}: ${(err as Error).message}`, { cause: err });
    }
    log.info('dicomweb: instance decompressed by the box', { sop: ref.sopInstanceUid, to: transferSyntaxUid });
    return { transferSyntaxUid, sopInstanceUid: ref.sopInstanceUid, path, size, body: () => fileChunks(path), dispose };
  }

  return {
    description: options.description ?? 'PACS (DIMSE)',
    searchIsPaged: false,
    search,
    instances,
    transcode,
    canTranscodeTo,
  };
}
