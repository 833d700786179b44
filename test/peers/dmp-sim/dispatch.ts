import { ACTIONS, type Endpoint, type Transaction } from './codes.js';
import { XdsFailure, STATUS, registryResponse, warnings as asWarnings, type XdsError } from './errors.js';
import { adhocQueryResponse, registryStoredQuery } from './iti18.js';
import { provideAndRegister } from './iti41.js';
import { retrieveDocumentSet, retrieveResponse } from './iti43.js';
import { updateDocumentSet } from './iti57.js';
import { MimeError, buildMtom, cidFromHref, parseMediaType, parseMultipart } from './mime.js';
import { SoapFault, faultEnvelope, readEnvelope, responseEnvelope, wsaFault } from './soap.js';
import type { SimContext, TransactionResult, VerifiedRequest } from './transaction.js';
import { verifyVihf } from './vihf.js';
import { NS, XmlSyntaxError, attr, children, descendants, elementChildren, parseXml, qname, text } from './xml.js';
import { validateElement } from './xsd.js';

export interface SoapRequest {
  endpoint: Endpoint;
  contentType: string | undefined;
  body: Buffer;
  /** OU of the verified client certificate. */
  structureId: string;
}

export interface Outcome {
  transaction?: Transaction;
  messageId?: string;
  status: 'Success' | 'PartialSuccess' | 'Failure' | 'Fault';
  errors: { code: string; context: string; severity: string }[];
  /** Who the verified VIHF named and who signed it (tests of the direct mode read it from the request log). */
  vihf?: { nameId: string; authenticationMode: string; signerSubject: string };
}

export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  outcome: Outcome;
}

const PAYLOAD: Record<Transaction, string> = {
  iti41: `{${NS.xdsb}}ProvideAndRegisterDocumentSetRequest`,
  iti43: `{${NS.xdsb}}RetrieveDocumentSetRequest`,
  iti18: `{${NS.query}}AdhocQueryRequest`,
  iti57: `{${NS.lcm}}SubmitObjectsRequest`,
};
const HANDLERS: Record<Transaction, (r: VerifiedRequest, c: SimContext) => TransactionResult> = {
  iti41: provideAndRegister,
  iti43: retrieveDocumentSet,
  iti18: registryStoredQuery,
  iti57: updateDocumentSet,
};
const SCHEMA_ERROR: Record<Transaction, XdsError['code']> = {
  iti41: 'XDSRegistryMetadataError',
  iti57: 'XDSRegistryMetadataError',
  iti18: 'XDSRegistryError',
  iti43: 'XDSRepositoryError',
};

