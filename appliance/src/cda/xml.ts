import { isAscii, isUtf8 } from 'node:buffer';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** The document is not a CDA the box can read; path names the element at fault when there is one. */
export class CdaError extends Error {
  constructor(
    message: string,
    readonly path?: string,
  ) {
    super(path ? `${path}: ${message}` : message);
    this.name = 'CdaError';
  }
}

/** An element as fast-xml-parser gives it: '@_name' attributes, '#text', and child arrays. */
export type XmlNode = Record<string, unknown>;

/**
 * Turns CDA bytes into text: byte-order mark, then the encoding of the XML declaration (UTF-8 when none).
 * Bytes that are invalid in that encoding are refused, never replaced.
 */
export function decodeXml(input: string | Buffer): string {
  if (typeof input === 'string') return input.replace(/^\uFEFF/, '');
  let encoding = 'utf-8';
  let start = 0;
  if (input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) start = 3;
  else if (input[0] === 0xff && input[1] === 0xfe) [encoding, start] = ['utf-16le', 2];
  else if (input[0] === 0xfe && input[1] === 0xff) [encoding, start] = ['utf-16be', 2];
  else if (input[0] === 0x3c && input[1] === 0x00) encoding = 'utf-16le';
  else if (input[0] === 0x00 && input[1] === 0x3c) encoding = 'utf-16be';
  else {
    const prolog = /^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']/.exec(input.subarray(0, 200).toString('latin1'));
    if (prolog) encoding = prolog[1]!.toLowerCase();
  }
  const body = input.subarray(start);
  if (/^(iso-?8859-1|latin1|windows-1252|iso-?8859-15)$/.test(encoding) && !isAscii(body) && isUtf8(body)) {
    // Accents would silently turn into Ã© in the patient's name.
    throw new CdaError(`the document declares ${encoding} but its bytes are UTF-8 (fix the XML declaration)`);
  }
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(encoding, { fatal: true });
  } catch {
    throw new CdaError(`XML encoding '${encoding}' is not supported`);
  }
  try {
    return decoder.decode(body);
  } catch {
    throw new CdaError(`the document declares ${encoding} but its bytes are not valid ${encoding}`);
  }
}

const xmlEntities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Resolves the five predefined entities and character references; any other entity is an error (no DTD). */
function decodeEntities(value: string): string {
  if (!value.includes('&')) return value;
  return value.replace(/&(#x[0-9A-Fa-f]+|#[0-9]+|[A-Za-z_][\w.-]*);/g, (_, ref: string) => {
    if (ref.startsWith('#')) {
      const cp = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      const allowed = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
      if (!allowed) throw new CdaError(`character reference &${ref}; is not an XML character`);
      return String.fromCodePoint(cp);
    }
    const resolved = xmlEntities[ref];
    if (resolved === undefined) throw new CdaError(`entity &${ref}; is not defined (DTD entities are never resolved)`);
    return resolved;
  });
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (_name, _jpath, _isLeaf, isAttribute) => !isAttribute,
  // The body (a PDF in base64, or level-3 sections) is never needed for the header: not parsed.
  stopNodes: ['ClinicalDocument.component'],
  tagValueProcessor: (_name, value) => decodeEntities(value),
  attributeValueProcessor: (_name, value) => decodeEntities(value),
});

/**
 * Parses a CDA safely: a DOCTYPE or ENTITY declaration anywhere is refused before parsing (no DTD,
 * no external or internal entity is ever processed); the text must be well-formed XML with a single
 * ClinicalDocument root in the urn:hl7-org:v3 namespace.
 */
export function parseCdaXml(text: string): XmlNode {
  if (!/^\s*</.test(text)) throw new CdaError(`not XML: the document starts with '${text.slice(0, 20).replace(/[^\x20-\x7e]/g, '.')}'`);
  if (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text)) {
    throw new CdaError('the document contains a DOCTYPE or ENTITY declaration: DTDs and entities are refused');
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new CdaError(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`);
  let parsed: XmlNode;
  try {
    parsed = parser.parse(text) as XmlNode;
  } catch (err) {
    if (err instanceof CdaError) throw err;
    throw new CdaError(`not readable XML: ${(err as Error).message}`);
  }
  const roots = Object.keys(parsed);
  if (roots.length !== 1 || roots[0] !== 'ClinicalDocument') {
    throw new CdaError(`not a CDA: the root element is ${roots.length === 1 ? `'${roots[0]}'` : `${roots.length} elements`}, not ClinicalDocument`);
  }
  const rootTag = /<(?:([A-Za-z_][\w.-]*):)?ClinicalDocument[\s>/][^>]*>/.exec(text);
  const prefix = rootTag?.[1];
  const nsAttr = prefix ? `xmlns:${prefix}` : 'xmlns';
  const ns = rootTag ? new RegExp(`\\s${nsAttr}\\s*=\\s*["']([^"']*)["']`).exec(rootTag[0])?.[1] : undefined;
  if (ns !== 'urn:hl7-org:v3') throw new CdaError(`not a CDA: ClinicalDocument is in namespace '${ns ?? '(none)'}', not urn:hl7-org:v3`);
  return first(parsed, 'ClinicalDocument')!;
}

/** Child elements of that name (text-only elements come back as { '#text': ... }). */
export function children(node: XmlNode | undefined, name: string): XmlNode[] {
  const value = node?.[name];
  if (!Array.isArray(value)) return [];
  return value.map((v) => (typeof v === 'object' && v !== null ? (v as XmlNode) : { '#text': String(v) }));
}

/** First element along a path of child names. */
export function first(node: XmlNode | undefined, ...path: string[]): XmlNode | undefined {
  let current = node;
  for (const name of path) {
    current = children(current, name)[0];
    if (!current) return undefined;
  }
  return current;
}

export function attr(node: XmlNode | undefined, name: string): string | undefined {
  const value = node?.[`@_${name}`];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export function text(node: XmlNode | undefined): string | undefined {
  const value = node?.['#text'];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}
