import { createHash, type X509Certificate } from 'node:crypto';
import { SignedXml, type ComputeSignatureOptions, type ErrorFirstCallback, type SignatureAlgorithm } from 'xml-crypto';
import type { Signer } from '../auth/signer/signer.js';
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

export interface SignReference {
  xpath: string;
  transforms: string[];
  type?: string;
}

export interface SignXmlOptions {
  algorithm: XmlSignatureAlgorithm;
  references: SignReference[];
  location?: ComputeSignatureOptions['location'];
  /** Attributes of the ds:Signature element (e.g. Id). */
  attrs?: Record<string, string>;
  /** ds:Object contents, for enveloping signatures. */
  objects?: { content: string; attributes?: Record<string, string> }[];
}

/** Placeholder handed to xml-crypto, which insists on a key; the key itself never leaves the Signer. */
const KEY_HELD_BY_SIGNER = 'held-by-signer';

/** An xml-crypto signature algorithm that asks the Signer (file, PKCS#11 token...) to sign the canonical SignedInfo. */
function signerAlgorithm(signer: Signer, algorithm: XmlSignatureAlgorithm): new () => SignatureAlgorithm {
  const uri = ALGORITHMS[algorithm].signature;
  class SignerBackedAlgorithm {
    getSignature(signedInfo: string | Buffer, _key: unknown, callback?: ErrorFirstCallback<string>): string | void {
      if (!callback) throw new Error('the signing key may sit on a token: only asynchronous signing is possible');
      signer.sign(Buffer.from(signedInfo), algorithm).then(
        (value) => callback(null, value.toString('base64')),
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
      );
    }
    verifySignature(): boolean {
      throw new Error('this algorithm only signs');
    }
    getAlgorithmName(): string {
      return uri;
    }
  }
  return SignerBackedAlgorithm as unknown as new () => SignatureAlgorithm;
}

function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

/**
 * Signs `xml` with exclusive C14N and the Signer. Returns xml-crypto's serialisation of the signed document:
 * callers embed these exact characters and never re-serialise them.
 */
export function signXml(xml: string, signer: Signer, options: SignXmlOptions): Promise<{ signedXml: string; signatureXml: string }> {
  const alg = ALGORITHMS[options.algorithm];
  const leafPem = signer.certificateChainPem()[0];
  if (!leafPem) throw new Error('the signer has no certificate');
  const sig = new SignedXml({
    privateKey: KEY_HELD_BY_SIGNER,
    signatureAlgorithm: alg.signature,
    canonicalizationAlgorithm: DSIG.excC14n,
    getKeyInfoContent: ({ prefix } = {}) => {
      const p = prefix ? `${prefix}:` : '';
      return `<${p}X509Data><${p}X509Certificate>${pemBody(leafPem)}</${p}X509Certificate></${p}X509Data>`;
    },
    ...(options.objects ? { objects: options.objects } : {}),
  });
  sig.SignatureAlgorithms[alg.signature] = signerAlgorithm(signer, options.algorithm);
  for (const ref of options.references) {
    sig.addReference({ xpath: ref.xpath, transforms: ref.transforms, digestAlgorithm: alg.digest, ...(ref.type ? { type: ref.type } : {}) });
  }
  return new Promise((resolve, reject) => {
    sig.computeSignature(
      xml,
      { prefix: 'ds', ...(options.location ? { location: options.location } : {}), ...(options.attrs ? { attrs: options.attrs } : {}) },
      (err) => {
        if (err) reject(err);
        else resolve({ signedXml: sig.getSignedXml(), signatureXml: sig.getSignatureXml() });
      },
    );
  });
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
