import { encodeCommand } from './command.js';
import type { PresentationContext } from './presentation-context.js';
import { encodeIdentifier } from './identifier.js';

/** A dataset kept as the bytes the peer sent, or the box encoded: decoded by whoever needs it. */
export class RawDataset {
  constructor(
    readonly bytes: Buffer,
    readonly transferSyntaxUid: string,
  ) {}
  getTransferSyntaxUid(): string {
    return this.transferSyntaxUid;
  }
}

/** Command Field values (PS3.7 Table E.1-1). */
export const CommandField = {
  CStoreRq: 0x0001,
  CStoreRsp: 0x8001,
  CGetRq: 0x0010,
  CGetRsp: 0x8010,
  CFindRq: 0x0020,
  CFindRsp: 0x8020,
  CMoveRq: 0x0021,
  CMoveRsp: 0x8021,
  CEchoRq: 0x0030,
  CEchoRsp: 0x8030,
  CCancelRq: 0x0fff,
} as const;
const KNOWN_FIELDS = new Set<number>(Object.values(CommandField));
/** Command Data Set Type 0101H: no dataset follows (PS3.7 §E.1). */
const NO_DATASET = 0x0101;

/**
 * One DIMSE message: its command elements by keyword (PS3.7 Table E.1-1) and, when it has one, its dataset as bytes.
 * Requests and responses alike.
 */
export class DimseMessage {
  constructor(
    readonly elements: Record<string, unknown>,
    private dataset?: RawDataset,
  ) {}

  /** A received command set: refuses command fields the box does not handle. */
  static received(elements: Record<string, unknown>): DimseMessage {
    const field = elements.CommandField;
    if (typeof field !== 'number' || !KNOWN_FIELDS.has(field)) throw new Error(`unsupported DIMSE command field ${typeof field === 'number' ? `0x${field.toString(16)}` : 'missing'}`);
    if (field & 0x8000 ? typeof elements.MessageIDBeingRespondedTo !== 'number' : typeof elements.MessageID !== 'number' && field !== CommandField.CCancelRq) {
      throw new Error(`DIMSE command 0x${field.toString(16)} without its message ID`);
    }
    return new DimseMessage(elements);
  }

  get commandField(): number {
    return this.elements.CommandField as number;
  }

  get isResponse(): boolean {
    return (this.commandField & 0x8000) !== 0;
  }

  /** Whether a dataset follows the command (Command Data Set Type other than 0101H). */
  hasDataset(): boolean {
    return this.elements.CommandDataSetType !== NO_DATASET;
  }

  getDataset(): RawDataset | undefined {
    return this.dataset;
  }

  setDataset(dataset: RawDataset | undefined): void {
    this.dataset = dataset;
  }

  getElement(keyword: string): unknown {
    return this.elements[keyword];
  }

  getMessageId(): number {
    return this.elements.MessageID as number;
  }

  setMessageId(id: number): void {
    this.elements.MessageID = id;
  }

  getMessageIdBeingRespondedTo(): number | undefined {
    return this.number('MessageIDBeingRespondedTo');
  }

  getStatus(): number {
    return this.number('Status') ?? 0xc000;
  }

  getErrorComment(): string | undefined {
    const comment = this.elements.ErrorComment;
    return typeof comment === 'string' && comment ? comment : undefined;
  }

  getAffectedSopClassUid(): string | undefined {
    return this.text('AffectedSOPClassUID');
  }

  getAffectedSopInstanceUid(): string | undefined {
    return this.text('AffectedSOPInstanceUID');
  }

  getRemaining(): number | undefined {
    return this.number('NumberOfRemainingSuboperations');
  }

  getCompleted(): number | undefined {
    return this.number('NumberOfCompletedSuboperations');
  }

  getFailures(): number | undefined {
    return this.number('NumberOfFailedSuboperations');
  }

  getWarnings(): number | undefined {
    return this.number('NumberOfWarningSuboperations');
  }

  /** The command set's bytes, Command Data Set Type set from whether a dataset is attached. */
  encodeCommand(): Buffer {
    return encodeCommand({ ...this.elements, CommandDataSetType: this.dataset ? 0x0001 : NO_DATASET });
  }

  private number(keyword: string): number | undefined {
    const v = this.elements[keyword];
    return typeof v === 'number' ? v : undefined;
  }

  private text(keyword: string): string | undefined {
    const v = this.elements[keyword];
    return typeof v === 'string' ? v : undefined;
  }
}

/** The box's requests and responses use these names, as the rest of the bridge reads them. */
export type Request = DimseMessage;
export type Response = DimseMessage;
export type CStoreRequest = DimseMessage;

const MEDIUM = 0x0000;

function query(field: number, context: PresentationContext, identifier: Record<string, unknown>, extra: Record<string, unknown> = {}): DimseMessage {
  const ts = context.getAcceptedTransferSyntaxUid();
  if (!ts) throw new Error(`presentation context ${context.id} (${context.abstractSyntaxUid}) was not accepted`);
  return new DimseMessage(
    { AffectedSOPClassUID: context.abstractSyntaxUid, CommandField: field, MessageID: 0, Priority: MEDIUM, ...extra },
    new RawDataset(encodeIdentifier(identifier, ts), ts),
  );
}

/** C-FIND-RQ (PS3.7 §9.3.2.1), the identifier encoded in the context's transfer syntax. */
export function findRequest(context: PresentationContext, identifier: Record<string, unknown>): DimseMessage {
  return query(CommandField.CFindRq, context, identifier);
}

/** C-GET-RQ (PS3.7 §9.3.3.1). */
export function getRequest(context: PresentationContext, identifier: Record<string, unknown>): DimseMessage {
  return query(CommandField.CGetRq, context, identifier);
}

/** C-MOVE-RQ (PS3.7 §9.3.4.1), to the AE title `destination`. */
export function moveRequest(context: PresentationContext, identifier: Record<string, unknown>, destination: string): DimseMessage {
  return query(CommandField.CMoveRq, context, identifier, { MoveDestination: destination });
}

/** C-ECHO-RQ (PS3.7 §9.3.5.1). */
export function echoRequest(context: PresentationContext): DimseMessage {
  return new DimseMessage({ AffectedSOPClassUID: context.abstractSyntaxUid, CommandField: CommandField.CEchoRq, MessageID: 0 });
}

/** C-STORE-RQ (PS3.7 §9.3.1.1) of a dataset already encoded in the context's transfer syntax. */
export function storeRequest(sop: { sopClassUid: string; sopInstanceUid: string }, dataset?: RawDataset): DimseMessage {
  return new DimseMessage(
    { AffectedSOPClassUID: sop.sopClassUid, CommandField: CommandField.CStoreRq, MessageID: 0, Priority: MEDIUM, AffectedSOPInstanceUID: sop.sopInstanceUid },
    dataset,
  );
}

/** C-CANCEL-RQ (PS3.7 §9.3.2.3) for the request with this message ID. */
export function cancelRequest(messageId: number): DimseMessage {
  return new DimseMessage({ CommandField: CommandField.CCancelRq, MessageIDBeingRespondedTo: messageId });
}

/** C-ECHO-RSP (PS3.7 §9.3.5.2), success. */
export function echoResponse(request: DimseMessage): DimseMessage {
  return new DimseMessage({
    AffectedSOPClassUID: request.getAffectedSopClassUid(),
    CommandField: CommandField.CEchoRsp,
    MessageIDBeingRespondedTo: request.getMessageId(),
    Status: 0x0000,
  });
}
