import { X509Certificate, createHash, createPrivateKey, randomUUID, sign } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import { ExclusiveCanonicalization, SignedXml } from 'xml-crypto';

/** Test-side signing: the VIHF assertion in a SOAP envelope, and the IHE DSG / XAdES document. */

export interface Signer {
  certPem: string;
  keyPem: string;
}

const EXC = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const DS = 'http://www.w3.org/2000/09/xmldsig#';

export function subjectDn(certPem: string): string {
  return new X509Certificate(certPem).subject.split('\n').reverse().join(', ');
}

/** Signs the saml2:Assertion of `envelope` in place (enveloped, exclusive C14N, RSA-SHA256). */
export function signVihf(envelope: string, signer: Signer): string {
  const sig = new SignedXml({
    privateKey: signer.keyPem,
    publicCert: signer.certPem,
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: EXC,
  });
  sig.addReference({
    xpath: "//*[local-name(.)='Assertion']",
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', EXC],
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
  });
  sig.computeSignature(envelope, { prefix: 'ds', location: { reference: "//*[local-name(.)='Assertion']/*[local-name(.)='Issuer']", action: 'after' } });
  return sig.getSignedXml();
}

/**
 * An enveloping XML-DSig over an IHE manifest (one Reference per document, urn:oid:<uniqueId>) and
 * XAdES 1.3.2 SignedProperties, everything canonicalised with exclusive C14N.
 */
export function buildSignatureDocument(signer: Signer, submissionSetUniqueId: string, documents: { uniqueId: string; bytes: Buffer }[]): Buffer {
  const cert = new X509Certificate(signer.certPem);
  const sigId = `sig-${randomUUID()}`;
  const propsId = `props-${randomUUID()}`;
  const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('base64');
  const ref = (uri: string, digest: string) =>
    `<ds:Reference URI="${uri}"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>${digest}</ds:DigestValue></ds:Reference>`;
  const manifest =
    `<ds:Manifest Id="IHEManifest">${ref(`urn:oid:${submissionSetUniqueId}`, sha256(submissionSetUniqueId))}` +
    documents.map((d) => ref(`urn:oid:${d.uniqueId}`, sha256(d.bytes))).join('') +
    '</ds:Manifest>';
  const props =
    `<xades:SignedProperties Id="${propsId}"><xades:SignedSignatureProperties><xades:SigningTime>${new Date().toISOString()}</xades:SigningTime>` +
    `<xades:SigningCertificate><xades:Cert><xades:CertDigest><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>${sha256(cert.raw)}</ds:DigestValue></xades:CertDigest>` +
    `<xades:IssuerSerial><ds:X509IssuerName>${cert.issuer.split('\n').reverse().join(', ')}</ds:X509IssuerName><ds:X509SerialNumber>${BigInt(`0x${cert.serialNumber}`).toString()}</ds:X509SerialNumber></xades:IssuerSerial></xades:Cert></xades:SigningCertificate>` +
    '<xades:SignaturePolicyIdentifier><xades:SignaturePolicyImplied/></xades:SignaturePolicyIdentifier></xades:SignedSignatureProperties></xades:SignedProperties>';
  const objects =
    `<ds:Object><ds:SignatureProperties><ds:SignatureProperty Id="purposeOfSignature" Target="#${sigId}">1.2.840.10065.1.12.1.14</ds:SignatureProperty></ds:SignatureProperties></ds:Object>` +
    `<ds:Object>${manifest}</ds:Object>` +
    `<ds:Object><xades:QualifyingProperties xmlns:xades="http://uri.etsi.org/01903/v1.3.2#" Target="#${sigId}">${props}</xades:QualifyingProperties></ds:Object>`;
  const keyInfo = `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>${cert.raw.toString('base64')}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`;
  const wrap = (signedInfo: string, value: string) => `<ds:Signature xmlns:ds="${DS}" Id="${sigId}">${signedInfo}<ds:SignatureValue>${value}</ds:SignatureValue>${keyInfo}${objects}</ds:Signature>`;
  const draft = wrap('', '');
  const reference = (uri: string, type: string, digest: string) =>
    `<ds:Reference URI="#${uri}" Type="${type}"><ds:Transforms><ds:Transform Algorithm="${EXC}"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>${digest}</ds:DigestValue></ds:Reference>`;
  const signedInfo =
    `<ds:SignedInfo><ds:CanonicalizationMethod Algorithm="${EXC}"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
    reference('IHEManifest', `${DS}Manifest`, sha256(canonical(draft, 'IHEManifest'))) +
    reference(propsId, 'http://uri.etsi.org/01903#SignedProperties', sha256(canonical(draft, propsId))) +
    '</ds:SignedInfo>';
  const withInfo = wrap(signedInfo, '');
  const value = sign('sha256', Buffer.from(canonical(withInfo, undefined, 'SignedInfo')), createPrivateKey(signer.keyPem)).toString('base64');
  return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${wrap(signedInfo, value)}`, 'utf8');
}

function canonical(xml: string, id: string | undefined, localName?: string): string {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const all = Array.from(doc.getElementsByTagName('*'));
  const node = all.find((e) => (id ? e.getAttribute('Id') === id : e.localName === localName));
  if (!node) throw new Error(`no element ${id ?? localName} to canonicalise`);
  return new ExclusiveCanonicalization().process(node as never, {}) as string;
}
