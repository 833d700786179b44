import { DOMParser, type Document, type Element, type Node } from '@xmldom/xmldom';

export const MAX_WHITELIST_BYTES = 2 * 1024 * 1024;

/**
 * Parses untrusted XML: size-capped, no DTD (hence no entity expansion, internal or external), and any
 * parser warning or error is a refusal.
 */
export function parseUntrustedXml(xml: string, what: string, maxBytes = MAX_WHITELIST_BYTES): Document {
  if (Buffer.byteLength(xml, 'utf8') > maxBytes) throw new Error(`${what}: larger than ${maxBytes} bytes`);
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new Error(`${what}: DTDs and entity declarations are not accepted`);
  const parser = new DOMParser({
    onError: (level, message) => {
      throw new Error(`${what}: XML ${level}: ${message}`);
    },
  });
  const doc = parser.parseFromString(xml, 'text/xml');
  if (!doc.documentElement) throw new Error(`${what}: no root element`);
  return doc;
}

export function childElements(parent: Node): Element[] {
  const out: Element[] = [];
  for (let c = parent.firstChild; c; c = c.nextSibling) if (c.nodeType === c.ELEMENT_NODE) out.push(c as Element);
  return out;
}

/** Refuses text other than whitespace directly inside an element that should only hold elements. */
export function assertOnlyElements(parent: Node, what: string): void {
  for (let c = parent.firstChild; c; c = c.nextSibling) {
    if ((c.nodeType === c.TEXT_NODE || c.nodeType === c.CDATA_SECTION_NODE) && (c.nodeValue ?? '').trim() !== '') {
      throw new Error(`${what}: unexpected text "${(c.nodeValue ?? '').trim().slice(0, 40)}"`);
    }
  }
}

export function textOf(el: Element): string {
  return (el.textContent ?? '').trim();
}
