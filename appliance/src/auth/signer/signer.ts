import type { X509Certificate } from 'node:crypto';

export type SignatureAlgorithmName = 'rsa-sha256' | 'rsa-sha1';

/**
 * Whatever holds the structure's signing key: a PKCS#12 file today, a PKCS#11 token (CPS card, HSM) later.
 * XML signing code only ever talks to this interface, never to a raw private key.
 */
export interface Signer {
  /** The signing certificate first, then its issuers (PEM, one certificate each). */
  certificateChainPem(): string[];
  certificate(): X509Certificate;
  /** PKCS#1 v1.5 signature of `data` (the signer hashes it). */
  sign(data: Buffer, algorithm: SignatureAlgorithmName): Promise<Buffer>;
}

export class CredentialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialError';
  }
}
