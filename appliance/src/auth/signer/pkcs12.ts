import {
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  pbkdf2Sync,
  timingSafeEqual,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { children, DerError, explicit, expect, int, octets, oid, parseDer, sequence, UNIVERSAL, type Tlv } from './der.js';
import { CredentialError } from './signer.js';

/**
 * PKCS#12 reader (RFC 7292) on Node's crypto, which has no PKCS#12 API of its own. It reads what OpenSSL 3,
 * older OpenSSL, Java keytool and Windows export: PBES2 (PBKDF2 + AES/3DES) and the PKCS#12 3DES PBE,
 * HMAC-SHA1/SHA-2 integrity, BER lengths. RC2 ("40-bit") needs OpenSSL's legacy provider: it is refused with a hint.
 */

export interface Pkcs12Content {
  privateKey: KeyObject;
  /** The certificate matching the private key. */
  certificate: X509Certificate;
  /** The other certificates of the file, ordered from the issuer of `certificate` upward when they chain. */
  chain: X509Certificate[];
}

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  pbeSha1Des3: '1.2.840.113549.1.12.1.3',
  pbeSha1Des2: '1.2.840.113549.1.12.1.4',
  pbeSha1Rc2_128: '1.2.840.113549.1.12.1.5',
  pbeSha1Rc2_40: '1.2.840.113549.1.12.1.6',
} as const;

const HASHES: Record<string, { name: string; u: number; v: number }> = {
  '1.3.14.3.2.26': { name: 'sha1', u: 20, v: 64 },
  '2.16.840.1.101.3.4.2.1': { name: 'sha256', u: 32, v: 64 },
  '2.16.840.1.101.3.4.2.2': { name: 'sha384', u: 48, v: 128 },
  '2.16.840.1.101.3.4.2.3': { name: 'sha512', u: 64, v: 128 },
};

const HMAC_PRF: Record<string, string> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};

const CIPHERS: Record<string, { name: string; keyLength: number }> = {
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyLength: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyLength: 24 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyLength: 32 },
  '1.2.840.113549.3.7': { name: 'des-ede3-cbc', keyLength: 24 },
};

const MAX_ITERATIONS = 10_000_000;

