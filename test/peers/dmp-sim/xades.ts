import { createHash, type X509Certificate } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { UntrustedCertificate, certificateFromBase64, checkIssuedBy } from './cert.js';
import { SIGNATURE } from './codes.js';
import type { XdsError } from './errors.js';
import { NS, XmlSyntaxError, attr, child, children, descendants, parseXml, text } from './xml.js';

const DIGESTS: Record<string, string> = {
  'http://www.w3.org/2000/09/xmldsig#sha1': 'sha1',
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
  'http://www.w3.org/2001/04/xmlenc#sha512': 'sha512',
};
const MANIFEST_TYPE = 'http://www.w3.org/2000/09/xmldsig#Manifest';
const SIGNED_PROPERTIES_TYPES = new Set(['http://uri.etsi.org/01903/v1.1.1#SignedProperties', 'http://uri.etsi.org/01903#SignedProperties']);

export interface SignatureContext {
  ca: X509Certificate;
  now: Date;
  entryId: string;
  submissionSetUniqueId: string;
  /** The documents the signature must cover: uniqueId and attached bytes. */
  documents: { uniqueId: string; bytes: Buffer }[];
}

/**
 * Verifies the IHE DSG signature document of a submission: an enveloping XML-DSig whose SignedInfo
 * signs a Manifest (one Reference per document, URI urn:oid:<uniqueId>, digest of the document
 * bytes) and XAdES SignedProperties (SigningTime, SigningCertificate), by a certificate the DMP's CA
 * issued (ci-sis-imaging.md §2.3, ans-reference-drimbox.md §3.5).
 */
export function verifySubmissionSignature(bytes: Buffer, ctx: SignatureContext): XdsError[] {
  const errors: XdsError[] = [];
  const bad = (context: string) => errors.push({ code: 'InvalidDocumentContent', context: `signature document: ${context}`, location: ctx.entryId });
  let doc: Document;
  const xml = bytes.toString('utf8');
  try {
    doc = parseXml(xml, 'the signature document');
  } catch (err) {
    if (err instanceof XmlSyntaxError) return [{ code: 'InvalidDocumentContent', context: err.message, location: ctx.entryId }];
    throw err;
  }
  const root = doc.documentElement;
  if (root.namespaceURI !== NS.ds || root.localName !== 'Signature') {
    bad(`root element is {${root.namespaceURI}}${root.localName}, expected ds:Signature`);
    return errors;
  }
  const certs = descendants(child(root, NS.ds, 'KeyInfo') ?? root, NS.ds, 'X509Certificate');
  if (certs.length !== 1) {
    bad(`expected one ds:X509Certificate in KeyInfo, found ${certs.length}`);
    return errors;
  }
  let cert: X509Certificate;
  try {
    cert = certificateFromBase64(text(certs[0]), 'signature document');
    checkIssuedBy(cert, ctx.ca, ctx.now, 'signature document');
  } catch (err) {
    if (err instanceof UntrustedCertificate) return [{ code: 'InvalidDocumentContent', context: err.message, location: ctx.entryId }];
    throw err;
  }
  const sig = new SignedXml({ publicCert: cert.toString(), getCertFromKeyInfo: () => null });
  try {
    sig.loadSignature(root as never);
    if (!sig.checkSignature(xml)) {
      const reasons = sig.getReferences().map((r) => r.validationError?.message).filter(Boolean);
      throw new Error(reasons.join('; ') || 'a reference does not verify');
    }
  } catch (err) {
    bad(`the XML signature does not verify: ${(err as Error).message}`);
    return errors;
  }
  // xml-crypto does not keep Reference/@Type: read it from the SignedInfo it has just authenticated.
  const typeOf = new Map(children(child(root, NS.ds, 'SignedInfo')!, NS.ds, 'Reference').map((r) => [attr(r, 'URI') ?? '', attr(r, 'Type') ?? '']));
  const refs = sig.getReferences();
  const signedXml = sig.getSignedReferences();
  const manifestIndex = refs.findIndex((r) => typeOf.get(r.uri ?? '') === MANIFEST_TYPE);
  const propertiesIndex = refs.findIndex((r) => SIGNED_PROPERTIES_TYPES.has(typeOf.get(r.uri ?? '') ?? ''));
  if (manifestIndex < 0) bad(`SignedInfo has no Reference of Type ${MANIFEST_TYPE} (the IHE manifest)`);
  else checkManifest(signedXml[manifestIndex]!, ctx, bad);
  if (propertiesIndex < 0) bad('SignedInfo has no Reference to XAdES SignedProperties');
  else checkSignedProperties(signedXml[propertiesIndex]!, cert, bad);
  const purpose = descendants(root, NS.ds, 'SignatureProperty').find((p) => attr(p, 'Id') === 'purposeOfSignature' || text(p) === SIGNATURE.purpose);
  if (!purpose || text(purpose) !== SIGNATURE.purpose) bad(`SignatureProperty purposeOfSignature must be ${SIGNATURE.purpose}`);
  return errors;
}

