import { checkXmlChars, XmlError } from './xml.js';

/**
 * XML the box signs (VIHF, IHE DSG signature), built as a tree so that its exclusive canonical form (W3C
 * xml-exc-c14n, without comments or InclusiveNamespaces) is written directly, with no DOM, no XPath and no parse.
 * The document form is written with the same escaping and explicit end tags: a parser reads back exactly this tree.
 */
export interface XmlElement {
  /** `prefix:local`, or `local` in the default namespace in scope. */
  name: string;
  /** Namespace declarations written on the element: prefix ('' for the default namespace) → URI. */
  xmlns?: Record<string, string>;
  /** Attributes in document order, values unescaped. Namespace declarations go in `xmlns`. */
  attrs?: [string, string][];
  /** Elements, and strings for text (unescaped). */
  children?: (XmlElement | string)[];
}

export type NamespaceScope = ReadonlyMap<string, string>;

const NO_SCOPE: NamespaceScope = new Map();

export function el(name: string, attrs: Record<string, string> = {}, children: (XmlElement | string)[] = [], xmlns?: Record<string, string>): XmlElement {
  return { name, attrs: Object.entries(attrs), children, ...(xmlns ? { xmlns } : {}) };
}

/** Text as C14N writes it (also valid in a document). */
export function c14nText(value: string): string {
  checkXmlChars(value);
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#xD;');
}

/** An attribute value as C14N writes it between double quotes (also valid in a document). */
export function c14nAttr(value: string): string {
  checkXmlChars(value);
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/"/g, '&quot;')
    .replace(/\t/g, '&#x9;')
    .replace(/\n/g, '&#xA;')
    .replace(/\r/g, '&#xD;');
}

const prefixOf = (qname: string): string => {
  const colon = qname.indexOf(':');
  return colon < 0 ? '' : qname.slice(0, colon);
};
const localOf = (qname: string): string => qname.slice(qname.indexOf(':') + 1);
const nsDecl = (prefix: string, uri: string): string => (prefix ? ` xmlns:${prefix}="${c14nAttr(uri)}"` : ` xmlns="${c14nAttr(uri)}"`);

function children(node: XmlElement, each: (child: XmlElement) => string): string {
  let out = '';
  for (const c of node.children ?? []) out += typeof c === 'string' ? c14nText(c) : each(c);
  return out;
}

/** The document form: declarations and attributes in the order given, every element with an end tag. */
export function serialize(node: XmlElement): string {
  let out = `<${node.name}`;
  for (const [prefix, uri] of Object.entries(node.xmlns ?? {})) out += nsDecl(prefix, uri);
  for (const [name, value] of node.attrs ?? []) out += ` ${name}="${c14nAttr(value)}"`;
  return `${out}>${children(node, serialize)}</${node.name}>`;
}

function withDeclarations(scope: NamespaceScope, node: XmlElement): NamespaceScope {
  if (!node.xmlns) return scope;
  const next = new Map(scope);
  for (const [prefix, uri] of Object.entries(node.xmlns)) next.set(prefix, uri);
  return next;
}

/**
 * Exclusive C14N of `node` as the apex of the node-set: `scope` holds the namespaces its ancestors declare in the
 * document; only those the subtree visibly uses are written, where first used.
 */
export function excC14n(node: XmlElement, scope: NamespaceScope = NO_SCOPE): string {
  return canonical(node, withDeclarations(scope, node), NO_SCOPE);
}

function canonical(node: XmlElement, scope: NamespaceScope, rendered: NamespaceScope): string {
  const attrs = (node.attrs ?? []).map(([name, value]) => {
    const prefix = prefixOf(name);
    if (prefix === 'xmlns' || name === 'xmlns') throw new XmlError(`${node.name}: namespace declaration ${name} given as an attribute`);
    return { name, prefix, local: localOf(name), uri: prefix ? uriOf(scope, prefix, node.name) : '', value };
  });
  const used = new Set([prefixOf(node.name), ...attrs.filter((a) => a.prefix).map((a) => a.prefix)]);
  const declared: [string, string][] = [];
  for (const prefix of used) {
    if (prefix === 'xml') continue;
    const uri = prefix ? uriOf(scope, prefix, node.name) : (scope.get('') ?? '');
    if ((rendered.get(prefix) ?? '') !== uri) declared.push([prefix, uri]);
  }
  declared.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  attrs.sort((a, b) => (a.uri !== b.uri ? (a.uri < b.uri ? -1 : 1) : a.local < b.local ? -1 : a.local > b.local ? 1 : 0));
  let out = `<${node.name}`;
  for (const [prefix, uri] of declared) out += nsDecl(prefix, uri);
  for (const a of attrs) out += ` ${a.name}="${c14nAttr(a.value)}"`;
  let inner = rendered;
  if (declared.length > 0) {
    const next = new Map(rendered);
    for (const [prefix, uri] of declared) next.set(prefix, uri);
    inner = next;
  }
  return `${out}>${children(node, (c) => canonical(c, withDeclarations(scope, c), inner))}</${node.name}>`;
}

function uriOf(scope: NamespaceScope, prefix: string, where: string): string {
  const uri = scope.get(prefix);
  if (uri === undefined) throw new XmlError(`${where}: namespace prefix ${prefix} is not declared`);
  return uri;
}

/**
 * The element whose `Id` (or SAML `ID`) is `id`, with the namespaces in scope at it, `scope` holding those the
 * root's ancestors declare. Throws unless exactly one element carries the identifier.
 */
export function findById(root: XmlElement, id: string, scope: NamespaceScope = NO_SCOPE): { node: XmlElement; scope: NamespaceScope } {
  const found: { node: XmlElement; scope: NamespaceScope }[] = [];
  const walk = (node: XmlElement, outer: NamespaceScope) => {
    const inner = withDeclarations(outer, node);
    if (node.attrs?.some(([name, value]) => (name === 'Id' || name === 'ID') && value === id)) found.push({ node, scope: outer });
    for (const c of node.children ?? []) if (typeof c !== 'string') walk(c, inner);
  };
  walk(root, scope);
  if (found.length !== 1) throw new XmlError(`expected one element with Id ${id}, found ${found.length}`);
  return found[0]!;
}
