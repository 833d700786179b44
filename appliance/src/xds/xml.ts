import { DOMParser, type Document, type Element, type Node } from '@xmldom/xmldom';

/** XML text and attribute escaping for documents built as strings. Refuses characters XML 1.0 cannot carry. */
export function esc(value: string): string {
  checkXmlChars(value);
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\r/g, '&#xD;')
    .replace(/\t/g, '&#x9;')
    .replace(/\n/g, '&#xA;');
}

/** Refuses characters XML 1.0 cannot carry. */
export function checkXmlChars(value: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.test(value)) {
    throw new XmlError(`value contains a character XML cannot carry: ${JSON.stringify(value.slice(0, 60))}`);
  }
}

export class XmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlError';
  }
}

/**
 * Parses XML received from a peer. A DOCTYPE (thus any entity declaration) is refused outright: no internal or
 * external entity is ever expanded. Namespace-aware; malformed XML throws XmlError.
 */
export function parseXmlSafely(text: string, what: string): Document {
  if (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text)) {
    throw new XmlError(`${what}: refused, the XML carries a DOCTYPE or entity declaration`);
  }
  const problems: string[] = [];
  let doc: Document;
  try {
    doc = new DOMParser({
      onError: (level: string, message: string) => {
        if (level !== 'warning') problems.push(message);
      },
    }).parseFromString(text, 'application/xml');
  } catch (err) {
    throw new XmlError(`${what}: malformed XML (${(err as Error).message.split('\n')[0]})`);
  }
  if (problems.length > 0) throw new XmlError(`${what}: malformed XML (${problems[0]!.split('\n')[0]})`);
  if (!doc.documentElement) throw new XmlError(`${what}: empty XML document`);
  return doc;
}

const ELEMENT_NODE = 1;

export function childElements(parent: Element | Document, ns?: string, localName?: string): Element[] {
  const out: Element[] = [];
  for (let n: Node | null = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType !== ELEMENT_NODE) continue;
    const el = n as Element;
    if ((ns === undefined || el.namespaceURI === ns) && (localName === undefined || el.localName === localName)) out.push(el);
  }
  return out;
}

export function firstChild(parent: Element | Document, ns: string, localName: string): Element | undefined {
  return childElements(parent, ns, localName)[0];
}

/** All descendant elements with this name, document order. */
export function descendants(root: Element | Document, ns: string, localName: string): Element[] {
  return Array.from(root.getElementsByTagNameNS(ns, localName)) as Element[];
}

export function textOf(el: Element | undefined): string | undefined {
  return el?.textContent ?? undefined;
}

export function attr(el: Element | undefined, name: string): string | undefined {
  if (!el || !el.hasAttribute(name)) return undefined;
  return el.getAttribute(name) ?? undefined;
}
