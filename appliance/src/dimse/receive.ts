import {
  commandClasses,
  Dataset,
  TransferSyntax,
  type Command,
  type CStoreRequest,
  type NetworkInternals,
  type PDataTf,
  type PresentationContext,
} from './library.js';
import type { StoreDecision, StoreSink } from './sink.js';
import { decodeCommand, splitCommand } from './command.js';

/** A dataset kept as the bytes the peer sent (C-FIND identifiers, final C-GET/C-MOVE responses): decoded by whoever needs it. */
export class RawDataset {
  constructor(
    readonly bytes: Buffer,
    readonly transferSyntaxUid: string,
  ) {}
  getTransferSyntaxUid(): string {
    return this.transferSyntaxUid;
  }
}

export function rawDatasetOf(command: Command): RawDataset | undefined {
  const dataset = command.getDataset() as unknown;
  return dataset instanceof RawDataset ? dataset : undefined;
}

const storeDecisions = new WeakMap<object, StoreDecision>();
const contextIds = new WeakMap<object, number>();
/** The presentation context an incoming request came on: its response goes back on it. */
export function contextIdOf(request: Command): number | undefined {
  return contextIds.get(request);
}
/** What the receiver did with the dataset of an incoming C-STORE (set before the request is handed on). */
export function storeDecisionOf(request: CStoreRequest): StoreDecision | undefined {
  return storeDecisions.get(request);
}

export interface ReceiverHooks {
  /** Called when the first dataset fragment of a C-STORE arrives: where its bytes go. */
  openStoreSink(context: PresentationContext, request: CStoreRequest): StoreSink;
  /** A finished instance could not be handed on (a bug or a disk error): the association is aborted. */
  fail(error: Error): void;
}

const C_STORE_RQ = 0x0001;
/** Commands are a few hundred bytes; identifiers and final responses a few KiB. Past these, a peer is misbehaving. */
const MAX_COMMAND_BYTES = 64 * 1024;
const MAX_HELD_DATASET_BYTES = 16 * 1024 * 1024;

/**
 * Replaces dcmjs-dimse's Network._processPDataTf (which buffers every dataset in memory and re-parses it):
 * C-STORE datasets stream to a sink with socket backpressure, other datasets are kept raw, and all state
 * changes happen synchronously, so PDUs that arrive while an instance is being closed cannot interleave.
 */
export class Receiver {
  private commandChunks: Buffer[] = [];
  private command: Command | undefined;
  private datasetChunks: Buffer[] = [];
  private heldBytes = 0;
  private sink: StoreSink | undefined;
  private readonly pauses = new Set<string>();

  constructor(
    private readonly net: NetworkInternals,
    private readonly hooks: ReceiverHooks,
  ) {}

  handle(pdu: PDataTf): void {
    for (const pdv of pdu.getPdvs()) {
      const association = this.net.association;
      if (!association) throw new Error('P-DATA-TF before the association was established');
      const context = association.getPresentationContext(pdv.getPresentationContextId());
      if (pdv.isCommand()) {
        if (this.command) throw new Error('command fragment received while a dataset was expected');
        this.commandChunks.push(pdv.getValue());
        if (this.commandChunks.reduce((n, c) => n + c.length, 0) > MAX_COMMAND_BYTES) throw new Error('DIMSE command longer than 64 KiB');
        if (pdv.isLastFragment()) this.commandComplete(context);
      } else {
        if (!this.command) throw new Error('dataset fragment received without a command');
        this.datasetFragment(context, this.command, pdv.getValue(), pdv.isLastFragment());
      }
    }
  }

  /** Pauses reading from the peer for a reason (a slow consumer, a slow disk); reading resumes when no reason is left. */
  pause(reason: string): void {
    this.pauses.add(reason);
    this.net.socket.pause();
  }

  resume(reason: string): void {
    if (this.pauses.delete(reason) && this.pauses.size === 0) this.net.socket.resume();
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
    this.datasetChunks = [];
    this.heldBytes = 0;
  }

  private commandComplete(context: PresentationContext): void {
    const bytes = this.commandChunks.length === 1 ? this.commandChunks[0]! : Buffer.concat(this.commandChunks);
    this.commandChunks = [];
    const { command: commandBytes, trailing } = splitCommand(bytes);
    const elements = decodeCommand(commandBytes);
    const field = elements.CommandField as number;
    const Class = commandClasses[field];
    if (!Class) throw new Error(`unsupported DIMSE command field 0x${Number(field).toString(16)}`);
    const command = Object.assign(new Class(), { commandDataset: new Dataset(elements), dataset: undefined });
    contextIds.set(command, context.getPresentationContextId());
    if (command.hasDataset()) this.command = command;
    else {
      if (trailing) Object.assign(command, { dataset: new RawDataset(trailing, TransferSyntax.ImplicitVRLittleEndian) });
      this.net._performDimse(context, command);
    }
  }

  private datasetFragment(context: PresentationContext, command: Command, value: Buffer, last: boolean): void {
    if (command.getCommandFieldType() !== C_STORE_RQ) {
      this.datasetChunks.push(value);
      this.heldBytes += value.length;
      if (this.heldBytes > MAX_HELD_DATASET_BYTES) throw new Error('dataset of a non-C-STORE message longer than 16 MiB');
      if (!last) return;
      this.heldBytes = 0;
      const bytes = this.datasetChunks.length === 1 ? this.datasetChunks[0]! : Buffer.concat(this.datasetChunks);
      this.datasetChunks = [];
      this.command = undefined;
      Object.assign(command, { dataset: new RawDataset(bytes, context.getAcceptedTransferSyntaxUid() ?? TransferSyntax.ImplicitVRLittleEndian) });
      this.net._performDimse(context, command);
      return;
    }
    const request = command as CStoreRequest;
    this.sink ??= this.hooks.openStoreSink(context, request);
    const sink = this.sink;
    if (!sink.write(value) && !this.pauses.has('disk')) {
      this.pause('disk');
      void sink.drained().then(() => this.resume('disk'));
    }
    if (!last) return;
    this.sink = undefined;
    this.command = undefined;
    sink.end().then(
      (decision) => {
        storeDecisions.set(request, decision);
        this.net._performDimse(context, request);
      },
      (err: unknown) => this.hooks.fail(err instanceof Error ? err : new Error(String(err))),
    );
  }
}
