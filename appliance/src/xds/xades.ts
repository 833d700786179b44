import { createHash, randomUUID } from 'node:crypto';
import type { Signer } from '../auth/signer/signer.js';
import { NS, SIGNATURE_ENTRY } from './codes.js';
import type { XmlSignatureAlgorithm } from './types.js';
import { esc } from './xml.js';
import { ALGORITHMS, certificateDigest, DSIG, rfc4514, serialDecimal, signXml } from './xmldsig.js';

/**
 * The IHE DSG signature document of a submission (IHE ITI TF-3 §5.5; ci-sis-imaging.md §2.3): an enveloping XML-DSig
 * whose IHE Manifest lists the submission set and every document by `urn:oid:<uniqueId>` with a digest, a
 * purposeOfSignature property, and XAdES (1.3.2) SignedProperties. SignedInfo covers the Manifest, the purpose and
 * the SignedProperties, so none of them can be altered without breaking the signature.
 */

export interface SignedDocumentRef {
  uniqueId: string;
  bytes: Buffer;
}

export interface XadesInput {
  submissionSetUniqueId: string;
  documents: SignedDocumentRef[];
  algorithm: XmlSignatureAlgorithm;
  signer: Signer;
  now?: Date;
}

/**
 * A submission set is metadata without octets of its own: the French DMP clients (the ANS demonstrator and the DMP
 * sample clients) put a single zero byte as its Manifest digest, which the DMP test platform accepts.
 */
export const SUBMISSION_SET_DIGEST = 'AA==';

function manifestReference(uri: string, digestAlgorithm: string, digest: string): string {
  return (
    `<ds:Reference URI="${esc(uri)}"><ds:DigestMethod Algorithm="${digestAlgorithm}"/>` +
    `<ds:DigestValue>${digest}</ds:DigestValue></ds:Reference>`
  );
}

/** Returns the signature document's exact bytes (UTF-8, with an XML declaration). */
export async function buildXadesSignature(input: XadesInput): Promise<Buffer> {
  const alg = ALGORITHMS[input.algorithm];
  const cert = input.signer.certificate();
  const signatureId = `Signature-${randomUUID()}`;
  const signedPropertiesId = `SignedProperties-${randomUUID()}`;
  const signingTime = (input.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');

  const purpose =
    `<ds:SignatureProperties><ds:SignatureProperty Id="purposeOfSignature" Target="#${signatureId}">` +
    `${SIGNATURE_ENTRY.eventCode.code}</ds:SignatureProperty></ds:SignatureProperties>`;
  const manifest =
    `<ds:Manifest Id="IHEManifest">` +
    manifestReference(`urn:oid:${input.submissionSetUniqueId}`, alg.digest, SUBMISSION_SET_DIGEST) +
    input.documents
      .map((d) => manifestReference(`urn:oid:${d.uniqueId}`, alg.digest, createHash(alg.hash).update(d.bytes).digest('base64')))
      .join('') +
    `</ds:Manifest>`;
  const qualifying =
    `<xades:QualifyingProperties xmlns:xades="${NS.xades}" Target="#${signatureId}">` +
    `<xades:SignedProperties Id="${signedPropertiesId}"><xades:SignedSignatureProperties>` +
    `<xades:SigningTime>${signingTime}</xades:SigningTime>` +
    `<xades:SigningCertificate><xades:Cert><xades:CertDigest>` +
    `<ds:DigestMethod Algorithm="${alg.digest}"/><ds:DigestValue>${certificateDigest(cert, input.algorithm)}</ds:DigestValue>` +
    `</xades:CertDigest><xades:IssuerSerial>` +
    `<ds:X509IssuerName>${esc(rfc4514(cert.issuer))}</ds:X509IssuerName><ds:X509SerialNumber>${serialDecimal(cert)}</ds:X509SerialNumber>` +
    `</xades:IssuerSerial></xades:Cert></xades:SigningCertificate>` +
    `<xades:SignaturePolicyIdentifier><xades:SignaturePolicyImplied/></xades:SignaturePolicyIdentifier>` +
    `</xades:SignedSignatureProperties></xades:SignedProperties></xades:QualifyingProperties>`;

  const { signatureXml } = await signXml('<Enveloping/>', input.signer, {
    algorithm: input.algorithm,
    attrs: { Id: signatureId },
    objects: [{ content: manifest }, { content: purpose }, { content: qualifying }],
    references: [
      { xpath: "//*[@Id='IHEManifest']", transforms: [DSIG.excC14n], type: DSIG.manifestType },
      { xpath: "//*[@Id='purposeOfSignature']", transforms: [DSIG.excC14n] },
      { xpath: `//*[@Id='${signedPropertiesId}']`, transforms: [DSIG.excC14n], type: DSIG.xadesSignedPropertiesType },
    ],
  });
  return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${signatureXml}`, 'utf8');
}
