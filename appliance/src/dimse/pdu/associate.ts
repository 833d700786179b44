import {
  AbortReason,
  ItemType,
  MAX_CONTEXTS,
  MAX_ROLE_SELECTIONS,
  MAX_TRANSFER_SYNTAXES_PER_CONTEXT,
  MAX_VERSION_NAME,
  PduType,
} from './constants.js';
import { aeTitleBytes, aeTitleText, Cursor, PduError, uidBytes, uidText } from './cursor.js';

/** SCP/SCU Role Selection sub-item (PS3.7 D.3.3.4): which side may act as SCP and SCU for a SOP class. */
export interface RoleSelection {
  sopClassUid: string;
  scuRole: boolean;
  scpRole: boolean;
}

/** User Information item (PS3.7 D.3.3, PS3.8 D.1). */
export interface UserInformation {
  /** Maximum length of the variable field of the P-DATA-TF PDUs the sender receives; 0: no limit (PS3.8 D.1). */
  maxPduLength: number;
  implementationClassUid: string;
  implementationVersionName?: string;
  roles: RoleSelection[];
  /** Asynchronous Operations Window (PS3.7 D.3.3.3); absent means 1/1, synchronous. */
  asyncOperations?: { invoked: number; performed: number };
}

export interface RequestedContext {
  id: number;
  abstractSyntaxUid: string;
  transferSyntaxUids: string[];
}

export interface AcceptedContext {
  id: number;
  /** ContextResult: 0 acceptance, 1-4 rejections (PS3.8 Table 9-18). */
  result: number;
  /** Significant only when the result is acceptance. */
  transferSyntaxUid?: string;
}

interface AssociateCommon {
  protocolVersion: number;
  calledAeTitle: string;
  callingAeTitle: string;
  applicationContext: string;
  user: UserInformation;
}
export interface AssociateRq extends AssociateCommon {
  contexts: RequestedContext[];
}
export interface AssociateAc extends AssociateCommon {
  contexts: AcceptedContext[];
}
export interface AssociateRj {
  result: number;
  source: number;
  reason: number;
}

// ---- encoding -------------------------------------------------------------------------------------------------

function item(type: number, content: Buffer): Buffer {
  if (content.length > 0xffff) throw new Error(`item 0x${type.toString(16)} of ${content.length} bytes exceeds the 16-bit item length`);
  const header = Buffer.alloc(4);
  header.writeUInt8(type, 0);
  header.writeUInt16BE(content.length, 2);
  return Buffer.concat([header, content]);
}

function pdu(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(body.length, 2);
  return Buffer.concat([header, body]);
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}

function encodeUserInformation(user: UserInformation): Buffer {
  const items = [item(ItemType.MaximumLength, u32(user.maxPduLength)), item(ItemType.ImplementationClassUid, uidBytes(user.implementationClassUid, 'Implementation Class UID'))];
  if (user.asyncOperations) items.push(item(ItemType.AsyncOperationsWindow, Buffer.concat([u16(user.asyncOperations.invoked), u16(user.asyncOperations.performed)])));
  for (const role of user.roles) {
    const uid = uidBytes(role.sopClassUid, 'role selection SOP Class UID');
    items.push(item(ItemType.RoleSelection, Buffer.concat([u16(uid.length), uid, Buffer.from([role.scuRole ? 1 : 0, role.scpRole ? 1 : 0])])));
  }
  if (user.implementationVersionName) {
    const name = user.implementationVersionName;
    if (name.length > MAX_VERSION_NAME || /[^\x20-\x7e]/.test(name)) throw new Error(`Implementation Version Name "${name}" is not 1-16 printable characters`);
    items.push(item(ItemType.ImplementationVersionName, Buffer.from(name, 'latin1')));
  }
  return item(ItemType.UserInformation, Buffer.concat(items));
}

function fixedHeader(a: AssociateCommon): Buffer {
  return Buffer.concat([u16(a.protocolVersion), Buffer.alloc(2), aeTitleBytes(a.calledAeTitle, 'Called AE title'), aeTitleBytes(a.callingAeTitle, 'Calling AE title'), Buffer.alloc(32)]);
}

