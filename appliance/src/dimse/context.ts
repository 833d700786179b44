import { EXPLICIT_VR_LE, IMPLICIT_VR_LE } from '../dicom/transfer-syntax-uids.js';
import { ScuAssociation, type AssociationParams, type ProposedContext, type StoreHandler } from './association.js';
import type { Peer } from './errors.js';
import type { Semaphore } from './semaphore.js';

/** What every SCU operation of one bridge shares: the peer, the box's AE title, timeouts, the association limit. */
export interface BridgeContext {
  peer: Peer;
  callingAeTitle: string;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  maxPduLength: number;
  slots: Semaphore;
}

export const UNCOMPRESSED = [EXPLICIT_VR_LE, IMPLICIT_VR_LE];
/** Study Root Query/Retrieve Information Model (PS3.4 C.6.2). */
export const STUDY_ROOT_FIND = '1.2.840.10008.5.1.4.1.2.2.1';
export const STUDY_ROOT_MOVE = '1.2.840.10008.5.1.4.1.2.2.2';
export const STUDY_ROOT_GET = '1.2.840.10008.5.1.4.1.2.2.3';
export const VERIFICATION = '1.2.840.10008.1.1';

export interface Lease {
  association: ScuAssociation;
  /** Releases the association (A-RELEASE, or A-ABORT if it is unusable) and frees the slot. Never rejects. */
  done(): Promise<void>;
}

/** Waits for a free slot, then opens an association; the slot is freed if opening fails. */
export async function lease(
  ctx: BridgeContext,
  contexts: ProposedContext[],
  options: { signal?: AbortSignal; store?: StoreHandler } = {},
): Promise<Lease> {
  const free = await ctx.slots.acquire(options.signal);
  const params: AssociationParams = {
    peer: ctx.peer,
    callingAeTitle: ctx.callingAeTitle,
    contexts,
    connectTimeoutMs: ctx.connectTimeoutMs,
    responseTimeoutMs: ctx.responseTimeoutMs,
    maxPduLength: ctx.maxPduLength,
    ...options,
  };
  let association: ScuAssociation;
  try {
    association = await ScuAssociation.open(params);
  } catch (err) {
    free();
    throw err;
  }
  let finished: Promise<void> | undefined;
  return {
    association,
    done: () =>
      (finished ??= association.release().finally(free)),
  };
}
