import type { Element } from '@xmldom/xmldom';
import { parseDistinguishedName, type DistinguishedName } from './dn.js';
import { assertOnlyElements, childElements, parseUntrustedXml, textOf } from './xml.js';

// ListeBlancheDRIM-M, versionFormat 1.0.0 (ci-sis-imaging.md §3.1; ANS sample in shared/fixtures/spec/whitelist).
export const WHITELIST_NS = 'https://github.com/ansforge/DRIM-M_DATA';
export const WHITELIST_VERSION = '1.0.0';
const XMLDSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';

export interface WhitelistDomain {
  identifiant: string;
  /** DRIMbox API host, e.g. db1.111.mesimagesmedicales.fr (lower case). */
  db: string;
  /** Viewer host, e.g. vi1.111.mesimagesmedicales.fr (lower case). */
  vi: string;
  denomination: string;
  /** DNCertificatOperateur as written in the list. */
  operatorCertificateDn: string;
  operatorDn: DistinguishedName;
  supportContact: string;
  updatedAt: Date;
}

export interface Whitelist {
  generatedAt: Date;
  domains: readonly WhitelistDomain[];
}

const DOMAIN_FIELDS = ['Identifiant', 'db', 'vi', 'Denomination', 'DNCertificatOperateur', 'SupportContact', 'DateMAJ'] as const;
type DomainField = (typeof DOMAIN_FIELDS)[number];

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
const UTC_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/**
 * Parses a ListeBlancheDRIM-M document strictly: unknown or repeated elements, bad hosts, dates or DNs are
 * refused. It does not check the signature: use verifyWhitelist for a list you are going to trust.
 */
export function parseWhitelist(xml: string): Whitelist {
  const root = parseUntrustedXml(xml, 'whitelist').documentElement!;
  if (root.namespaceURI !== WHITELIST_NS || root.localName !== 'ListeBlancheDRIM-M') {
    throw new Error(`whitelist: root element must be {${WHITELIST_NS}}ListeBlancheDRIM-M, got {${root.namespaceURI ?? ''}}${root.localName}`);
  }
  const version = root.getAttribute('versionFormat');
  if (version !== WHITELIST_VERSION) throw new Error(`whitelist: versionFormat "${version ?? ''}" is not supported (expected ${WHITELIST_VERSION})`);
  assertOnlyElements(root, 'whitelist');

  let generatedAt: Date | undefined;
  let list: Element | undefined;
  for (const el of childElements(root)) {
    if (el.namespaceURI === XMLDSIG_NS && el.localName === 'Signature') continue;
    if (el.namespaceURI !== WHITELIST_NS) throw new Error(`whitelist: unexpected element {${el.namespaceURI ?? ''}}${el.localName}`);
    if (el.localName === 'DateDeGeneration' && !generatedAt) generatedAt = timestamp(textOf(el), 'DateDeGeneration');
    else if (el.localName === 'ListeDomaines' && !list) list = el;
    else throw new Error(`whitelist: unexpected or repeated element ${el.localName}`);
  }
  if (!generatedAt) throw new Error('whitelist: DateDeGeneration is missing');
  if (!list) throw new Error('whitelist: ListeDomaines is missing');
  assertOnlyElements(list, 'whitelist ListeDomaines');

  const domains = childElements(list).map((el, index) => {
    if (el.namespaceURI !== WHITELIST_NS || el.localName !== 'Domaine') throw new Error(`whitelist: unexpected element ${el.localName} in ListeDomaines`);
    return parseDomain(el, index + 1);
  });
  return { generatedAt, domains };
}

function parseDomain(el: Element, position: number): WhitelistDomain {
  const where = `whitelist Domaine #${position}`;
  assertOnlyElements(el, where);
  const fields = new Map<DomainField, string>();
  for (const child of childElements(el)) {
    const name = child.localName as DomainField;
    if (child.namespaceURI !== WHITELIST_NS || !DOMAIN_FIELDS.includes(name)) throw new Error(`${where}: unexpected element ${child.localName}`);
    if (fields.has(name)) throw new Error(`${where}: ${name} is repeated`);
    if (childElements(child).length > 0) throw new Error(`${where}: ${name} must hold text only`);
    fields.set(name, textOf(child));
  }
  const get = (name: DomainField): string => {
    const value = fields.get(name);
    if (value === undefined || value === '') throw new Error(`${where}: ${name} is missing or empty`);
    return value;
  };
  const host = (name: 'db' | 'vi'): string => {
    const value = get(name).toLowerCase();
    if (!HOSTNAME.test(value)) throw new Error(`${where}: ${name} "${value}" is not a host name`);
    return value;
  };
  const dnText = get('DNCertificatOperateur');
  let operatorDn: DistinguishedName;
  try {
    operatorDn = parseDistinguishedName(dnText);
  } catch (err) {
    throw new Error(`${where}: DNCertificatOperateur: ${(err as Error).message}`);
  }
  return {
    identifiant: get('Identifiant'),
    db: host('db'),
    vi: host('vi'),
    denomination: get('Denomination'),
    operatorCertificateDn: dnText,
    operatorDn,
    supportContact: fields.get('SupportContact') ?? '',
    updatedAt: timestamp(get('DateMAJ'), `${where} DateMAJ`),
  };
}

function timestamp(text: string, what: string): Date {
  if (!UTC_TIMESTAMP.test(text)) throw new Error(`whitelist: ${what} "${text}" is not a UTC timestamp`);
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new Error(`whitelist: ${what} "${text}" is not a valid date`);
  return date;
}