export function encodeAssociateRq(rq: AssociateRq): Buffer {
  if (rq.contexts.length === 0 || rq.contexts.length > MAX_CONTEXTS) throw new Error(`A-ASSOCIATE-RQ with ${rq.contexts.length} presentation contexts (1 to ${MAX_CONTEXTS})`);
  const contexts = rq.contexts.map((c) =>
    item(
      ItemType.PresentationContextRq,
      Buffer.concat([
        Buffer.from([c.id, 0, 0, 0]),
        item(ItemType.AbstractSyntax, uidBytes(c.abstractSyntaxUid, 'Abstract Syntax')),
        ...c.transferSyntaxUids.map((ts) => item(ItemType.TransferSyntax, uidBytes(ts, 'Transfer Syntax'))),
      ]),
    ),
  );
  return pdu(
    PduType.AssociateRq,
    Buffer.concat([fixedHeader(rq), item(ItemType.ApplicationContext, uidBytes(rq.applicationContext, 'Application Context')), ...contexts, encodeUserInformation(rq.user)]),
  );
}

export function encodeAssociateAc(ac: AssociateAc): Buffer {
  const contexts = ac.contexts.map((c) =>
    item(
      ItemType.PresentationContextAc,
      Buffer.concat([
        Buffer.from([c.id, 0, c.result, 0]),
        // PS3.8 §9.3.3.2: one Transfer Syntax sub-item, not significant when the context is rejected.
        item(ItemType.TransferSyntax, c.result === 0 && c.transferSyntaxUid ? uidBytes(c.transferSyntaxUid, 'Transfer Syntax') : Buffer.alloc(0)),
      ]),
    ),
  );
  return pdu(
    PduType.AssociateAc,
    Buffer.concat([fixedHeader(ac), item(ItemType.ApplicationContext, uidBytes(ac.applicationContext, 'Application Context')), ...contexts, encodeUserInformation(ac.user)]),
  );
}

export function encodeAssociateRj(rj: AssociateRj): Buffer {
  return pdu(PduType.AssociateRj, Buffer.from([0, rj.result, rj.source, rj.reason]));
}

// ---- decoding -------------------------------------------------------------------------------------------------

interface Items {
  type: number;
  content: Cursor;
}

/** The items of a variable field: type, reserved byte, 16-bit length, content. */
function* items(cursor: Cursor, what: string): Generator<Items> {
  while (cursor.remaining > 0) {
    const type = cursor.u8();
    cursor.skip(1);
    const length = cursor.u16();
    yield { type, content: cursor.sub(length, `${what} item 0x${type.toString(16).padStart(2, '0')}`) };
  }
}

function decodeFixedHeader(body: Cursor, what: string): Omit<AssociateCommon, 'applicationContext' | 'user'> {
  const protocolVersion = body.u16();
  body.skip(2);
  const calledAeTitle = aeTitleText(body.take(16), `${what} Called AE title`);
  const callingAeTitle = aeTitleText(body.take(16), `${what} Calling AE title`);
  body.skip(32);
  return { protocolVersion, calledAeTitle, callingAeTitle };
}

