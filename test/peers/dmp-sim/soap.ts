import { randomUUID } from 'node:crypto';
import { NS, attr, child, elementChildren, escapeXml, qname, text } from './xml.js';

export type FaultCode = 'VersionMismatch' | 'MustUnderstand' | 'Sender' | 'Receiver';

/** A SOAP 1.2 fault (SOAP 1.2 Part 1 §5.4), with an optional subcode such as wsa:ActionMismatch. */
export class SoapFault extends Error {
  constructor(
    readonly code: FaultCode,
    readonly reason: string,
    readonly subcode?: { ns: string; prefix: string; local: string },
    private readonly statusOverride?: number,
  ) {
    super(reason);
  }

  /** SOAP 1.2 HTTP binding (Part 2 §7.5.2): Sender faults are 400, the others 500. */
  get httpStatus(): number {
    return this.statusOverride ?? (this.code === 'Sender' ? 400 : 500);
  }
}

export const wsaFault = (local: string, reason: string) => new SoapFault('Sender', reason, { ns: NS.wsa, prefix: 'wsa', local });
export const wsseFault = (local: string, reason: string) => new SoapFault('Sender', reason, { ns: NS.wsse, prefix: 'wsse', local });

export interface Envelope {
  envelope: Element;
  header: Element;
  body: Element;
  payload: Element;
  action: string;
  messageId: string;
  to: string;
  warnings: string[];
}

const understood = new Set([`{${NS.wsa}}Action`, `{${NS.wsa}}MessageID`, `{${NS.wsa}}To`, `{${NS.wsa}}ReplyTo`, `{${NS.wsse}}Security`]);

/**
 * Checks the SOAP 1.2 envelope and its WS-Addressing headers (IHE ITI TF-2x Appendix V):
 * Action (with mustUnderstand), MessageID and To are required, each at most once.
 */
export function readEnvelope(doc: Document): Envelope {
  const envelope = doc.documentElement;
  if (envelope.localName !== 'Envelope') throw new SoapFault('Sender', `root element is ${qname(envelope)}, not a SOAP Envelope`);
  if (envelope.namespaceURI !== NS.soap12) {
    throw new SoapFault('VersionMismatch', `the envelope namespace is "${envelope.namespaceURI}"; the DMP only speaks SOAP 1.2 (${NS.soap12})`);
  }
  const parts = elementChildren(envelope);
  const header = parts[0];
  const body = parts[1];
  if (!header || qname(header) !== `{${NS.soap12}}Header` || !body || qname(body) !== `{${NS.soap12}}Body` || parts.length !== 2) {
    throw new SoapFault('Sender', 'the envelope must hold exactly a soap:Header then a soap:Body (the WS-Addressing and WS-Security headers are required)');
  }
  const warnings: string[] = [];
  for (const block of elementChildren(header)) {
    const mu = block.getAttributeNS(NS.soap12, 'mustUnderstand');
    if ((mu === 'true' || mu === '1') && !understood.has(qname(block))) {
      throw new SoapFault('MustUnderstand', `header block ${qname(block)} is marked mustUnderstand and is not understood by the DMP`);
    }
  }
  const action = singleHeader(header, 'Action');
  const messageId = singleHeader(header, 'MessageID');
  const to = singleHeader(header, 'To');
  const actionEl = child(header, NS.wsa, 'Action')!;
  const mu = actionEl.getAttributeNS(NS.soap12, 'mustUnderstand');
  const bareMu = attr(actionEl, 'mustUnderstand');
  if (mu !== 'true' && mu !== '1') {
    if (bareMu === 'true' || bareMu === '1') {
      warnings.push('wsa:Action carries mustUnderstand without the SOAP 1.2 namespace (tolerated: the DMP test platform accepted it from the ANS demonstrator)');
    } else {
      throw wsaFault('InvalidAddressingHeader', 'wsa:Action must carry soap:mustUnderstand="true" (IHE ITI TF-2x V.3.2)');
    }
  }
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$/.test(messageId)) throw wsaFault('InvalidAddressingHeader', `wsa:MessageID "${messageId}" is not an absolute IRI`);
  if (!/^https?:\/\/\S+$/.test(to)) throw wsaFault('InvalidAddressingHeader', `wsa:To "${to}" is not an absolute http(s) URL`);
  const payloads = elementChildren(body);
  if (payloads.length !== 1) throw new SoapFault('Sender', `soap:Body must hold exactly one element, found ${payloads.length}`);
  return { envelope, header, body, payload: payloads[0]!, action, messageId, to, warnings };
}

function singleHeader(header: Element, local: string): string {
  const found = elementChildren(header).filter((e) => e.namespaceURI === NS.wsa && e.localName === local);
  if (found.length === 0) throw wsaFault('MessageAddressingHeaderRequired', `the WS-Addressing header wsa:${local} is missing`);
  if (found.length > 1) throw wsaFault('InvalidAddressingHeader', `the WS-Addressing header wsa:${local} appears ${found.length} times`);
  const value = text(found[0]);
  if (!value) throw wsaFault('InvalidAddressingHeader', `the WS-Addressing header wsa:${local} is empty`);
  return value;
}

/** A response envelope with wsa:Action, a fresh MessageID and RelatesTo the request. */
export function responseEnvelope(action: string, relatesTo: string | undefined, bodyXml: string): string {
  const wsa = `xmlns:wsa="${NS.wsa}"`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<soap:Envelope xmlns:soap="${NS.soap12}" ${wsa}><soap:Header>` +
    `<wsa:Action soap:mustUnderstand="true">${escapeXml(action)}</wsa:Action>` +
    `<wsa:MessageID>urn:uuid:${randomUUID()}</wsa:MessageID>` +
    (relatesTo ? `<wsa:RelatesTo>${escapeXml(relatesTo)}</wsa:RelatesTo>` : '') +
    `</soap:Header><soap:Body>${bodyXml}</soap:Body></soap:Envelope>`
  );
}

export function faultEnvelope(fault: SoapFault, relatesTo?: string): string {
  const sub = fault.subcode
    ? `<soap:Subcode><soap:Value xmlns:${fault.subcode.prefix}="${fault.subcode.ns}">${fault.subcode.prefix}:${fault.subcode.local}</soap:Value></soap:Subcode>`
    : '';
  const body =
    `<soap:Fault><soap:Code><soap:Value>soap:${fault.code}</soap:Value>${sub}</soap:Code>` +
    `<soap:Reason><soap:Text xml:lang="en">${escapeXml(fault.reason)}</soap:Text></soap:Reason></soap:Fault>`;
  return responseEnvelope('http://www.w3.org/2005/08/addressing/soap/fault', relatesTo, body);
}
