import { mkdir } from 'node:fs/promises';
import { PacsError, type ReceivedInstance, type RetrieveOptions, type RetrieveProgress, type RetrieveResult } from './types.js';
import type { RetrieveTarget } from '../dicom/model.js';
import { MAX_CONTEXTS, type ScuAssociation } from './association.js';
import { lease, STUDY_ROOT_FIND, STUDY_ROOT_GET, STUDY_ROOT_MOVE, UNCOMPRESSED, type BridgeContext } from './context.js';
import { COMMON_STORAGE_CLASSES, storageContexts } from './storage-contexts.js';
import { findRequest, getRequest, moveRequest, type CStoreRequest, type Request, type Response } from './message.js';
import type { PresentationContext } from './presentation-context.js';
import { rawDatasetOf } from './receive.js';
import { toDicomJson } from './dicom-json.js';
import { find } from './find.js';
import { DiscardSink, FileSink, type StoreDecision, type StoreSink } from './sink.js';
import { MemoryFirstSink } from './memory-sink.js';
import { isValidUid, trimUid } from './uid.js';
import { peerLabel, statusHex, statusText } from './errors.js';
import type { StoreScp } from './scp.js';
import { log } from '../log/logger.js';

const CANCEL_GRACE_MS = 10_000;

/** The Query/Retrieve identifier of a retrieve (PS3.4 C.4.2.1.4), after checking the UIDs it names. */
function retrieveIdentifier(target: RetrieveTarget): Record<string, string> {
  const identifier: Record<string, string> = { QueryRetrieveLevel: target.level, StudyInstanceUID: target.studyInstanceUid };
  if (target.level !== 'STUDY') identifier.SeriesInstanceUID = target.seriesInstanceUid ?? '';
  if (target.level === 'IMAGE') identifier.SOPInstanceUID = target.sopInstanceUid ?? '';
  for (const [keyword, uid] of Object.entries(identifier)) {
    if (keyword !== 'QueryRetrieveLevel' && !isValidUid(uid)) {
      throw new TypeError(`retrieve at ${target.level} level: ${keyword} ${uid ? `"${String(uid).slice(0, 80)}" is not a valid UID` : 'is required'}`);
    }
  }
  return identifier;
}

function describe(target: RetrieveTarget): string {
  if (target.level === 'IMAGE') return `instance ${target.sopInstanceUid}`;
  if (target.level === 'SERIES') return `series ${target.seriesInstanceUid}`;
  return `study ${target.studyInstanceUid}`;
}

/** SOP classes in the study (0008,0062), asked with a study-level C-FIND; undefined when the PACS does not say. */
async function sopClassesInStudy(ctx: BridgeContext, studyInstanceUid: string, signal?: AbortSignal): Promise<string[] | undefined> {
  const { association, done } = await lease(ctx, [{ abstractSyntaxUid: STUDY_ROOT_FIND, transferSyntaxUids: UNCOMPRESSED }], { signal });
  try {
    const context = association.acceptedContext(STUDY_ROOT_FIND);
    if (!context) return undefined;
    const request = findRequest(context, { QueryRetrieveLevel: 'STUDY', StudyInstanceUID: studyInstanceUid, SOPClassesInStudy: [] });
    const classes = new Set<string>();
    await association.perform(request, context, 'C-FIND of the SOP classes in the study', (response) => {
      const raw = rawDatasetOf(response);
      const values = raw ? toDicomJson(raw)['00080062']?.Value : undefined;
      for (const v of values ?? []) if (typeof v === 'string' && isValidUid(v)) classes.add(v);
    });
    return classes.size ? [...classes] : undefined;
  } catch (err) {
    if (err instanceof PacsError && err.kind === 'cancelled') throw err;
    log.debug('SOP classes in study unknown, proposing the common ones', { pacs: peerLabel(ctx.peer), err });
    return undefined;
  } finally {
    await done();
  }
}

function progressOf(response: Response): RetrieveProgress {
  const r = response as unknown as { getCompleted(): number; getRemaining(): number; getFailures(): number; getWarnings(): number };
  const remaining = r.getRemaining();
  return {
    completed: r.getCompleted() ?? 0,
    ...(typeof remaining === 'number' ? { remaining } : {}),
    failed: r.getFailures() ?? 0,
    warning: r.getWarnings() ?? 0,
  };
}

/** Shared by C-GET and C-MOVE: counts instances, relays onInstance, remembers the first error to cancel with. */
class Collector {
  instances = 0;
  error: unknown;
  /** Set by run(): cancels the retrieve when onInstance fails. */
  cancel: () => void = () => {};
  constructor(private readonly options: RetrieveOptions) {}