/** One SOAP request to /registry or /repository, from bytes to the HTTP answer. Never throws. */
export async function handleSoap(request: SoapRequest, ctx: SimContext): Promise<HttpReply> {
  let messageId: string | undefined;
  let transaction: Transaction | undefined;
  let mtom = false;
  try {
    const message = readMessage(request.contentType, request.body);
    mtom = message.mtom;
    const doc = parseOrFault(message.envelopeXml);
    const env = readEnvelope(doc);
    messageId = env.messageId;
    transaction = transactionFor(env.action, request.endpoint, message.transportAction, env.to);
    const warnings = [...message.warnings, ...env.warnings];
    if (qname(env.payload) !== PAYLOAD[transaction]) {
      throw new SoapFault('Sender', `the body of ${env.action} must be ${PAYLOAD[transaction]}, found ${qname(env.payload)}`);
    }
    if (transaction === 'iti41' && !mtom) throw new SoapFault('Sender', 'ITI-41 must be sent as MTOM/XOP (multipart/related; type="application/xop+xml"), IHE ITI TF-2x V.3.6');
    const documents = resolveXop(env.envelope, env.payload, message.parts, transaction, warnings);

    const schema = await validateElement(env.payload, ctx.schemaDir);
    if (!schema.valid) {
      const hint = schema.errors.some((e) => /Slot'?: This element is not expected/.test(e))
        ? ' (ebRIM 3.0: in every RegistryObject the Slots come first, before Name, Description, Classification and ExternalIdentifier)'
        : '';
      const errors: XdsError[] = [
        ...schema.errors.slice(0, 20).map((e) => ({ code: SCHEMA_ERROR[transaction!], context: `schema ${schema.schema}: ${e}${hint}` })),
        ...asWarnings(warnings),
      ];
      return answer(transaction, messageId, mtom, failureBody(transaction, errors), [], 'Failure', errors);
    }
    const vihf = verifyVihf(message.envelopeXml, env.header, {
      ca: ctx.ca, now: ctx.now(), maxAgeSeconds: ctx.vihfMaxAgeSeconds, clockSkewSeconds: ctx.clockSkewSeconds,
    });
    warnings.push(...vihf.warnings);
    const verified: VerifiedRequest = { payload: env.payload, messageId, documents, structureId: request.structureId, vihf, warnings: asWarnings(warnings) };
    let result: TransactionResult;
    try {
      result = HANDLERS[transaction](verified, ctx);
    } catch (err) {
      if (!(err instanceof XdsFailure)) throw err;
      const errors = [...err.errors, ...verified.warnings.filter((w) => !err.errors.includes(w))];
      return answer(transaction, messageId, mtom, failureBody(transaction, errors), [], 'Failure', errors);
    }
    const status = /ResponseStatusType:PartialSuccess"/.test(result.bodyXml) ? 'PartialSuccess' : /ResponseStatusType:Failure"/.test(result.bodyXml) ? 'Failure' : 'Success';
    const reply = answer(transaction, messageId, mtom || transaction === 'iti43', result.bodyXml, result.attachments ?? [], status, result.errors);
    reply.outcome.vihf = { nameId: vihf.nameId, authenticationMode: vihf.authenticationMode, signerSubject: vihf.signerSubject };
    return reply;
  } catch (err) {
    const fault = err instanceof SoapFault ? err : new SoapFault('Receiver', `internal error of the DMP simulator: ${(err as Error).message}`);
    return {
      status: fault.httpStatus,
      headers: { 'content-type': 'application/soap+xml; charset=UTF-8' },
      body: Buffer.from(faultEnvelope(fault, messageId), 'utf8'),
      outcome: { transaction, messageId, status: 'Fault', errors: [{ code: fault.subcode ? `${fault.subcode.prefix}:${fault.subcode.local}` : `soap:${fault.code}`, context: fault.reason, severity: 'Error' }] },
    };
  }
}

interface Message {
  envelopeXml: string;
  parts: Map<string, Buffer>;
  mtom: boolean;
  transportAction?: string;
  warnings: string[];
}

function readMessage(contentType: string | undefined, body: Buffer): Message {
  try {
    const media = parseMediaType(contentType, 'HTTP request');
    if (media.type === 'application/soap+xml') {
      checkCharset(media.params.charset, 'HTTP Content-Type');
      return { envelopeXml: utf8(body, 'SOAP envelope'), parts: new Map(), mtom: false, transportAction: media.params.action, warnings: [] };
    }
    if (media.type === 'text/xml') {
      const doc = parseOrFault(utf8(body, 'SOAP envelope'));
      if (doc.documentElement.namespaceURI === NS.soap11) throw new SoapFault('VersionMismatch', 'SOAP 1.1 (text/xml) is not accepted: the DMP speaks SOAP 1.2 (application/soap+xml)');
      throw new SoapFault('Sender', 'Content-Type text/xml is SOAP 1.1; send application/soap+xml or MTOM', undefined, 415);
    }
    if (media.type !== 'multipart/related') throw new SoapFault('Sender', `Content-Type ${media.type} is not SOAP 1.2 (application/soap+xml) nor MTOM (multipart/related)`, undefined, 415);
    const p = media.params;
    if (p.type !== 'application/xop+xml') throw new SoapFault('Sender', `multipart/related must have type="application/xop+xml" (MTOM), found "${p.type ?? ''}"`, undefined, 415);
    const startInfo = parseMediaType(p['start-info'] ?? 'none/none', 'MTOM start-info');
    if (startInfo.type !== 'application/soap+xml') throw new SoapFault('Sender', `MTOM start-info must be "application/soap+xml" (SOAP 1.2), found "${p['start-info'] ?? ''}"`);
    if (p.action && startInfo.params.action && p.action !== startInfo.params.action) {
      throw wsaFault('ActionMismatch', `the Content-Type action "${p.action}" differs from the start-info action "${startInfo.params.action}"`);
    }
    if (!p.start) throw new SoapFault('Sender', 'MTOM Content-Type has no start parameter naming the root part');
    const start = /^<([^<>\s]+)>$/.exec(p.start)?.[1];
    if (!start) throw new SoapFault('Sender', `MTOM start "${p.start}" must be <content-id>`);
    const multipart = parseMultipart(body, p.boundary ?? '', 'MTOM request');
    const warnings: string[] = multipart.bareLf ? ['MIME lines end with LF instead of CRLF (RFC 2046; tolerated as the DMP test platform accepted it)'] : [];
    const parts = new Map<string, Buffer>();
    for (const part of multipart.parts) {
      if (!part.contentId) throw new SoapFault('Sender', 'an MTOM part has no Content-ID');
      if (parts.has(part.contentId)) throw new SoapFault('Sender', `two MTOM parts share Content-ID <${part.contentId}>`);
      parts.set(part.contentId, part.body);
    }
    const root = multipart.parts.find((x) => x.contentId === start);
    if (!root) throw new SoapFault('Sender', `the MTOM root part <${start}> named by start is not in the message`);
    if (root.mediaType.type !== 'application/xop+xml' || root.mediaType.params.type !== 'application/soap+xml') {
      throw new SoapFault('Sender', `the MTOM root part must be application/xop+xml; type="application/soap+xml", found ${root.headers['content-type'] ?? '(none)'}`);
    }
    checkCharset(root.mediaType.params.charset, 'MTOM root part');
    const rootAction = root.mediaType.params.action;
    if (rootAction && p.action && rootAction !== p.action) warnings.push(`the root part's action "${rootAction}" differs from the HTTP action "${p.action}" (tolerated; the HTTP one is used)`);
    parts.delete(start);
    return { envelopeXml: utf8(root.body, 'SOAP envelope'), parts, mtom: true, transportAction: p.action ?? startInfo.params.action ?? rootAction, warnings };
  } catch (err) {
    if (err instanceof MimeError) throw new SoapFault('Sender', err.message);
    throw err;
  }
}

function transactionFor(action: string, endpoint: Endpoint, transportAction: string | undefined, to: string): Transaction {
  const tx = (Object.keys(ACTIONS) as Transaction[]).find((t) => ACTIONS[t].action === action);
  if (!tx) throw wsaFault('ActionNotSupported', `action ${action} is not supported by the DMP (${Object.values(ACTIONS).map((a) => a.action).join(', ')})`);
  if (ACTIONS[tx].endpoint !== endpoint) throw wsaFault('ActionNotSupported', `action ${action} is served at /${ACTIONS[tx].endpoint}, not /${endpoint}`);
  if (transportAction !== undefined && transportAction !== action) throw wsaFault('ActionMismatch', `the transport action "${transportAction}" (Content-Type action parameter) differs from wsa:Action "${action}"`);
  let path: string;
  try {
    path = new URL(to).pathname;
  } catch {
    throw wsaFault('InvalidAddressingHeader', `wsa:To "${to}" is not a URL`);
  }
  if (!path.endsWith(`/${endpoint}`)) throw wsaFault('DestinationUnreachable', `wsa:To ${to} does not address the DMP's /${endpoint} service`);
  return tx;
}

/** Replaces each xop:Include by its MIME part; returns the bytes of each ns4:Document, by id. */
function resolveXop(envelope: Element, payload: Element, parts: Map<string, Buffer>, transaction: Transaction, warnings: string[]): Map<string, Buffer> {
  const used = new Set<string>();
  const bytesOf = new Map<Element, Buffer>();
  for (const include of descendants(envelope, NS.xop, 'Include')) {
    const href = attr(include, 'href') ?? '';
    const cid = cidFromHref(href);
    const part = cid !== undefined ? parts.get(cid) : undefined;
    if (!part) throw new SoapFault('Sender', `xop:Include href="${href}" does not resolve to a MIME part by Content-ID`);
    const parent = include.parentNode as Element;
    if (elementChildren(parent).length !== 1 || text(parent).length > 0) throw new SoapFault('Sender', `xop:Include must be the only content of ${qname(parent)} (XOP 1.0 §3.1)`);
    used.add(cid!);
    bytesOf.set(parent, part);
  }
  for (const cid of parts.keys()) if (!used.has(cid)) warnings.push(`MIME part <${cid}> is not referenced by any xop:Include`);
  const documents = new Map<string, Buffer>();
  if (transaction !== 'iti41') return documents;
  for (const d of children(payload, NS.xdsb, 'Document')) {
    const id = attr(d, 'id') ?? '';
    if (documents.has(id)) throw new SoapFault('Sender', `two ns4:Document elements have id="${id}"`);
    const attached = bytesOf.get(d);
    const inline = text(d).replace(/\s+/g, '');
    if (!attached && (!/^[A-Za-z0-9+/]*={0,2}$/.test(inline) || inline.length % 4 !== 0)) throw new SoapFault('Sender', `ns4:Document id="${id}" holds neither an xop:Include nor base64 content`);
    documents.set(id, attached ?? Buffer.from(inline, 'base64'));
  }
  return documents;
}

function failureBody(transaction: Transaction, errors: XdsError[]): string {
  if (transaction === 'iti18') return adhocQueryResponse(STATUS.failure, errors, '');
  if (transaction === 'iti43') return retrieveResponse(STATUS.failure, errors);
  return registryResponse(errors, STATUS.failure);
}

function answer(transaction: Transaction, relatesTo: string, mtom: boolean, bodyXml: string, attachments: { contentId: string; contentType: string; body: Buffer }[], status: Outcome['status'], errors: XdsError[]): HttpReply {
  const action = ACTIONS[transaction].response;
  const envelope = responseEnvelope(action, relatesTo, bodyXml);
  const outcome: Outcome = { transaction, messageId: relatesTo, status, errors: errors.map((e) => ({ code: e.code, context: e.context, severity: e.severity ?? 'Error' })) };
  if (!mtom) return { status: 200, headers: { 'content-type': `application/soap+xml; charset=UTF-8; action="${action}"` }, body: Buffer.from(envelope, 'utf8'), outcome };
  const m = buildMtom(envelope, action, attachments);
  return { status: 200, headers: { 'content-type': m.contentType }, body: m.body, outcome };
}

function parseOrFault(xml: string): Document {
  try {
    return parseXml(xml, 'the SOAP envelope');
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw new SoapFault('Sender', err.message);
    throw err;
  }
}

function utf8(bytes: Buffer, what: string): string {
  const s = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  try {
    return s.decode(bytes);
  } catch {
    throw new SoapFault('Sender', `${what} is not valid UTF-8`);
  }
}

function checkCharset(charset: string | undefined, what: string): void {
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8') throw new SoapFault('Sender', `${what} charset is "${charset}"; the DMP expects UTF-8`);
}
