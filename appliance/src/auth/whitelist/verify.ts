import { X509Certificate, createHash } from 'node:crypto';
import type { Document, Element, Node } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { formatDistinguishedName, parseDistinguishedName, sameDistinguishedName } from './dn.js';
import { ChainRejected, verifyChain } from '../pki/openssl-verify.js';
import { WHITELIST_NS, parseWhitelist, type Whitelist } from './parse.js';
import { childElements, parseUntrustedXml, textOf } from './xml.js';

// The ANS list is signed XAdES-BASELINE-B, enveloped: rsa-sha256, exc-c14n, an XPath Filter 2.0 "subtract
// /descendant::ds:Signature" transform on the document reference, a SignedProperties reference, signer
// "CN=Liste Blanche DRIM-M, OU=318751275100020" (ANS) chained to IGC-Santé, validity and CRL (ci-sis-imaging.md §3.1).
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const XADES = 'http://uri.etsi.org/01903/v1.3.2#';
const FILTER2 = 'http://www.w3.org/2002/06/xmldsig-filter2';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
const SIGNED_PROPERTIES_TYPE = 'http://uri.etsi.org/01903#SignedProperties';
const SIGNATURE_METHODS = new Set(['http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512']);
const DIGESTS: Record<string, string> = {
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#sha384': 'sha384',
  'http://www.w3.org/2001/04/xmlenc#sha512': 'sha512',
};
const SUBTRACTED_XPATH = '/descendant::ds:Signature';
const SIGNING_TIME_SKEW_MS = 5 * 60_000;

/**
 * The signer's subject as the specification names it: the CN and ANS's structure identifier (OU). The CN alone is
 * not enough: IGC-Santé's organisations CA issues certificates to every health structure, any of which could ask
 * for that CN.
 */
export const WHITELIST_SIGNER_SUBJECT = 'CN=Liste Blanche DRIM-M,OU=318751275100020';

export interface WhitelistTrust {
  /** Certificates the chain must end at (IGC-Santé root or intermediate). */
  anchors: readonly X509Certificate[];
  /** Attributes the signer's subject must carry, RFC 4514 form; default WHITELIST_SIGNER_SUBJECT. */
  signerSubject?: string;
  /** PEM CRLs of the chain's CAs: when given, revocation is checked for every certificate of the chain. */
  crlPem?: string;
  /** Time at which certificates must be valid; default now. */
  now?: Date;
}

export interface VerifiedWhitelist {
  whitelist: Whitelist;
  signingTime: Date;
  signer: { subject: string; issuer: string; serialNumber: string; validTo: Date; fingerprint256: string };
  /** Subjects from the signer up to the trust anchor. */
  chain: string[];
}

export class WhitelistRejected extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(`whitelist refused: ${message}`, options);
    this.name = 'WhitelistRejected';
  }
}

/** Splits a PEM bundle into certificates (trust anchors file). */
export function loadCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error('no PEM certificate found');
  return blocks.map((b) => new X509Certificate(b));
}

/**
 * Verifies the enveloped XAdES signature of a ListeBlancheDRIM-M and returns the list as signed (parsed from the
 * signed bytes, never from the unsigned parts of the document). Throws WhitelistRejected.
 */
export function verifyWhitelist(xml: string, trust: WhitelistTrust): VerifiedWhitelist {
  try {
    return verify(xml, trust);
  } catch (err) {
    if (err instanceof WhitelistRejected) throw err;
    throw new WhitelistRejected((err as Error).message, { cause: err });
  }
}

interface ReferenceInfo {
  uri: string;
  type: string | null;
  transforms: string[];
}