  async stored(instance: ReceivedInstance): Promise<number> {
    this.instances++;
    if (!this.options.onInstance || this.error !== undefined) {
      instance.held?.release();
      return 0x0000;
    }
    try {
      await this.options.onInstance(instance);
      return 0x0000;
    } catch (err) {
      instance.held?.release();
      this.error = err;
      this.cancel();
      // 0xA700 Refused: out of resources (PS3.4 B.2.3): the box could not take this instance.
      return 0xa700;
    }
  }
}

interface RunParams {
  ctx: BridgeContext;
  association: ScuAssociation;
  request: Request;
  context: PresentationContext;
  what: string;
  options: RetrieveOptions;
  collector: Collector;
  onSent?: () => void;
  moveDestination?: string;
}

/** Runs a C-GET or C-MOVE to its final response, with progress, cancellation, and the final status turned into a result or an error. */
async function run({ ctx, association, request, context, what, options, collector, onSent, moveDestination }: RunParams): Promise<RetrieveResult> {
  const label = peerLabel(ctx.peer);
  let cancelled = false;
  const cancel = () => {
    if (cancelled) return;
    cancelled = true;
    association.cancel(request);
    // The PACS owes a final response; if it does not come, give up on the association.
    setTimeout(() => association.abort(), CANCEL_GRACE_MS).unref();
  };
  const onAbort = () => cancel();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  collector.cancel = cancel;
  try {
    const operation = association.perform(request, context, what, (response) => options.onProgress?.(progressOf(response)));
    onSent?.();
    if (options.signal?.aborted) cancel();
    let final: Response;
    try {
      final = await operation;
    } catch (err) {
      if (cancelled && options.signal?.aborted) throw new PacsError('cancelled', `${what} cancelled`, { pacs: label, cause: err });
      throw err;
    }
    if (collector.error !== undefined) throw collector.error;
    const status = final.getStatus();
    const progress = progressOf(final);
    const raw = rawDatasetOf(final);
    const failedList = raw ? toDicomJson(raw)['00080058']?.Value : undefined;
    const result: RetrieveResult = {
      ...progress,
      instances: collector.instances,
      failedSopInstanceUids: (failedList ?? []).filter((v): v is string => typeof v === 'string'),
    };
    options.onProgress?.(progress);
    if (status === 0xfe00 || options.signal?.aborted) {
      throw new PacsError('cancelled', `${what} cancelled after ${collector.instances} instance(s)`, { pacs: label, status });
    }
    if (status === 0x0000 || status === 0xb000) return result;
    if (status === 0xa801 && moveDestination) throw unknownDestination(ctx, moveDestination, status, 'move destination unknown');
    const comment = final.getErrorComment();
    const kind = status >= 0xa700 && status <= 0xa7ff ? 'refused' : 'failed';
    const failedNote = result.failedSopInstanceUids.length ? `, ${result.failedSopInstanceUids.length} instance(s) failed, ${result.instances} delivered` : '';
    throw new PacsError(kind, `PACS ${label} answered ${what} with status ${statusHex(status)} (${statusText(status)})${comment ? `: ${comment}` : ''}${failedNote}`, {
      pacs: label,
      status,
      partial: result,
    });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

function unknownDestination(ctx: BridgeContext, destination: string, status: number, why: string): PacsError {
  const label = peerLabel(ctx.peer);
  return new PacsError(
    'unknown-move-destination',
    `PACS ${label} refused the C-MOVE: ${why} (${statusHex(status)}). The box's AE title "${destination}" is not declared in the PACS as a modality: declare it there with the box's address and DICOM port (dimse.port)`,
    { pacs: label, status },
  );
}

/**
 * Orthanc 1.10 answers an unknown move destination with 0xC000, not 0xA801 ("Unknown modality for AET" in its log).
 * A C-MOVE refused outright for a study the PACS does have is that case in practice: say so.
 */
async function diagnoseMoveFailure(ctx: BridgeContext, err: PacsError, target: RetrieveTarget, destination: string, signal?: AbortSignal): Promise<PacsError> {
  const status = err.details.status;
  if (err.kind !== 'failed' || status === undefined || status < 0xc000 || status > 0xcfff) return err;
  try {
    for await (const match of find(ctx, { level: 'STUDY', keys: { StudyInstanceUID: target.studyInstanceUid } }, signal)) {
      if (match['0020000D']) return unknownDestination(ctx, destination, status, 'it has the study but did not start sending it, most likely');
    }
  } catch {
    // the diagnosis is best effort: the original error stands
  }
  return err;
}


/** C-GET: the PACS sends the instances back on the same association, the box's SCP role negotiated per SOP class. */
export async function retrieveByGet(ctx: BridgeContext, target: RetrieveTarget, options: RetrieveOptions): Promise<RetrieveResult> {
  const identifier = retrieveIdentifier(target);
  await mkdir(options.outDir, { recursive: true });
  const classes = options.sopClassUids ?? (await sopClassesInStudy(ctx, target.studyInstanceUid, options.signal)) ?? COMMON_STORAGE_CLASSES;
  const { contexts, dropped } = storageContexts(classes, MAX_CONTEXTS - 1, options.onlyTransferSyntax);
  if (dropped.length) log.warn('C-GET: too many SOP classes for one association, some cannot be received', { dropped });
  const collector = new Collector(options);
  const { association, done } = await lease(ctx, [{ abstractSyntaxUid: STUDY_ROOT_GET, transferSyntaxUids: UNCOMPRESSED }, ...contexts], {
    signal: options.signal,
    store: {
      openSink: (context, request) => openSink(ctx, options, context, request),
      stored: (_request: CStoreRequest, decision: StoreDecision) =>
        'instance' in decision ? collector.stored(decision.instance) : Promise.resolve(decision.failure.status),
    },
  });
  try {
    const context = association.acceptedContext(STUDY_ROOT_GET);
    if (!context) {
      throw new PacsError('refused', `PACS ${peerLabel(ctx.peer)} does not accept C-GET: set pacs.retrieve to "C-MOVE"`, { pacs: peerLabel(ctx.peer) });
    }
    const request = getRequest(context, identifier);
    return await run({ ctx, association, request, context, what: `C-GET of ${describe(target)}`, options, collector });
  } finally {
    await done();
  }
}

function openSink(ctx: BridgeContext, options: RetrieveOptions, context: PresentationContext, request: CStoreRequest): StoreSink {
  const sopInstanceUid = trimUid(String(request.getAffectedSopInstanceUid() ?? ''));
  const sopClassUid = trimUid(String(request.getAffectedSopClassUid() ?? ''));
  if (!isValidUid(sopInstanceUid) || !isValidUid(sopClassUid)) {
    return new DiscardSink({ status: 0xc000, comment: 'invalid Affected SOP Class or Instance UID' });
  }
  const meta = { sopClassUid, sopInstanceUid, transferSyntaxUid: context.getAcceptedTransferSyntaxUid() ?? '', sourceAeTitle: ctx.peer.aeTitle };
  return options.memory ? new MemoryFirstSink(meta, options.outDir, options.memory) : new FileSink(meta, options.outDir);
}

/** C-MOVE to the box's own SCP: the instances arrive on associations the PACS opens, routed to this retrieve. */
export async function retrieveByMove(ctx: BridgeContext, scp: StoreScp, target: RetrieveTarget, options: RetrieveOptions): Promise<RetrieveResult> {
  const identifier = retrieveIdentifier(target);
  await mkdir(options.outDir, { recursive: true });
  const collector = new Collector(options);
  const { association, done } = await lease(ctx, [{ abstractSyntaxUid: STUDY_ROOT_MOVE, transferSyntaxUids: UNCOMPRESSED }], { signal: options.signal });
  let unregister: (() => void) | undefined;
  try {
    const context = association.acceptedContext(STUDY_ROOT_MOVE);
    if (!context) throw new PacsError('refused', `PACS ${peerLabel(ctx.peer)} does not accept C-MOVE`, { pacs: peerLabel(ctx.peer) });
    const request = moveRequest(context, identifier, scp.aeTitle);
    return await run({
      ctx,
      association,
      request,
      context,
      what: `C-MOVE of ${describe(target)} to ${scp.aeTitle}`,
      options,
      collector,
      moveDestination: scp.aeTitle,
      // perform() has set the Message ID and nothing can arrive before the PACS reads the request.
      onSent: () => {
        unregister = scp.expectMove({
          messageId: request.getMessageId(),
          pacsAeTitle: ctx.peer.aeTitle,
          studyInstanceUid: target.studyInstanceUid,
          outDir: options.outDir,
          touch: () => association.touch(),
          stored: (instance) => collector.stored(instance),
        });
      },
    });
  } catch (err) {
    if (!(err instanceof PacsError) || collector.instances > 0) throw err;
    unregister?.();
    await done();
    throw await diagnoseMoveFailure(ctx, err, target, scp.aeTitle, options.signal);
  } finally {
    unregister?.();
    await done();
  }
}