/** RFC 7292 appendix B.2 key derivation (password as BMPString with its two-byte terminator). */
function pkcs12Kdf(password: string, salt: Buffer, iterations: number, id: 1 | 2 | 3, n: number, hashOid: string): Buffer {
  const h = HASHES[hashOid];
  if (!h) throw new CredentialError(`PKCS#12: unsupported hash ${hashOid}`);
  const { u, v } = h;
  const pass = Buffer.alloc((password.length + 1) * 2);
  for (let i = 0; i < password.length; i++) pass.writeUInt16BE(password.charCodeAt(i), i * 2);
  const fill = (src: Buffer) => {
    if (src.length === 0) return Buffer.alloc(0);
    const out = Buffer.alloc(v * Math.ceil(src.length / v));
    for (let i = 0; i < out.length; i++) out[i] = src[i % src.length]!;
    return out;
  };
  const D = Buffer.alloc(v, id);
  const I = Buffer.concat([fill(salt), fill(pass)]);
  const blocks: Buffer[] = [];
  for (let produced = 0; produced < n; produced += u) {
    let A = createHash(h.name).update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = createHash(h.name).update(A).digest();
    blocks.push(A);
    const B = Buffer.alloc(v);
    for (let i = 0; i < v; i++) B[i] = A[i % u]!;
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[j + k]! + B[k]! + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(blocks).subarray(0, n);
}

function iterations(tlv: Tlv | undefined, what: string): number {
  const n = int(tlv, what);
  if (n < 1 || n > MAX_ITERATIONS) throw new CredentialError(`PKCS#12: implausible iteration count ${n} in ${what}`);
  return n;
}

function decipher(name: string, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  try {
    const d = createDecipheriv(name, key, iv);
    return Buffer.concat([d.update(data), d.final()]);
  } catch {
    throw new CredentialError('PKCS#12: decryption failed (wrong password?)');
  }
}

/** Decrypts data protected by a password-based AlgorithmIdentifier (PBES2 or PKCS#12 PBE). */
function pbeDecrypt(algorithm: Tlv, data: Buffer, password: string): Buffer {
  const [algOid, params] = sequence(algorithm, 'encryption AlgorithmIdentifier');
  const alg = oid(algOid, 'encryption algorithm');
  if (alg === OID.pbes2) {
    const [kdf, scheme] = sequence(params, 'PBES2 parameters');
    const [kdfOid, kdfParams] = sequence(kdf, 'PBES2 key derivation');
    if (oid(kdfOid, 'PBES2 KDF') !== OID.pbkdf2) throw new CredentialError('PKCS#12: PBES2 with a KDF other than PBKDF2');
    const fields = sequence(kdfParams, 'PBKDF2 parameters');
    const salt = octets(fields[0], 'PBKDF2 salt');
    const count = iterations(fields[1], 'PBKDF2 iterations');
    let prf = 'sha1';
    for (const f of fields.slice(2)) {
      if (f.tag === UNIVERSAL.SEQUENCE) {
        const prfOid = oid(sequence(f, 'PBKDF2 PRF')[0], 'PBKDF2 PRF');
        const p = HMAC_PRF[prfOid];
        if (!p) throw new CredentialError(`PKCS#12: unsupported PBKDF2 PRF ${prfOid}`);
        prf = p;
      }
    }
    const [cipherOid, ivTlv] = sequence(scheme, 'PBES2 encryption scheme');
    const cipherId = oid(cipherOid, 'PBES2 cipher');
    const cipher = CIPHERS[cipherId];
    if (!cipher) throw new CredentialError(`PKCS#12: unsupported PBES2 cipher ${cipherId}`);
    const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, count, cipher.keyLength, prf);
    return decipher(cipher.name, key, octets(ivTlv, 'PBES2 IV'), data);
  }
  if (alg === OID.pbeSha1Des3 || alg === OID.pbeSha1Des2) {
    const [saltTlv, countTlv] = sequence(params, 'PKCS#12 PBE parameters');
    const salt = octets(saltTlv, 'PBE salt');
    const count = iterations(countTlv, 'PBE iterations');
    const sha1 = '1.3.14.3.2.26';
    const keyLength = alg === OID.pbeSha1Des3 ? 24 : 16;
    const key = pkcs12Kdf(password, salt, count, 1, keyLength, sha1);
    const iv = pkcs12Kdf(password, salt, count, 2, 8, sha1);
    return decipher(alg === OID.pbeSha1Des3 ? 'des-ede3-cbc' : 'des-ede-cbc', key, iv, data);
  }
  if (alg === OID.pbeSha1Rc2_40 || alg === OID.pbeSha1Rc2_128) {
    throw new CredentialError(
      'PKCS#12: the file uses RC2 encryption, which this system refuses; re-export it with AES, e.g. ' +
        '`openssl pkcs12 -legacy -in old.p12 -nodes | openssl pkcs12 -export -out new.p12`',
    );
  }
  throw new CredentialError(`PKCS#12: unsupported encryption algorithm ${alg}`);
}

function verifyMac(macData: Tlv, authSafeContent: Buffer, password: string): void {
  const [digestInfo, saltTlv, countTlv] = sequence(macData, 'MacData');
  const [algId, digestTlv] = sequence(digestInfo, 'MacData DigestInfo');
  const hashOid = oid(sequence(algId, 'MAC algorithm')[0], 'MAC algorithm');
  const hash = HASHES[hashOid];
  if (!hash) throw new CredentialError(`PKCS#12: unsupported MAC hash ${hashOid}`);
  const expected = octets(digestTlv, 'MAC value');
  const count = countTlv ? iterations(countTlv, 'MAC iterations') : 1;
  const key = pkcs12Kdf(password, octets(saltTlv, 'MAC salt'), count, 3, hash.u, hashOid);
  const actual = createHmac(hash.name, key).update(authSafeContent).digest();
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new CredentialError('PKCS#12: integrity check failed (wrong password, or the file is damaged)');
  }
}

function contentOctets(contentInfo: Tlv, what: string): { type: string; content: Tlv | undefined } {
  const [typeTlv, contentTlv] = sequence(contentInfo, what);
  return { type: oid(typeTlv, `${what} type`), content: contentTlv ? explicit(contentTlv, 0, `${what} content`) : undefined };
}

