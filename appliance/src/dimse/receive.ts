import type { Socket } from 'node:net';
import { IMPLICIT_VR_LE } from '../dicom/transfer-syntax-uids.js';
import type { StoreDecision, StoreSink } from './sink.js';
import { decodeCommand, splitCommand } from './command.js';
import { CommandField, DimseMessage, RawDataset, type CStoreRequest } from './message.js';
import type { NegotiatedContexts, PresentationContext } from './presentation-context.js';
import type { Pdv } from './pdu/pdata-tf.js';

export { RawDataset } from './message.js';

export function rawDatasetOf(command: DimseMessage): RawDataset | undefined {
  return command.getDataset();
}

const storeDecisions = new WeakMap<object, StoreDecision>();
const contextIds = new WeakMap<object, number>();
/** The presentation context an incoming request came on: its response goes back on it. */
export function contextIdOf(request: DimseMessage): number | undefined {
  return contextIds.get(request);
}
/** What the receiver did with the dataset of an incoming C-STORE (set before the request is handed on). */
export function storeDecisionOf(request: CStoreRequest): StoreDecision | undefined {
  return storeDecisions.get(request);
}

export interface ReceiverHooks {
  /** The accepted presentation contexts of the association. */
  contexts(): NegotiatedContexts;
  /** A complete message: a response, a request without dataset, a C-STORE once its dataset is in its sink. */
  deliver(context: PresentationContext, message: DimseMessage): void;
  /** Called when the first dataset fragment of a C-STORE arrives: where its bytes go. */
  openStoreSink(context: PresentationContext, request: CStoreRequest): StoreSink;
  /** A finished instance could not be handed on (a bug or a disk error): the association is aborted. */
  fail(error: Error): void;
}

/** Commands are a few hundred bytes; identifiers and final responses a few KiB. Past these, a peer is misbehaving. */
const MAX_COMMAND_BYTES = 64 * 1024;
const MAX_HELD_DATASET_BYTES = 16 * 1024 * 1024;

/**
 * Assembles DIMSE messages from PDVs (PS3.7 §6.3.1, PS3.8 Annex E): C-STORE datasets stream to a sink with socket
 * backpressure, other datasets are kept raw, and all state changes happen synchronously, so PDUs that arrive while
 * an instance is being closed cannot interleave. Anything out of order throws: the association is then aborted.
 */
export class Receiver {
  private commandChunks: Buffer[] = [];
  private commandBytes = 0;
  private commandContext: number | undefined;
  private command: DimseMessage | undefined;
  private datasetContext: PresentationContext | undefined;
  private datasetChunks: Buffer[] = [];
  private heldBytes = 0;
  private sink: StoreSink | undefined;
  private readonly pauses = new Set<string>();

  constructor(
    private readonly socket: Socket,
    private readonly hooks: ReceiverHooks,
  ) {}

  handle(pdvs: Pdv[]): void {
    for (const pdv of pdvs) {
      const context = this.hooks.contexts().accepted(pdv.contextId);
      if (pdv.command) {
        if (this.command) throw new Error('command fragment received while a dataset was expected');
        if (this.commandContext !== undefined && this.commandContext !== pdv.contextId) throw new Error('command fragments on two presentation contexts');
        this.commandContext = pdv.contextId;
        // Copied: a PDV may be a view of the socket's read buffer (PduReader), and a command may span reads.
        this.commandChunks.push(Buffer.from(pdv.value));
        this.commandBytes += pdv.value.length;
        if (this.commandBytes > MAX_COMMAND_BYTES) throw new Error('DIMSE command longer than 64 KiB');
        if (pdv.last) this.commandComplete(context);
      } else {
        if (!this.command || !this.datasetContext) throw new Error('dataset fragment received without a command');
        if (pdv.contextId !== this.datasetContext.id) throw new Error(`dataset fragment on presentation context ${pdv.contextId}, its command came on ${this.datasetContext.id}`);
        this.datasetFragment(this.datasetContext, this.command, pdv.value, pdv.last);
      }
    }
  }

  /** Pauses reading from the peer for a reason (a slow consumer, a slow disk); reading resumes when no reason is left. */
  pause(reason: string): void {
    this.pauses.add(reason);
    this.socket.pause();
  }

  resume(reason: string): void {
    if (this.pauses.delete(reason) && this.pauses.size === 0) this.socket.resume();
  }

  get paused(): boolean {
    return this.pauses.size > 0;
  }

  /** The association is gone: drop a half-received instance. */
  dispose(): void {
    this.sink?.destroy();
    this.sink = undefined;
    this.command = undefined;
    this.commandChunks = [];
    this.commandBytes = 0;
    this.datasetChunks = [];
    this.heldBytes = 0;
  }

  private commandComplete(context: PresentationContext): void {
    const bytes = this.commandChunks.length === 1 ? this.commandChunks[0]! : Buffer.concat(this.commandChunks);
    this.commandChunks = [];
    this.commandBytes = 0;
    this.commandContext = undefined;
    const { command: commandBytes, trailing } = splitCommand(bytes);
    const message = DimseMessage.received(decodeCommand(commandBytes));
    contextIds.set(message, context.id);
    if (message.hasDataset()) {
      this.command = message;
      this.datasetContext = context;
      return;
    }
    if (trailing) message.setDataset(new RawDataset(trailing, IMPLICIT_VR_LE));
    this.hooks.deliver(context, message);
  }

  private datasetFragment(context: PresentationContext, message: DimseMessage, value: Buffer, last: boolean): void {
    if (message.commandField !== CommandField.CStoreRq) {
      this.datasetChunks.push(Buffer.from(value));
      this.heldBytes += value.length;
      if (this.heldBytes > MAX_HELD_DATASET_BYTES) throw new Error('dataset of a non-C-STORE message longer than 16 MiB');
      if (!last) return;
      this.heldBytes = 0;
      const bytes = this.datasetChunks.length === 1 ? this.datasetChunks[0]! : Buffer.concat(this.datasetChunks);
      this.datasetChunks = [];
      this.command = undefined;
      this.datasetContext = undefined;
      message.setDataset(new RawDataset(bytes, context.getAcceptedTransferSyntaxUid() ?? IMPLICIT_VR_LE));
      this.hooks.deliver(context, message);
      return;
    }
    this.sink ??= this.hooks.openStoreSink(context, message);
    const sink = this.sink;
    if (!sink.write(value) && !this.pauses.has('disk')) {
      this.pause('disk');
      void sink.drained().then(() => this.resume('disk'));
    }
    if (!last) return;
    this.sink = undefined;
    this.command = undefined;
    this.datasetContext = undefined;
    sink.end().then(
      (decision) => {
        storeDecisions.set(message, decision);
        this.hooks.deliver(context, message);
      },
      (err: unknown) => this.hooks.fail(err instanceof Error ? err : new Error(String(err))),
    );
  }
}
