import { createPrivateKey, createPublicKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { readNamedFile } from '../../config/named-file.js';
import { readPkcs12 } from './pkcs12.js';
import { CredentialError, type SignatureAlgorithmName, type Signer } from './signer.js';

const DIGEST: Record<SignatureAlgorithmName, string> = { 'rsa-sha256': 'sha256', 'rsa-sha1': 'sha1' };

/** A Signer whose key lives in a file (PKCS#12, or PEM key + certificate chain), held in memory as a KeyObject. */
export class FileSigner implements Signer {
  private readonly chainPem: string[];

  private constructor(
    private readonly key: KeyObject,
    private readonly cert: X509Certificate,
    issuers: X509Certificate[],
  ) {
    const certSpki = cert.publicKey.export({ type: 'spki', format: 'der' });
    if (!createPublicKey(key).export({ type: 'spki', format: 'der' }).equals(certSpki)) {
      throw new CredentialError(`the private key does not match the certificate ${cert.subject.replace(/\n/g, ', ')}`);
    }
    if (key.asymmetricKeyType !== 'rsa') {
      throw new CredentialError(`signing key is ${key.asymmetricKeyType}; the DMP signatures need an RSA key`);
    }
    this.chainPem = [cert, ...issuers].map((c) => c.toString());
  }

  static fromPkcs12(file: Buffer, password: string): FileSigner {
    const p12 = readPkcs12(file, password);
    return new FileSigner(p12.privateKey, p12.certificate, p12.chain);
  }

  static fromPkcs12File(path: string, password: string): FileSigner {
    return FileSigner.fromPkcs12(readFile(path, 'PKCS#12 file'), password);
  }

  /** `certChainPem`: the signing certificate first, then optional issuers, concatenated PEM. */
  static fromPem(keyPem: string | Buffer, certChainPem: string | Buffer, passphrase?: string): FileSigner {
    const key = createPrivateKey(passphrase === undefined ? { key: keyPem } : { key: keyPem, passphrase });
    const certs = splitPemCertificates(certChainPem.toString());
    if (certs.length === 0) throw new CredentialError('no certificate in the PEM chain');
    const [leaf, ...issuers] = certs.map((c) => new X509Certificate(c));
    return new FileSigner(key, leaf!, issuers);
  }

  static fromPemFiles(keyPath: string, certPath: string, passphrase?: string): FileSigner {
    return FileSigner.fromPem(readFile(keyPath, 'key file'), readFile(certPath, 'certificate file'), passphrase);
  }

  certificateChainPem(): string[] {
    return [...this.chainPem];
  }

  certificate(): X509Certificate {
    return this.cert;
  }

  /** PEM of key and chain, for a TLS client context (in memory only; never write or log it). */
  tlsMaterial(): { key: string; cert: string } {
    return { key: this.key.export({ type: 'pkcs8', format: 'pem' }).toString(), cert: this.chainPem.join('') };
  }

  async sign(data: Buffer, algorithm: SignatureAlgorithmName): Promise<Buffer> {
    return sign(DIGEST[algorithm], data, this.key);
  }
}

/** Key and chain of a PKCS#12 file as in-memory PEM, for a TLS client context (never write or log them). */
export function tlsCredentialFromPkcs12(file: Buffer, password: string): { key: string; cert: string } {
  const p12 = readPkcs12(file, password);
  return {
    key: p12.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    cert: [p12.certificate, ...p12.chain].map((c) => c.toString()).join(''),
  };
}

export function splitPemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\r?\n?/g) ?? [];
}

function readFile(path: string, what: string): Buffer {
  return readNamedFile(path, what, (message) => new CredentialError(message));
}
