import { DOMParser, XMLSerializer } from '@xmldom/xmldom';

/** Namespaces the simulator reads. */
export const NS = {
  soap12: 'http://www.w3.org/2003/05/soap-envelope',
  soap11: 'http://schemas.xmlsoap.org/soap/envelope/',
  wsa: 'http://www.w3.org/2005/08/addressing',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  saml2: 'urn:oasis:names:tc:SAML:2.0:assertion',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  xades111: 'http://uri.etsi.org/01903/v1.1.1#',
  xades132: 'http://uri.etsi.org/01903/v1.3.2#',
  hl7: 'urn:hl7-org:v3',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  xop: 'http://www.w3.org/2004/08/xop/include',
  rim: 'urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0',
  rs: 'urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0',
  lcm: 'urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0',
  query: 'urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0',
  xdsb: 'urn:ihe:iti:xds-b:2007',
} as const;

export class XmlSyntaxError extends Error {}

/**
 * Parses untrusted XML. A DOCTYPE is refused outright (SOAP 1.2 Part 1 §5 forbids it, and it is
 * the door to entity expansion and external entities); any parser error or warning is fatal.
 */
export function parseXml(text: string, what: string): Document {
  if (/<!DOCTYPE/i.test(text)) throw new XmlSyntaxError(`${what} contains a DOCTYPE declaration, which is not allowed`);
  let doc: Document;
  try {
    doc = new DOMParser({
      onError: (level: string, message: string) => {
        throw new XmlSyntaxError(`${what} is not well-formed XML (${level}): ${String(message).split('\n')[0]}`);
      },
    }).parseFromString(text, 'text/xml') as unknown as Document;
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw err;
    throw new XmlSyntaxError(`${what} is not well-formed XML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!doc.documentElement) throw new XmlSyntaxError(`${what} has no root element`);
  return doc;
}

export function serialize(node: Node): string {
  return new XMLSerializer().serializeToString(node as never);
}

export function elementChildren(parent: Node): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) out.push(n as Element);
  return out;
}

export function children(parent: Node, ns: string, local: string): Element[] {
  return elementChildren(parent).filter((e) => e.namespaceURI === ns && e.localName === local);
}

export function child(parent: Node, ns: string, local: string): Element | undefined {
  return children(parent, ns, local)[0];
}

export function descendants(root: Node, ns: string, local: string): Element[] {
  const out: Element[] = [];
  const walk = (n: Node) => {
    for (let c = n.firstChild; c; c = c.nextSibling) {
      if (c.nodeType !== 1) continue;
      const e = c as Element;
      if (e.namespaceURI === ns && e.localName === local) out.push(e);
      walk(e);
    }
  };
  walk(root);
  return out;
}

export function text(el: Element | undefined): string {
  return (el?.textContent ?? '').trim();
}

export function attr(el: Element, name: string): string | undefined {
  return el.hasAttribute(name) ? el.getAttribute(name) ?? '' : undefined;
}

export function qname(el: Element): string {
  return `{${el.namespaceURI ?? ''}}${el.localName}`;
}

export function escapeXml(value: string): string {
  return value.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** An xs:NCName (what xs:ID requires). */
export function isNcName(value: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9._-]*$/.test(value);
}
