import { execFileSync } from 'node:child_process';
import { verify, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSigner, tlsCredentialFromPkcs12 } from '../../appliance/src/auth/signer/file-signer.js';
import { readPkcs12 } from '../../appliance/src/auth/signer/pkcs12.js';
import { CredentialError } from '../../appliance/src/auth/signer/signer.js';
import { makeTestPki, type TestPki } from '../fixtures/pki/make-test-pki.js';

let dir: string;
let pki: TestPki;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drimbox-signer-'));
  pki = makeTestPki(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PKCS#12 reader', () => {
  it.each([
    ['OpenSSL 3 defaults (PBES2, AES-256, HMAC-SHA256)', 'p12'],
    ['legacy 3DES + MAC SHA-1', 'p12Legacy'],
  ] as const)('opens %s: key, matching certificate, CA chain', (_name, key) => {
    const p12 = readPkcs12(readFileSync(pki.authClient[key]), pki.authClient.p12Password);
    const expected = new X509Certificate(readFileSync(pki.authClient.certPem));
    expect(p12.certificate.fingerprint256).toBe(expected.fingerprint256);
    expect(p12.certificate.subject).toContain('OU=499700367909006');
    expect(p12.chain.map((c) => c.subject)).toEqual([new X509Certificate(readFileSync(pki.ca.certPem)).subject]);
    expect(p12.privateKey.asymmetricKeyType).toBe('rsa');
  });

  it('refuses a wrong password without decrypting anything', () => {
    expect(() => readPkcs12(readFileSync(pki.signature.p12), 'wrong')).toThrow(/integrity check failed/);
    expect(() => readPkcs12(readFileSync(pki.signature.p12Legacy), 'wrong')).toThrow(CredentialError);
  });

  it('refuses garbage and RC2-encrypted files with a reason', () => {
    expect(() => readPkcs12(Buffer.from('not a pfx'), 'x')).toThrow(/not a valid file/);
    const rc2 = join(dir, 'rc2.p12');
    execFileSync('openssl', ['pkcs12', '-export', '-legacy', '-inkey', pki.signature.keyPem, '-in', pki.signature.certPem, '-passout', 'pass:x', '-out', rc2]);
    expect(() => readPkcs12(readFileSync(rc2), 'x')).toThrow(/RC2/);
  });
});

describe('FileSigner', () => {
  it('signs with RSA-SHA256 and RSA-SHA1 what the certificate verifies', async () => {
    const signer = FileSigner.fromPkcs12(readFileSync(pki.signature.p12), pki.signature.p12Password);
    const data = Buffer.from('<ds:SignedInfo/>');
    const cert = signer.certificate();
    expect(verify('sha256', data, cert.publicKey, await signer.sign(data, 'rsa-sha256'))).toBe(true);
    expect(verify('sha1', data, cert.publicKey, await signer.sign(data, 'rsa-sha1'))).toBe(true);
    expect(verify('sha256', Buffer.from('other'), cert.publicKey, await signer.sign(data, 'rsa-sha256'))).toBe(false);
    expect(signer.certificateChainPem()).toHaveLength(2);
  });

  it('loads PEM key + chain, and refuses a key that is not the certificate\'s', () => {
    const signer = FileSigner.fromPemFiles(pki.signature.keyPem, pki.signature.certPem);
    expect(signer.certificate().subject).toContain('CN=DRIMbox SIGNATURE');
    expect(() => FileSigner.fromPemFiles(pki.authClient.keyPem, pki.signature.certPem)).toThrow(/does not match/);
  });

  it('gives TLS material from the AUTH_CLI PKCS#12', () => {
    const tls = tlsCredentialFromPkcs12(readFileSync(pki.authClient.p12), pki.authClient.p12Password);
    expect(tls.key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(tls.cert.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
  });
});