function safeContents(der: Buffer, password: string, keys: KeyObject[], certs: X509Certificate[]): void {
  for (const bag of children(expect(parseDer(der), UNIVERSAL.SEQUENCE, 'SafeContents'))) {
    const [idTlv, valueTlv] = sequence(bag, 'SafeBag');
    const id = oid(idTlv, 'SafeBag type');
    const value = explicit(valueTlv, 0, 'SafeBag value');
    if (id === OID.keyBag) {
      keys.push(createPrivateKey({ key: value.raw, format: 'der', type: 'pkcs8' }));
    } else if (id === OID.shroudedKeyBag) {
      const [alg, enc] = sequence(value, 'EncryptedPrivateKeyInfo');
      const plain = pbeDecrypt(alg!, octets(enc, 'encrypted private key'), password);
      keys.push(createPrivateKey({ key: plain, format: 'der', type: 'pkcs8' }));
    } else if (id === OID.certBag) {
      const [certType, certValue] = sequence(value, 'CertBag');
      if (oid(certType, 'CertBag type') !== OID.x509Certificate) continue;
      certs.push(new X509Certificate(octets(explicit(certValue, 0, 'CertBag value'), 'certificate')));
    }
    // CRL and secret bags are not ours to use.
  }
}

function orderChain(leaf: X509Certificate, others: X509Certificate[]): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const pool = [...others];
  let current = leaf;
  for (;;) {
    const i = pool.findIndex((c) => c.subject === current.issuer && current.checkIssued(c));
    if (i < 0) break;
    current = pool.splice(i, 1)[0]!;
    chain.push(current);
  }
  return [...chain, ...pool];
}

/** Opens a PKCS#12 file. Throws CredentialError with a plain reason (never the password). */
export function readPkcs12(file: Buffer, password: string): Pkcs12Content {
  try {
    const [versionTlv, authSafe, macData] = sequence(parseDer(file), 'PFX');
    if (int(versionTlv, 'PFX version') !== 3) throw new CredentialError('PKCS#12: not a version 3 PFX');
    const { type, content } = contentOctets(authSafe!, 'authSafe');
    if (type !== OID.data || !content) throw new CredentialError('PKCS#12: public-key integrity mode is not supported');
    const authSafeContent = octets(content, 'authSafe data');
    if (macData) verifyMac(macData, authSafeContent, password);

    const keys: KeyObject[] = [];
    const certs: X509Certificate[] = [];
    for (const info of children(expect(parseDer(authSafeContent), UNIVERSAL.SEQUENCE, 'AuthenticatedSafe'))) {
      const part = contentOctets(info, 'AuthenticatedSafe item');
      if (!part.content) continue;
      if (part.type === OID.data) {
        safeContents(octets(part.content, 'SafeContents data'), password, keys, certs);
      } else if (part.type === OID.encryptedData) {
        const [, encryptedContentInfo] = sequence(part.content, 'EncryptedData');
        const [, alg, encrypted] = sequence(encryptedContentInfo, 'EncryptedContentInfo');
        if (!encrypted) continue;
        const data = octets(encrypted, 'encrypted content', { cls: 2, tag: 0 });
        safeContents(pbeDecrypt(alg!, data, password), password, keys, certs);
      } else {
        throw new CredentialError('PKCS#12: public-key privacy mode (enveloped data) is not supported');
      }
    }
    if (keys.length !== 1) throw new CredentialError(`PKCS#12: expected one private key, found ${keys.length}`);
    const privateKey = keys[0]!;
    const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
    const leafIndex = certs.findIndex((c) => c.publicKey.export({ type: 'spki', format: 'der' }).equals(spki));
    if (leafIndex < 0) throw new CredentialError('PKCS#12: no certificate matches the private key');
    const certificate = certs.splice(leafIndex, 1)[0]!;
    return { privateKey, certificate, chain: orderChain(certificate, certs) };
  } catch (err) {
    if (err instanceof CredentialError) throw err;
    if (err instanceof DerError) throw new CredentialError(`PKCS#12: not a valid file (${err.message})`);
    throw new CredentialError(`PKCS#12: cannot read the file (${(err as Error).message})`);
  }
}
