import { X509Certificate } from 'node:crypto';
import { readNamedFile } from '../config/named-file.js';
import type { Pkcs11Config } from './pkcs11/config-schema.js';
import { Pkcs11Signer } from './pkcs11/signer.js';
import { tokenTlsCredential } from './pkcs11/tls-key.js';
import { FileSigner, tlsCredentialFromPkcs12 } from './signer/file-signer.js';
import { CredentialError, type Signer } from './signer/signer.js';

/** The xds.* settings naming the structure's PKCS#12 files (kept structural: auth/ does not import xds/). */
export interface StructureFiles {
  tlsP12File: string;
  tlsP12Password: string;
  signatureP12File: string;
  signatureP12Password: string;
}

export interface StructureCredentials {
  /** Signs the VIHF and the XAdES document. */
  signer: Signer;
  /** The DMP's mutual TLS, and the box-to-box pulls when the source asks for a certificate. */
  tls: { key: string; cert: string } | { privateKeyEngine: string; privateKeyIdentifier: string; cert: string };
  /** The TLS certificate's expiry (status, fleet telemetry). */
  tlsNotAfter: Date;
  /** Where each key lives, for logs and status: never a secret. */
  describe: { tls: string; signature: string };
}

/**
 * The structure's two keys, each from its PKCS#12 file or from the PKCS#11 token named in pkcs11.structure
 * (a key label set there wins over the file). The PIN and passwords stay in memory.
 */
export function structureCredentials(files: StructureFiles, token: Pkcs11Config['structure']): StructureCredentials {
  const selector = { ...(token.tokenLabel ? { label: token.tokenLabel } : {}), ...(token.tokenSerial ? { serial: token.tokenSerial } : {}) };
  const onToken = (keyLabel: string) => {
    if (!keyLabel) return false;
    if (!token.module) throw new CredentialError(`pkcs11.structure: a key label is set ("${keyLabel}") but no module`);
    if (!token.tokenLabel && !token.tokenSerial) throw new CredentialError('pkcs11.structure: name the token (tokenLabel or tokenSerial)');
    return true;
  };
  const need = (file: string, key: string) => {
    if (!file) throw new CredentialError(`set ${key}: the DMP connection needs it`);
    return readNamedFile(file, key, (message) => new CredentialError(message));
  };

  let signer: Signer;
  let signature: string;
  if (onToken(token.signatureKeyLabel)) {
    const tokenSigner = Pkcs11Signer.open({ module: token.module, token: selector, keyLabel: token.signatureKeyLabel, pin: () => token.pin });
    signer = tokenSigner;
    signature = tokenSigner.describe();
  } else {
    const file = files.signatureP12File || files.tlsP12File;
    signer = FileSigner.fromPkcs12(need(file, 'xds.signatureP12File'), files.signatureP12File ? files.signatureP12Password : files.tlsP12Password);
    signature = `PKCS#12 file ${file}`;
  }

  let tls: StructureCredentials['tls'];
  let tlsWhere: string;
  if (onToken(token.tlsKeyLabel)) {
    tls = tokenTlsCredential({ module: token.module, token: selector, keyLabel: token.tlsKeyLabel, pin: token.pin, engine: token.engine });
    tlsWhere = `PKCS#11 token key "${token.tlsKeyLabel}" through OpenSSL's engine (${token.module})`;
  } else {
    tls = tlsCredentialFromPkcs12(need(files.tlsP12File, 'xds.tlsP12File'), files.tlsP12Password);
    tlsWhere = `PKCS#12 file ${files.tlsP12File}`;
  }
  return { signer, tls, tlsNotAfter: new Date(new X509Certificate(tls.cert).validTo), describe: { tls: tlsWhere, signature } };
}
