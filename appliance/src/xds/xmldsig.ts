import { createHash, type X509Certificate } from 'node:crypto';
import type { Signer } from '../auth/signer/signer.js';
import { el, excC14n, type NamespaceScope, type XmlElement } from './c14n.js';
import { NS } from './codes.js';
import type { XmlSignatureAlgorithm } from './types.js';

/** XML-DSig algorithm URIs (W3C xmldsig-core, RFC 6931). */
export const DSIG = {
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  envelopedSignature: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
  manifestType: 'http://www.w3.org/2000/09/xmldsig#Manifest',
  xadesSignedPropertiesType: 'http://uri.etsi.org/01903#SignedProperties',
} as const;

export const ALGORITHMS: Record<XmlSignatureAlgorithm, { signature: string; digest: string; hash: 'sha256' | 'sha1' }> = {
  'rsa-sha256': {
    signature: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    digest: 'http://www.w3.org/2001/04/xmlenc#sha256',
    hash: 'sha256',
  },
  'rsa-sha1': {
    signature: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
    digest: 'http://www.w3.org/2000/09/xmldsig#sha1',
    hash: 'sha1',
  },
};

/** A reference of SignedInfo: what it points to, how its octets were made, and their digest (base64). */
export interface SignedReference {
  uri: string;
  transforms: string[];
  type?: string;
  digest: string;
}

export interface SignatureInput {
  algorithm: XmlSignatureAlgorithm;
  references: SignedReference[];
  /** Id of the ds:Signature element. */
  id?: string;
  /** ds:Object contents, for enveloping signatures. */
  objects?: XmlElement[];
}

/** Namespaces in scope inside a ds:Signature built by `signatureElement`. */
export const SIGNATURE_SCOPE: NamespaceScope = new Map([['ds', NS.ds]]);

/** Digest (base64) of an element's exclusive C14N, `scope` holding the namespaces its ancestors declare. */
export function c14nDigest(node: XmlElement, algorithm: XmlSignatureAlgorithm, scope?: NamespaceScope): string {
  return createHash(ALGORITHMS[algorithm].hash).update(excC14n(node, scope), 'utf8').digest('base64');
}

/**
 * A ds:Signature (exclusive C14N) over references whose digests the caller computed: SignedInfo is canonicalised
 * without a DOM and signed by the Signer (file, PKCS#11 token...), which alone holds the key.
 */
export async function signatureElement(signer: Signer, input: SignatureInput): Promise<XmlElement> {
  const alg = ALGORITHMS[input.algorithm];
  const signedInfo = el('ds:SignedInfo', {}, [
    el('ds:CanonicalizationMethod', { Algorithm: DSIG.excC14n }),
    el('ds:SignatureMethod', { Algorithm: alg.signature }),
    ...input.references.map((r) =>
      el('ds:Reference', { URI: r.uri, ...(r.type ? { Type: r.type } : {}) }, [
        el('ds:Transforms', {}, r.transforms.map((t) => el('ds:Transform', { Algorithm: t }))),
        el('ds:DigestMethod', { Algorithm: alg.digest }),
        el('ds:DigestValue', {}, [r.digest]),
      ]),
    ),
  ]);
  const value = await signer.sign(Buffer.from(excC14n(signedInfo, SIGNATURE_SCOPE), 'utf8'), input.algorithm);
  return el(
    'ds:Signature',
    input.id ? { Id: input.id } : {},
    [
      signedInfo,
      el('ds:SignatureValue', {}, [value.toString('base64')]),
      el('ds:KeyInfo', {}, [el('ds:X509Data', {}, [el('ds:X509Certificate', {}, [signer.certificate().raw.toString('base64')])])]),
      ...(input.objects ?? []).map((o) => el('ds:Object', {}, [o])),
    ],
    { ds: NS.ds },
  );
}

/** RFC 4514 string of a certificate name as Node prints it (one RDN per line, most significant first, already escaped). */
export function rfc4514(nodeName: string): string {
  return nodeName
    .split('\n')
    .filter((l) => l !== '')
    .reverse()
    .join(',');
}

export function certificateDigest(cert: X509Certificate, algorithm: XmlSignatureAlgorithm): string {
  return createHash(ALGORITHMS[algorithm].hash).update(cert.raw).digest('base64');
}

export function serialDecimal(cert: X509Certificate): string {
  return BigInt(`0x${cert.serialNumber}`).toString(10);
}