function verify(xml: string, trust: WhitelistTrust): VerifiedWhitelist {
  const now = trust.now ?? new Date();
  const doc = parseUntrustedXml(xml, 'whitelist');
  const root = doc.documentElement!;
  if (root.namespaceURI !== WHITELIST_NS || root.localName !== 'ListeBlancheDRIM-M') throw new WhitelistRejected('not a ListeBlancheDRIM-M document');

  const signatures = Array.from(doc.getElementsByTagNameNS(DSIG, 'Signature'));
  if (signatures.length === 0) throw new WhitelistRejected('the list is not signed');
  if (signatures.length > 1) throw new WhitelistRejected(`${signatures.length} signatures found, exactly one expected`);
  const signature = signatures[0]!;
  if (signature.parentNode !== root) throw new WhitelistRejected('the signature is not enveloped in the list root');

  const signedInfo = only(signature, DSIG, 'SignedInfo');
  const c14n = only(signedInfo, DSIG, 'CanonicalizationMethod').getAttribute('Algorithm') ?? '';
  if (c14n !== EXC_C14N && c14n !== C14N) throw new WhitelistRejected(`canonicalization ${c14n} not accepted`);
  const method = only(signedInfo, DSIG, 'SignatureMethod').getAttribute('Algorithm') ?? '';
  if (!SIGNATURE_METHODS.has(method)) throw new WhitelistRejected(`signature method ${method} not accepted`);

  const references = elements(signedInfo, DSIG, 'Reference').map(readReference);
  const documentIndex = references.findIndex((r) => r.uri === '');
  const propertiesIndex = references.findIndex((r) => r.type === SIGNED_PROPERTIES_TYPE);
  if (references.length !== 2 || documentIndex < 0 || propertiesIndex < 0) {
    throw new WhitelistRejected('the signature must reference exactly the whole list (URI="") and its XAdES SignedProperties');
  }
  assertDocumentTransforms(references[documentIndex]!.transforms);

  const propertiesId = references[propertiesIndex]!.uri.replace(/^#/, '');
  const properties = findSignedProperties(doc, signature, propertiesId);
  const certificates = elements(only(only(signature, DSIG, 'KeyInfo'), DSIG, 'X509Data'), DSIG, 'X509Certificate').map(
    (el) => new X509Certificate(Buffer.from(textOf(el).replace(/\s+/g, ''), 'base64')),
  );
  const signer = signingCertificate(properties, certificates);
  const expected = parseDistinguishedName(trust.signerSubject ?? WHITELIST_SIGNER_SUBJECT);
  const actual = parseDistinguishedName(signer.subject);
  const missing = expected.filter((want) => !actual.some((have) => sameDistinguishedName([have], [want])));
  if (missing.length) {
    throw new WhitelistRejected(`signer is "${formatDistinguishedName(actual)}", expected ${formatDistinguishedName(expected)} (${formatDistinguishedName(missing)} differs)`);
  }
  let chain: string[];
  try {
    chain = verifyChain({ leaf: signer, untrusted: certificates.filter((c) => c !== signer), anchors: trust.anchors, purpose: 'smimesign', at: now, crlPem: trust.crlPem });
  } catch (err) {
    if (err instanceof ChainRejected) throw new WhitelistRejected(`the signer's certificate chain: ${err.message}`, { cause: err });
    throw err;
  }

  const checker = new SignedXml({ publicCert: signer.toString(), getCertFromKeyInfo: () => null });
  checker.CanonicalizationAlgorithms[FILTER2] = SubtractSignatures;
  checker.loadSignature(signature as unknown as globalThis.Node);
  let valid: boolean;
  try {
    valid = checker.checkSignature(xml);
  } catch (err) {
    throw new WhitelistRejected(`signature does not verify: ${(err as Error).message}`, { cause: err });
  }
  if (!valid) throw new WhitelistRejected('signature does not verify: a signed reference does not match its digest (the list was modified)');

  // Read everything from what the signature covers.
  const signed = checker.getSignedReferences();
  const signedDocument = signed[documentIndex];
  const signedProperties = signed[propertiesIndex];
  if (signedDocument === undefined || signedProperties === undefined) throw new WhitelistRejected('signed references missing after verification');
  const signedProps = parseUntrustedXml(signedProperties, 'whitelist SignedProperties').documentElement!;
  if (signingCertificate(signedProps, certificates) !== signer) throw new WhitelistRejected('signed SigningCertificate does not name the signer');
  const signingTime = readSigningTime(signedProps);
  if (signingTime.getTime() > now.getTime() + SIGNING_TIME_SKEW_MS) throw new WhitelistRejected(`SigningTime ${signingTime.toISOString()} is in the future`);
  if (signingTime < new Date(signer.validFrom) || signingTime > new Date(signer.validTo)) {
    throw new WhitelistRejected(`SigningTime ${signingTime.toISOString()} is outside the signer certificate validity`);
  }

  return {
    whitelist: parseWhitelist(signedDocument),
    signingTime,
    signer: {
      subject: signer.subject,
      issuer: signer.issuer,
      serialNumber: signer.serialNumber,
      validTo: new Date(signer.validTo),
      fingerprint256: signer.fingerprint256,
    },
    chain,
  };
}

function elements(parent: Node, ns: string, name: string): Element[] {
  return childElements(parent).filter((e) => e.namespaceURI === ns && e.localName === name);
}

function only(parent: Node, ns: string, name: string): Element {
  const found = elements(parent, ns, name);
  if (found.length !== 1) throw new WhitelistRejected(`expected one ${name}, found ${found.length}`);
  return found[0]!;
}

function readReference(ref: Element): ReferenceInfo {
  const digest = only(ref, DSIG, 'DigestMethod').getAttribute('Algorithm') ?? '';
  if (!DIGESTS[digest]) throw new WhitelistRejected(`digest ${digest} not accepted`);
  const transformsEl = elements(ref, DSIG, 'Transforms')[0];
  const transforms = transformsEl
    ? elements(transformsEl, DSIG, 'Transform').map((t) => {
        const algorithm = t.getAttribute('Algorithm') ?? '';
        if (algorithm === FILTER2) assertSubtractSignatures(t);
        else if (![ENVELOPED, EXC_C14N, C14N].includes(algorithm)) throw new WhitelistRejected(`transform ${algorithm} not accepted`);
        return algorithm;
      })
    : [];
  return { uri: ref.getAttribute('URI') ?? '', type: ref.getAttribute('Type'), transforms };
}

/** The only XPath Filter 2.0 accepted is the one ANS uses: subtract every ds:Signature. */
function assertSubtractSignatures(transform: Element): void {
  const filters = elements(transform, FILTER2, 'XPath');
  const filter = filters[0];
  if (
    filters.length !== 1 ||
    !filter ||
    filter.getAttribute('Filter') !== 'subtract' ||
    textOf(filter) !== SUBTRACTED_XPATH ||
    filter.lookupNamespaceURI('ds') !== DSIG
  ) {
    throw new WhitelistRejected(`XPath filter transform must be exactly subtract ${SUBTRACTED_XPATH}`);
  }
}

function assertDocumentTransforms(transforms: readonly string[]): void {
  const [first, ...rest] = transforms;
  const removesSignature = first === ENVELOPED || first === FILTER2;
  const thenCanonical = rest.length === 0 || (rest.length === 1 && (rest[0] === EXC_C14N || rest[0] === C14N));
  if (!removesSignature || !thenCanonical) {
    throw new WhitelistRejected(`document reference transforms [${transforms.join(', ')}] must remove the signature, then canonicalize`);
  }
}

function findSignedProperties(doc: Document, signature: Element, id: string): Element {
  const matches = Array.from(doc.getElementsByTagNameNS(XADES, 'SignedProperties')).filter((e) => e.getAttribute('Id') === id);
  const el = matches[0];
  if (matches.length !== 1 || !el) throw new WhitelistRejected(`SignedProperties "${id}" not found exactly once`);
  const qualifying = el.parentNode as Element | null;
  const object = qualifying?.parentNode as Element | null;
  if (qualifying?.localName !== 'QualifyingProperties' || object?.localName !== 'Object' || object.parentNode !== signature) {
    throw new WhitelistRejected('SignedProperties must sit in this signature\'s ds:Object/xades:QualifyingProperties');
  }
  const sigId = signature.getAttribute('Id');
  if (sigId && qualifying.getAttribute('Target') !== `#${sigId}`) throw new WhitelistRejected('QualifyingProperties Target does not name the signature');
  return el;
}

/** XAdES SigningCertificateV2 (or V1): the KeyInfo certificate whose digest the signed properties carry. */
function signingCertificate(properties: Element, certificates: readonly X509Certificate[]): X509Certificate {
  const ssp = elements(properties, XADES, 'SignedSignatureProperties')[0];
  const holder = ssp && (elements(ssp, XADES, 'SigningCertificateV2')[0] ?? elements(ssp, XADES, 'SigningCertificate')[0]);
  if (!holder) throw new WhitelistRejected('XAdES SigningCertificate(V2) is missing');
  for (const cert of elements(holder, XADES, 'Cert')) {
    const digest = only(cert, XADES, 'CertDigest');
    const algorithm = DIGESTS[only(digest, DSIG, 'DigestMethod').getAttribute('Algorithm') ?? ''];
    if (!algorithm) continue;
    const expected = textOf(only(digest, DSIG, 'DigestValue'));
    const match = certificates.find((c) => createHash(algorithm).update(c.raw).digest('base64') === expected);
    if (match) return match;
  }
  throw new WhitelistRejected('no KeyInfo certificate matches the XAdES SigningCertificate digest');
}

function readSigningTime(properties: Element): Date {
  const ssp = only(properties, XADES, 'SignedSignatureProperties');
  const text = textOf(only(ssp, XADES, 'SigningTime'));
  const date = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(date.getTime())) throw new WhitelistRejected(`SigningTime "${text}" is not a date`);
  return date;
}

/** xml-crypto transform for XPath Filter 2.0 "subtract /descendant::ds:Signature" (checked beforehand). */
class SubtractSignatures {
  process(node: globalThis.Node): globalThis.Node {
    const el = node as unknown as Element;
    const found = Array.from(el.getElementsByTagNameNS(DSIG, 'Signature'));
    for (const sig of found) sig.parentNode?.removeChild(sig);
    return node;
  }
  getAlgorithmName(): string {
    return FILTER2;
  }
}