function decodeUserInformation(content: Cursor, what: string): UserInformation {
  let maxPduLength: number | undefined;
  let implementationClassUid: string | undefined;
  let implementationVersionName: string | undefined;
  let asyncOperations: UserInformation['asyncOperations'];
  const roles: RoleSelection[] = [];
  for (const sub of items(content, `${what} user information`)) {
    switch (sub.type) {
      case ItemType.MaximumLength:
        if (sub.content.remaining !== 4) throw new PduError(`${what}: Maximum Length sub-item of ${sub.content.remaining} bytes (4 expected)`);
        maxPduLength = sub.content.u32();
        break;
      case ItemType.ImplementationClassUid:
        implementationClassUid = uidText(sub.content.take(sub.content.remaining), `${what} Implementation Class UID`);
        break;
      case ItemType.ImplementationVersionName: {
        const name = sub.content.take(sub.content.remaining).toString('latin1').trim();
        if (name.length > MAX_VERSION_NAME) throw new PduError(`${what}: Implementation Version Name of ${name.length} characters (16 at most)`);
        implementationVersionName = name.replace(/[^\x20-\x7e]/g, '?');
        break;
      }
      case ItemType.AsyncOperationsWindow:
        asyncOperations = { invoked: sub.content.u16(), performed: sub.content.u16() };
        break;
      case ItemType.RoleSelection: {
        if (roles.length >= MAX_ROLE_SELECTIONS) throw new PduError(`${what}: more than ${MAX_ROLE_SELECTIONS} SCP/SCU role selection items`);
        const uidLength = sub.content.u16();
        const sopClassUid = uidText(sub.content.take(uidLength), `${what} role selection SOP Class UID`);
        roles.push({ sopClassUid, scuRole: sub.content.u8() === 1, scpRole: sub.content.u8() === 1 });
        break;
      }
      default:
      // Extended negotiation, user identity...: not used by the box, skipped (their length is bounded by the item's).
    }
  }
  // PS3.7 D.3.3.1-D.3.3.2: both are mandatory.
  if (maxPduLength === undefined) throw new PduError(`${what}: no Maximum Length sub-item in the user information`, AbortReason.UnexpectedPduParameter);
  if (implementationClassUid === undefined) throw new PduError(`${what}: no Implementation Class UID in the user information`, AbortReason.UnexpectedPduParameter);
  return { maxPduLength, implementationClassUid, roles, ...(implementationVersionName ? { implementationVersionName } : {}), ...(asyncOperations ? { asyncOperations } : {}) };
}

/** The body of an association PDU (after its 6-byte header). */
function bodyOf(pduBytes: Buffer, type: number, what: string): Cursor {
  if (pduBytes.length < 6 || pduBytes[0] !== type) throw new PduError(`${what}: not a PDU of type 0x0${type}`, AbortReason.UnexpectedPdu);
  const length = pduBytes.readUInt32BE(2);
  if (length !== pduBytes.length - 6) throw new PduError(`${what}: PDU length ${length} does not match the ${pduBytes.length - 6} bytes received`);
  return new Cursor(pduBytes, 6, pduBytes.length, what);
}

function decodeCommon<C>(pduBytes: Buffer, type: number, what: string, context: (content: Cursor) => C): AssociateCommon & { contexts: C[] } {
  const body = bodyOf(pduBytes, type, what);
  const header = decodeFixedHeader(body, what);
  let applicationContext: string | undefined;
  let user: UserInformation | undefined;
  const contexts: C[] = [];
  const contextType = type === PduType.AssociateRq ? ItemType.PresentationContextRq : ItemType.PresentationContextAc;
  for (const it of items(body, what)) {
    if (it.type === ItemType.ApplicationContext) {
      if (applicationContext !== undefined) throw new PduError(`${what}: two Application Context items`, AbortReason.UnexpectedPduParameter);
      applicationContext = uidText(it.content.take(it.content.remaining), `${what} Application Context Name`);
    } else if (it.type === contextType) {
      if (contexts.length >= MAX_CONTEXTS) throw new PduError(`${what}: more than ${MAX_CONTEXTS} presentation contexts`);
      contexts.push(context(it.content));
    } else if (it.type === ItemType.UserInformation) {
      if (user !== undefined) throw new PduError(`${what}: two User Information items`, AbortReason.UnexpectedPduParameter);
      user = decodeUserInformation(it.content, what);
    } else if (it.type === ItemType.PresentationContextRq || it.type === ItemType.PresentationContextAc) {
      throw new PduError(`${what}: presentation context item 0x${it.type.toString(16)} does not belong in this PDU`, AbortReason.UnexpectedPduParameter);
    }
    // Other item types: ignored and skipped.
  }
  if (applicationContext === undefined) throw new PduError(`${what}: no Application Context item`, AbortReason.UnexpectedPduParameter);
  if (user === undefined) throw new PduError(`${what}: no User Information item`, AbortReason.UnexpectedPduParameter);
  return { ...header, applicationContext, user, contexts };
}

