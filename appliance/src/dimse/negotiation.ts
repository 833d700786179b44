import { ContextResult, DICOM_APPLICATION_CONTEXT, MAX_CONTEXTS } from './pdu/constants.js';
import type { AcceptedContext, AssociateAc, AssociateRq, RoleSelection, UserInformation } from './pdu/associate.js';
import { NegotiatedContexts, PresentationContext } from './presentation-context.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './library.js';

export interface ProposedContext {
  abstractSyntaxUid: string;
  transferSyntaxUids: string[];
  /** C-GET: the box proposes to be the C-STORE SCP on this context (SCP/SCU role selection, PS3.7 D.3.3.4). */
  scpRole?: boolean;
}

export function boxUserInformation(maxPduLength: number, roles: RoleSelection[] = []): UserInformation {
  return { maxPduLength, implementationClassUid: IMPLEMENTATION_CLASS_UID, implementationVersionName: IMPLEMENTATION_VERSION_NAME, roles };
}

/** The A-ASSOCIATE-RQ of the box as requestor: contexts numbered 1, 3, 5..., one role selection per SOP class it offers to store. */
export function associateRequest(a: { callingAeTitle: string; calledAeTitle: string; maxPduLength: number; contexts: ProposedContext[] }): AssociateRq {
  if (a.contexts.length === 0 || a.contexts.length > MAX_CONTEXTS) throw new Error(`${a.contexts.length} presentation contexts proposed (1 to ${MAX_CONTEXTS})`);
  const roles = new Map<string, RoleSelection>();
  for (const c of a.contexts) if (c.scpRole) roles.set(c.abstractSyntaxUid, { sopClassUid: c.abstractSyntaxUid, scuRole: false, scpRole: true });
  return {
    protocolVersion: 1,
    calledAeTitle: a.calledAeTitle,
    callingAeTitle: a.callingAeTitle,
    applicationContext: DICOM_APPLICATION_CONTEXT,
    contexts: a.contexts.map((c, i) => ({ id: 2 * i + 1, abstractSyntaxUid: c.abstractSyntaxUid, transferSyntaxUids: c.transferSyntaxUids })),
    user: boxUserInformation(a.maxPduLength, [...roles.values()]),
  };
}

/**
 * The contexts as the acceptor answered them. A context the box did not propose, or accepted with a transfer syntax
 * the box did not offer, is a protocol error: the association is aborted. A context left unanswered is rejected.
 */
export function negotiatedContexts(rq: AssociateRq, ac: AssociateAc): NegotiatedContexts {
  const answers = new Map<number, AcceptedContext>();
  for (const answer of ac.contexts) {
    const proposed = rq.contexts.find((c) => c.id === answer.id);
    if (!proposed) throw new Error(`A-ASSOCIATE-AC answers presentation context ${answer.id}, which was not proposed`);
    if (answer.result === ContextResult.Acceptance && !proposed.transferSyntaxUids.includes(answer.transferSyntaxUid!)) {
      throw new Error(`A-ASSOCIATE-AC accepts presentation context ${answer.id} with transfer syntax ${answer.transferSyntaxUid}, which was not proposed for it`);
    }
    answers.set(answer.id, answer);
  }
  return new NegotiatedContexts(
    rq.contexts.map((c) => {
      const answer = answers.get(c.id);
      return new PresentationContext(c.id, c.abstractSyntaxUid, c.transferSyntaxUids, answer?.result ?? ContextResult.NoReason, answer?.transferSyntaxUid);
    }),
  );
}

/**
 * The A-ASSOCIATE-AC of the box as acceptor. `choose` decides each context. The box acts as SCP only: a role selection
 * is answered with the peer's SCU role as proposed and no SCP role for the peer (PS3.7 D.3.3.4: an acceptor may
 * turn a proposed role down, never grant one not proposed). An Asynchronous Operations Window is not answered:
 * operations stay synchronous (PS3.7 D.3.3.3).
 */
export function associateAccept(
  rq: AssociateRq,
  maxPduLength: number,
  choose: (abstractSyntaxUid: string, transferSyntaxUids: string[]) => { result: number; transferSyntaxUid?: string },
): { ac: AssociateAc; contexts: NegotiatedContexts } {
  const contexts = rq.contexts.map((c) => {
    const choice = choose(c.abstractSyntaxUid, c.transferSyntaxUids);
    return new PresentationContext(c.id, c.abstractSyntaxUid, c.transferSyntaxUids, choice.result, choice.transferSyntaxUid);
  });
  const roles = rq.user.roles.map((r) => ({ sopClassUid: r.sopClassUid, scuRole: r.scuRole, scpRole: false }));
  return {
    ac: {
      protocolVersion: 1,
      calledAeTitle: rq.calledAeTitle,
      callingAeTitle: rq.callingAeTitle,
      applicationContext: DICOM_APPLICATION_CONTEXT,
      contexts: contexts.map((c) => ({ id: c.id, result: c.result, ...(c.accepted ? { transferSyntaxUid: c.transferSyntaxUid } : {}) })),
      user: boxUserInformation(maxPduLength, roles),
    },
    contexts: new NegotiatedContexts(contexts),
  };
}
