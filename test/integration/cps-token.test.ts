import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CPS_AUT_ID, CPS_SIG_ID, makeCpsToken, TEST_HOLDER, type CpsToken } from '../peers/cps-token.js';

// The emulated CPS card the PKCS#11 work builds on, checked independently of the box: OpenSC's pkcs11-tool lists the
// card's objects under their labels and CKA_IDs, signs with CPS_PRIV_SIG, and OpenSSL verifies that signature against
// the signature certificate, which chains to the test CA and carries the professional's identity.
let dir: string;
let token: CpsToken;

const tool = (args: string[]) =>
  execFileSync('pkcs11-tool', ['--module', token.module, '--token-label', token.tokenLabel, ...args], { env: { ...process.env, ...token.env }, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drimbox-cps-'));
  token = makeCpsToken(dir);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the emulated CPS card (SoftHSM2)', () => {
  it('holds the card’s keys and certificates under their labels, paired by CKA_ID, keys behind the PIN', () => {
    const anonymous = tool(['--list-objects']);
    expect(anonymous).toMatch(new RegExp(`label:\\s+Certificat de Signature CPS\\n(?: {2}.*\\n)*? +ID:\\s+${CPS_SIG_ID}`));
    expect(anonymous).not.toMatch(/CPS_PRIV_SIG/); // private objects need the PIN
    const listed = tool(['--login', '--pin', token.pin, '--list-objects']);
    for (const [label, id] of [['CPS_PRIV_SIG', CPS_SIG_ID], ['CPS_PRIV_AUT', CPS_AUT_ID], ["Certificat d'Authentification CPS", CPS_AUT_ID]]) {
      expect(listed).toMatch(new RegExp(`label:\\s+${label}\\n(?: {2}.*\\n)*? +ID:\\s+${id}`));
    }
  });

  it('signs with CPS_PRIV_SIG (SHA256-RSA-PKCS, key chosen by its CKA_ID), verified by OpenSSL against the signature certificate; a wrong PIN is refused', () => {
    const data = join(dir, 'vihf.xml');
    writeFileSync(data, '<Assertion>VIHF de test</Assertion>');
    const sig = join(dir, 'vihf.sig');
    tool(['--login', '--pin', token.pin, '--sign', '--mechanism', 'SHA256-RSA-PKCS', '--id', CPS_SIG_ID, '--input-file', data, '--output-file', sig]);
    const pub = join(dir, 'sign.pub');
    writeFileSync(pub, new X509Certificate(readFileSync(token.signCertPath)).publicKey.export({ type: 'spki', format: 'pem' }));
    expect(execFileSync('openssl', ['dgst', '-sha256', '-verify', pub, '-signature', sig, data]).toString()).toMatch(/Verified OK/);
    expect(() => tool(['--login', '--pin', '0000', '--sign', '--mechanism', 'SHA256-RSA-PKCS', '--id', CPS_SIG_ID, '--input-file', data, '--output-file', sig])).toThrow(/CKR_PIN_INCORRECT/);
  });

  it('carries a CPS subject (title, then CN=8+RPPS + SN + GN in one RDN) issued by the test CA, for the right uses', () => {
    const sign = new X509Certificate(readFileSync(token.signCertPath));
    const auth = new X509Certificate(readFileSync(token.authCertPath));
    const ca = new X509Certificate(readFileSync(token.caCertPath));
    expect(sign.verify(ca.publicKey) && auth.verify(ca.publicKey)).toBe(true);
    const subject = execFileSync('openssl', ['x509', '-in', token.signCertPath, '-noout', '-subject', '-nameopt', 'RFC2253']).toString();
    expect(subject).toContain(`CN=${TEST_HOLDER.nationalId}+SN=${TEST_HOLDER.surname}+GN=${TEST_HOLDER.givenName},title=M\\C3\\A9decin,C=FR`);
    expect(execFileSync('openssl', ['x509', '-in', token.signCertPath, '-noout', '-ext', 'keyUsage']).toString()).toMatch(/critical\s*\n\s*Non Repudiation/);
    expect(execFileSync('openssl', ['x509', '-in', token.authCertPath, '-noout', '-ext', 'extendedKeyUsage']).toString()).toMatch(/TLS Web Client Authentication/);
  });
});