function contextId(content: Cursor, what: string): number {
  const id = content.u8();
  if (id % 2 === 0) throw new PduError(`${what}: presentation context ID ${id} is not odd (PS3.8 §9.3.2.2)`);
  return id;
}

export function decodeAssociateRq(pduBytes: Buffer): AssociateRq {
  const what = 'A-ASSOCIATE-RQ';
  const decoded = decodeCommon(pduBytes, PduType.AssociateRq, what, (content): RequestedContext => {
    const id = contextId(content, what);
    content.skip(3);
    let abstractSyntaxUid: string | undefined;
    const transferSyntaxUids: string[] = [];
    for (const sub of items(content, `${what} presentation context ${id}`)) {
      const value = sub.content.take(sub.content.remaining);
      if (sub.type === ItemType.AbstractSyntax) {
        if (abstractSyntaxUid !== undefined) throw new PduError(`${what}: presentation context ${id} has two abstract syntaxes`, AbortReason.UnexpectedPduParameter);
        abstractSyntaxUid = uidText(value, `${what} presentation context ${id} abstract syntax`);
      } else if (sub.type === ItemType.TransferSyntax) {
        if (transferSyntaxUids.length >= MAX_TRANSFER_SYNTAXES_PER_CONTEXT) throw new PduError(`${what}: presentation context ${id} proposes more than ${MAX_TRANSFER_SYNTAXES_PER_CONTEXT} transfer syntaxes`);
        transferSyntaxUids.push(uidText(value, `${what} presentation context ${id} transfer syntax`));
      } else throw new PduError(`${what}: presentation context ${id} has a sub-item of type 0x${sub.type.toString(16)}`, AbortReason.UnrecognizedPduParameter);
    }
    if (abstractSyntaxUid === undefined || transferSyntaxUids.length === 0) {
      throw new PduError(`${what}: presentation context ${id} lacks its abstract syntax or transfer syntaxes`, AbortReason.UnexpectedPduParameter);
    }
    return { id, abstractSyntaxUid, transferSyntaxUids };
  });
  const ids = new Set(decoded.contexts.map((c) => c.id));
  if (ids.size !== decoded.contexts.length) throw new PduError(`${what}: a presentation context ID is used twice`);
  return decoded;
}

export function decodeAssociateAc(pduBytes: Buffer): AssociateAc {
  const what = 'A-ASSOCIATE-AC';
  return decodeCommon(pduBytes, PduType.AssociateAc, what, (content): AcceptedContext => {
    const id = contextId(content, what);
    content.skip(1);
    const result = content.u8();
    content.skip(1);
    if (result > 4) throw new PduError(`${what}: presentation context ${id} has result ${result} (0 to 4)`);
    let transferSyntaxUid: string | undefined;
    for (const sub of items(content, `${what} presentation context ${id}`)) {
      const value = sub.content.take(sub.content.remaining);
      if (sub.type !== ItemType.TransferSyntax) throw new PduError(`${what}: presentation context ${id} has a sub-item of type 0x${sub.type.toString(16)}`, AbortReason.UnrecognizedPduParameter);
      if (result === 0) transferSyntaxUid = uidText(value, `${what} presentation context ${id} transfer syntax`);
    }
    if (result === 0 && transferSyntaxUid === undefined) throw new PduError(`${what}: accepted presentation context ${id} names no transfer syntax`, AbortReason.UnexpectedPduParameter);
    return { id, result, ...(transferSyntaxUid ? { transferSyntaxUid } : {}) };
  });
}

export function decodeAssociateRj(pduBytes: Buffer): AssociateRj {
  const body = bodyOf(pduBytes, PduType.AssociateRj, 'A-ASSOCIATE-RJ');
  if (body.remaining !== 4) throw new PduError(`A-ASSOCIATE-RJ of ${body.remaining} bytes (4 expected)`);
  body.skip(1);
  return { result: body.u8(), source: body.u8(), reason: body.u8() };
}
