import { ContextResult } from './pdu/constants.js';

/** A presentation context as negotiated: what was proposed, what the acceptor answered. */
export class PresentationContext {
  constructor(
    readonly id: number,
    readonly abstractSyntaxUid: string,
    readonly proposedTransferSyntaxUids: string[],
    readonly result: number,
    readonly transferSyntaxUid: string | undefined,
  ) {}

  get accepted(): boolean {
    return this.result === ContextResult.Acceptance && this.transferSyntaxUid !== undefined;
  }

  getPresentationContextId(): number {
    return this.id;
  }

  getAbstractSyntaxUid(): string {
    return this.abstractSyntaxUid;
  }

  getAcceptedTransferSyntaxUid(): string | undefined {
    return this.accepted ? this.transferSyntaxUid : undefined;
  }

  getResult(): number {
    return this.result;
  }
}

/** The accepted contexts of an association by ID: a PDV on any other ID is a protocol error. */
export class NegotiatedContexts {
  private readonly byId = new Map<number, PresentationContext>();

  constructor(contexts: PresentationContext[]) {
    for (const c of contexts) this.byId.set(c.id, c);
  }

  all(): PresentationContext[] {
    return [...this.byId.values()];
  }

  /** The accepted context with this ID; throws (the association is then aborted) for an unknown or rejected one. */
  accepted(id: number): PresentationContext {
    const context = this.byId.get(id);
    if (!context?.accepted) throw new Error(`PDV on presentation context ${id}, which was not accepted`);
    return context;
  }
}