function checkManifest(xml: string, ctx: SignatureContext, bad: (c: string) => void): void {
  const manifest = parseXml(xml, 'signed manifest').documentElement;
  if (manifest.namespaceURI !== NS.ds || manifest.localName !== 'Manifest') {
    bad('the Manifest reference does not point to a ds:Manifest');
    return;
  }
  const byUri = new Map<string, Element>();
  for (const r of children(manifest, NS.ds, 'Reference')) {
    const uri = attr(r, 'URI') ?? '';
    if (byUri.has(uri)) bad(`the manifest references ${uri} twice`);
    byUri.set(uri, r);
  }
  for (const d of ctx.documents) {
    const uri = `urn:oid:${d.uniqueId}`;
    const r = byUri.get(uri);
    byUri.delete(uri);
    if (!r) {
      bad(`the manifest has no Reference URI="${uri}" for document ${d.uniqueId}`);
      continue;
    }
    if (child(r, NS.ds, 'Transforms')) bad(`Reference ${uri}: a binary document takes no Transforms`);
    const algorithm = attr(child(r, NS.ds, 'DigestMethod') ?? r, 'Algorithm') ?? '';
    const hash = DIGESTS[algorithm];
    if (!hash) {
      bad(`Reference ${uri}: digest algorithm "${algorithm}" is not SHA-1/256/512`);
      continue;
    }
    const expected = createHash(hash).update(d.bytes).digest('base64');
    if (text(child(r, NS.ds, 'DigestValue')) !== expected) bad(`Reference ${uri}: DigestValue ${text(child(r, NS.ds, 'DigestValue'))} is not the ${hash} of the attached document (${expected})`);
  }
  byUri.delete(`urn:oid:${ctx.submissionSetUniqueId}`); // IHE DSG defines no digest for the metadata itself
  for (const uri of byUri.keys()) bad(`the manifest references ${uri}, which is not a document of this submission`);
}

function checkSignedProperties(xml: string, cert: X509Certificate, bad: (c: string) => void): void {
  const props = parseXml(xml, 'signed XAdES properties').documentElement;
  if (props.localName !== 'SignedProperties' || (props.namespaceURI !== NS.xades111 && props.namespaceURI !== NS.xades132)) {
    bad('the SignedProperties reference does not point to XAdES SignedProperties');
    return;
  }
  const ns = props.namespaceURI;
  const signingTime = text(descendants(props, ns, 'SigningTime')[0]);
  if (!signingTime || Number.isNaN(new Date(signingTime).getTime())) bad('XAdES SigningTime is missing or not a dateTime');
  const certDigest = descendants(props, ns, 'CertDigest')[0];
  if (!certDigest) {
    bad('XAdES SigningCertificate/Cert/CertDigest is missing');
    return;
  }
  const algorithm = attr(descendants(certDigest, NS.ds, 'DigestMethod')[0] ?? certDigest, 'Algorithm') ?? '';
  const hash = DIGESTS[algorithm];
  const value = text(descendants(certDigest, NS.ds, 'DigestValue')[0]);
  if (!hash || value !== createHash(hash).update(cert.raw).digest('base64')) bad('XAdES CertDigest is not the digest of the signing certificate');
  const serial = text(descendants(props, NS.ds, 'X509SerialNumber')[0]);
  if (serial && (!/^\d+$/.test(serial) || BigInt(serial) !== BigInt(`0x${cert.serialNumber}`))) bad(`XAdES IssuerSerial ${serial} is not the signing certificate's serial number`);
}
