import type { Readable } from 'node:stream';
import type { DicomJson, QueryLevel, RetrieveTarget } from '../dicom/model.js';

export interface FindQuery {
  level: QueryLevel;
  /** Matching keys and return keys, by keyword (e.g. { StudyInstanceUID: '1.2.3', SeriesInstanceUID: '' }). */
  keys: Record<string, string>;
}

/**
 * One instance received from the PACS: written to disk, or, for a retrieve given a memory budget, held in memory
 * while the budget lasts (never more than the budget: past it, instances go to disk).
 */
export interface ReceivedInstance {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** Part-10 file on disk; empty when `held` has the bytes. */
  path: string;
  bytes: number;
  held?: HeldBytes;
}

/**
 * A received instance's Part-10 bytes kept in memory, as views of pooled blocks. `release` (idempotent) gives the
 * budget back, and the blocks to the pool unless they were lent: copy what must outlive it.
 */
export interface HeldBytes {
  chunks: readonly Buffer[];
  readonly released: boolean;
  release(): void;
  /**
   * The chunks handed on to a writer (a socket): each block goes back to the pool with its `giveBack`, called once
   * the writer is done with it, not at `release`; a block never given back is left to the collector.
   */
  lend(): { chunk: Buffer; giveBack(): void }[];
}

/** Bytes a retrieve may hold in memory at once, shared by its instances (see RetrieveOptions.memory). */
export interface MemoryBudget {
  /** Takes `bytes` from the budget; false (and nothing taken) when they do not fit. */
  take(bytes: number): boolean;
  /** Takes `bytes` even past the limit (what a paused association still delivers). */
  force(bytes: number): void;
  /** The reader took `bytes`. */
  give(bytes: number): void;
  /** `bytes` are no longer held, without a reader having taken them (spilled to disk, or dropped). */
  drop(bytes: number): void;
  /** An instance over the budget may wait for room rather than go to disk. */
  readonly canWait: boolean;
  /** Resolves true once the budget has room, false when none came within its wait. */
  room(): Promise<boolean>;
}

export interface RetrieveProgress {
  completed: number;
  remaining?: number;
  failed: number;
  warning: number;
}

export interface RetrieveResult extends RetrieveProgress {
  instances: number;
  /** Instances the PACS reported as failed (from the final response's Failed SOP Instance UID List). */
  failedSopInstanceUids: string[];
}

export interface StoreOutcome {
  path: string;
  sopInstanceUid?: string;
  status: 'stored' | 'warning' | 'refused' | 'skipped';
  /** Transfer syntax it was sent in, when sent. */
  transferSyntaxUid?: string;
  /** Why it was refused or skipped, in words a technician can act on. */
  reason?: string;
  /** DIMSE status code, when the PACS answered. */
  dimseStatus?: number;
}

export interface RetrieveOptions {
  /** Folder where received instances are written (one file per SOP Instance UID). */
  outDir: string;
  onInstance?: (instance: ReceivedInstance) => void | Promise<void>;
  onProgress?: (progress: RetrieveProgress) => void;
  signal?: AbortSignal;
  /** SOP classes the target holds, when known (e.g. from a C-FIND): a C-GET then skips asking the PACS. */
  sopClassUids?: string[];
  /**
   * C-GET only: the instances are accepted in this transfer syntax alone, so the PACS converts them (decompression
   * on request). Ignored by a C-MOVE, whose instances come through the box's SCP.
   */
  onlyTransferSyntax?: string;
  /**
   * C-GET only: instances are kept in memory while this budget lasts, handed on from there (no disk round trip).
   * Past it, the association pauses at most the budget's wait (ByteBudget) for the reader to catch up, then the
   * instances go to `outDir`: a stalled client costs disk, never more than that wait of the PACS's patience.
   * Whoever receives a held instance releases it (`held.release()`) once its bytes are used.
   */
  memory?: MemoryBudget;
}

/**
 * The box's view of one PACS over DIMSE. Implementations keep the association limit,
 * reset the timeout on every pending response, and raise PacsError with a kind a technician can act on.
 */
export interface PacsBridge {
  echo(): Promise<void>;
  /** Results are yielded as they arrive: a 5,000-instance C-FIND is never collected into one array. */
  find(query: FindQuery, signal?: AbortSignal): AsyncIterable<DicomJson>;
  /** C-GET, or C-MOVE to the box's own SCP, as configured for the PACS. */
  retrieve(target: RetrieveTarget, options: RetrieveOptions): Promise<RetrieveResult>;
  /** Sends Part-10 files, proposing each file's own transfer syntax first, then uncompressed fallbacks. */
  store(files: AsyncIterable<string> | Iterable<string>, onOutcome?: (o: StoreOutcome) => void): Promise<StoreOutcome[]>;
}

export type PacsErrorKind =
  | 'unreachable'
  | 'association-rejected'
  | 'association-aborted'
  | 'timeout'
  | 'unknown-move-destination'
  | 'refused'
  | 'failed'
  | 'cancelled';

export class PacsError extends Error {
  constructor(
    readonly kind: PacsErrorKind,
    message: string,
    /** `partial`: what a failed retrieve still delivered, and which instances the PACS says failed. */
    readonly details: { pacs?: string; status?: number; cause?: unknown; partial?: RetrieveResult } = {},
  ) {
    super(message);
    this.name = 'PacsError';
  }
}

/** A stream of a Part-10 file, with what is known about it before reading. */
export interface InstanceStream {
  sopInstanceUid: string;
  transferSyntaxUid: string;
  stream: Readable;
}
