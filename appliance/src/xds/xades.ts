import { createHash, randomUUID } from 'node:crypto';
import type { Signer } from '../auth/signer/signer.js';
import { NS, SIGNATURE_ENTRY } from './codes.js';
import type { XmlSignatureAlgorithm } from './types.js';
import { el, findById, serialize, type XmlElement } from './c14n.js';
import { ALGORITHMS, c14nDigest, certificateDigest, DSIG, rfc4514, serialDecimal, SIGNATURE_SCOPE, signatureElement } from './xmldsig.js';

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
  /** Fixed identifiers (tests); random by default. */
  ids?: { signature: string; signedProperties: string };
}

/**
 * A submission set is metadata without octets of its own: the French DMP clients (the ANS demonstrator and the DMP
 * sample clients) put a single zero byte as its Manifest digest, which the DMP test platform accepts.
 */
export const SUBMISSION_SET_DIGEST = 'AA==';

function manifestReference(uri: string, digestAlgorithm: string, digest: string): XmlElement {
  return el('ds:Reference', { URI: uri }, [el('ds:DigestMethod', { Algorithm: digestAlgorithm }), el('ds:DigestValue', {}, [digest])]);
}

/** Digest of the element `id` inside `object`, a ds:Object content, as the signature's verifier will canonicalise it. */
function objectDigest(object: XmlElement, id: string, algorithm: XmlSignatureAlgorithm): string {
  const { node, scope } = findById(object, id, SIGNATURE_SCOPE);
  return c14nDigest(node, algorithm, scope);
}

/** Returns the signature document's exact bytes (UTF-8, with an XML declaration). */
export async function buildXadesSignature(input: XadesInput): Promise<Buffer> {
  const alg = ALGORITHMS[input.algorithm];
  const cert = input.signer.certificate();
  const signatureId = input.ids?.signature ?? `Signature-${randomUUID()}`;
  const signedPropertiesId = input.ids?.signedProperties ?? `SignedProperties-${randomUUID()}`;
  const signingTime = (input.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');

  const purpose = el('ds:SignatureProperties', {}, [
    el('ds:SignatureProperty', { Id: 'purposeOfSignature', Target: `#${signatureId}` }, [SIGNATURE_ENTRY.eventCode.code]),
  ]);
  const manifest = el('ds:Manifest', { Id: 'IHEManifest' }, [
    manifestReference(`urn:oid:${input.submissionSetUniqueId}`, alg.digest, SUBMISSION_SET_DIGEST),
    ...input.documents.map((d) => manifestReference(`urn:oid:${d.uniqueId}`, alg.digest, createHash(alg.hash).update(d.bytes).digest('base64'))),
  ]);
  const qualifying = el(
    'xades:QualifyingProperties',
    { Target: `#${signatureId}` },
    [
      el('xades:SignedProperties', { Id: signedPropertiesId }, [
        el('xades:SignedSignatureProperties', {}, [
          el('xades:SigningTime', {}, [signingTime]),
          el('xades:SigningCertificate', {}, [
            el('xades:Cert', {}, [
              el('xades:CertDigest', {}, [el('ds:DigestMethod', { Algorithm: alg.digest }), el('ds:DigestValue', {}, [certificateDigest(cert, input.algorithm)])]),
              el('xades:IssuerSerial', {}, [el('ds:X509IssuerName', {}, [rfc4514(cert.issuer)]), el('ds:X509SerialNumber', {}, [serialDecimal(cert)])]),
            ]),
          ]),
          el('xades:SignaturePolicyIdentifier', {}, [el('xades:SignaturePolicyImplied')]),
        ]),
      ]),
    ],
    { xades: NS.xades },
  );

  const signature = await signatureElement(input.signer, {
    algorithm: input.algorithm,
    id: signatureId,
    objects: [manifest, purpose, qualifying],
    references: [
      { uri: '#IHEManifest', transforms: [DSIG.excC14n], type: DSIG.manifestType, digest: objectDigest(manifest, 'IHEManifest', input.algorithm) },
      { uri: '#purposeOfSignature', transforms: [DSIG.excC14n], digest: objectDigest(purpose, 'purposeOfSignature', input.algorithm) },
      { uri: `#${signedPropertiesId}`, transforms: [DSIG.excC14n], type: DSIG.xadesSignedPropertiesType, digest: objectDigest(qualifying, signedPropertiesId, input.algorithm) },
    ],
  });
  return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${serialize(signature)}`, 'utf8');
}
