import { PacsError, type FindQuery } from './types.js';
import type { DicomJson } from '../dicom/model.js';
import { AsyncQueue } from './async-queue.js';
import { lease, STUDY_ROOT_FIND, UNCOMPRESSED, type BridgeContext } from './context.js';
import { findIdentifier, toDicomJson } from './dicom-json.js';
import { findRequest, type Request, type Response } from './message.js';
import { rawDatasetOf } from './receive.js';
import { peerLabel, statusHex, statusText } from './errors.js';

/** Matches buffered before the socket is paused (a consumer slower than the PACS). */
const HIGH_WATER_MARK = 512;
const LOW_WATER_MARK = 128;
/** How long a cancelled C-FIND waits for the PACS's final response before aborting the association. */
const CANCEL_GRACE_MS = 5_000;

/**
 * Study Root C-FIND; each match is yielded as it arrives, decoded to DICOM JSON. Stopping early
 * (break, return, AbortSignal) sends C-CANCEL and releases the association.
 */
export async function* find(ctx: BridgeContext, query: FindQuery, signal?: AbortSignal): AsyncGenerator<DicomJson> {
  const identifier = findIdentifier(query);
  const what = `C-FIND at ${query.level} level`;
  const { association, done } = await lease(ctx, [{ abstractSyntaxUid: STUDY_ROOT_FIND, transferSyntaxUids: UNCOMPRESSED }], { signal });
  let finished = false;
  let cancelSent = false;
  let onAbort: (() => void) | undefined;
  let operation: Promise<void> = Promise.resolve();
  let request: Request | undefined;
  try {
    const context = association.acceptedContext(STUDY_ROOT_FIND);
    if (!context) throw new PacsError('refused', `PACS ${peerLabel(ctx.peer)} does not accept Study Root C-FIND`, { pacs: peerLabel(ctx.peer) });
    const query = findRequest(context, identifier);
    request = query;
    const queue = new AsyncQueue<DicomJson>({
      highWaterMark: HIGH_WATER_MARK,
      lowWaterMark: LOW_WATER_MARK,
      onHigh: () => association.pause('consumer'),
      onLow: () => association.resume('consumer'),
    });
    onAbort = () => {
      cancelSent = true;
      association.cancel(query);
      queue.fail(new PacsError('cancelled', `${what} cancelled`, { pacs: peerLabel(ctx.peer) }), true);
    };
    operation = association
      .perform(query, context, what, (response) => {
        const raw = rawDatasetOf(response);
        if (raw) queue.push(toDicomJson(raw));
      })
      .then(
        (final) => {
          finished = true;
          const error = finalStatusError(ctx, what, final);
          if (error) queue.fail(error);
          else queue.end();
        },
        (err: unknown) => {
          finished = true;
          queue.fail(err);
        },
      );
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    for (;;) {
      const next = await queue.next();
      if (next.done) break;
      yield next.value;
    }
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    association.resume('consumer');
    if (!finished && association.isUsable) {
      if (!cancelSent && request) association.cancel(request);
      await Promise.race([operation, new Promise((resolve) => setTimeout(resolve, CANCEL_GRACE_MS).unref())]);
      if (!finished) association.abort();
    }
    await done();
  }
}

export function finalStatusError(ctx: BridgeContext, what: string, final: Response): PacsError | undefined {
  const status = final.getStatus();
  if (status === 0x0000) return undefined;
  const label = peerLabel(ctx.peer);
  if (status === 0xfe00) return new PacsError('cancelled', `${what} cancelled by PACS ${label}`, { pacs: label, status });
  const comment = final.getErrorComment();
  const kind = status >= 0xa700 && status <= 0xa7ff ? 'refused' : status === 0x0122 || status === 0x0124 ? 'refused' : 'failed';
  return new PacsError(kind, `PACS ${label} answered ${what} with status ${statusHex(status)} (${statusText(status)})${comment ? `: ${comment}` : ''}`, {
    pacs: label,
    status,
  });
}
