import { randomUUID } from 'node:crypto';
import { NS } from './codes.js';
import { esc } from './xml.js';

/**
 * SOAP 1.2 envelope with WS-Addressing 1.0 (IHE ITI TF-2x Appendix V): Action and To are mustUnderstand, a new
 * MessageID per request, anonymous ReplyTo. The envelope is composed as a string around the signed VIHF so the
 * signed bytes are never re-serialised.
 */
export interface EnvelopeInput {
  action: string;
  to: string;
  messageId?: string;
  /** The signed SAML assertion, embedded as is in wsse:Security. */
  signedAssertion?: string;
  bodyXml: string;
}

export function soapEnvelope(input: EnvelopeInput): { xml: string; messageId: string } {
  const messageId = input.messageId ?? `urn:uuid:${randomUUID()}`;
  const security = input.signedAssertion
    ? `<wsse:Security xmlns:wsse="${NS.wsse}" soap:mustUnderstand="true">${input.signedAssertion}</wsse:Security>`
    : '';
  const xml =
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<soap:Envelope xmlns:soap="${NS.soap}" xmlns:wsa="${NS.wsa}">` +
    `<soap:Header>` +
    `<wsa:Action soap:mustUnderstand="true">${esc(input.action)}</wsa:Action>` +
    `<wsa:MessageID>${esc(messageId)}</wsa:MessageID>` +
    `<wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address></wsa:ReplyTo>` +
    `<wsa:To soap:mustUnderstand="true">${esc(input.to)}</wsa:To>` +
    security +
    `</soap:Header>` +
    `<soap:Body>${input.bodyXml}</soap:Body>` +
    `</soap:Envelope>`;
  return { xml, messageId };
}

/** Content-Type of a plain (non-MTOM) SOAP 1.2 request (RFC 3902 action parameter). */
export function soapContentType(action: string): string {
  return `application/soap+xml; charset=UTF-8; action="${action}"`;
}
