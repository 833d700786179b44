import { spawnSync } from 'node:child_process';
import { X509Certificate, verify } from 'node:crypto';
import { mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pkcs11Signer } from '../../appliance/src/auth/pkcs11/signer.js';
import { TokenError } from '../../appliance/src/auth/pkcs11/errors.js';
import type { Signer } from '../../appliance/src/auth/signer/signer.js';
import { prepareProvideAndRegister } from '../../appliance/src/xds/client.js';
import { parseContentType, readAll, readMultipart } from '../../appliance/src/xds/mtom.js';
import { buildProvideAndRegister } from '../../appliance/src/xds/submission.js';
import { vihfSubjectFromReport } from '../../appliance/src/xds/vihf.js';
import { makeCpsToken, SOFTHSM_MODULE, TEST_HOLDER, type CpsToken } from '../peers/cps-token.js';
import { pocKos, sampleContext, sampleReport } from '../unit/xds-helpers.js';

/**
 * The PKCS#11 signer against a real module (SoftHSM2) holding emulated CPS cards: what it signs is verified by
 * xmlsec1 as the file signer's is (xds-signatures.test.ts), and each PKCS#11 failure comes out as its own error.
 */
const REPO = join(import.meta.dirname, '../..');
const SECOND = { nationalId: '899700200024', surname: 'RADIO0020002', givenName: 'ALEX', profession: 'Médecin' };
let dir: string;
let card: CpsToken;
let other: CpsToken;
const opened: Pkcs11Signer[] = [];

function open(options: Partial<Parameters<typeof Pkcs11Signer.open>[0]> = {}): Pkcs11Signer {
  const s = Pkcs11Signer.open({ module: SOFTHSM_MODULE, token: { label: card.tokenLabel }, keyLabel: 'CPS_PRIV_SIG', pin: () => card.pin, ...options });
  opened.push(s);
  return s;
}

function xmlsec(xml: Buffer, extra: string[], trusted: string): { ok: boolean; out: string } {
  const file = join(dir, `verify-${Math.random().toString(36).slice(2)}.xml`);
  writeFileSync(file, xml);
  const r = spawnSync('xmlsec1', ['--verify', ...extra, '--trusted-pem', trusted, file], { encoding: 'utf8' });
  return { ok: r.status === 0, out: r.stdout + r.stderr };
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

async function publishWith(signer: Signer) {
  const context = sampleContext();
  const report = sampleReport();
  const built = await buildProvideAndRegister({ report, kos: pocKos(), context, signer });
  const prepared = await prepareProvideAndRegister(built, vihfSubjectFromReport(report, context), context, signer, 'https://dmp.test/repository');
  const ct = parseContentType(prepared.contentType);
  let soap: Buffer = Buffer.alloc(0);
  for await (const p of readMultipart(once(Buffer.concat(prepared.chunks)), ct.params.boundary!)) {
    const bytes = await readAll(p.body, 1 << 26, 'part');
    if (`<${p.contentId}>` === ct.params.start) soap = bytes;
  }
  const xades = built.documents.find((d) => d.mimeType === 'text/xml')!.bytes;
  return { soap, xades };
}

function tokenDirOf(label: string): string {
  const tokens = join(dir, 'tokens');
  for (const d of readdirSync(tokens)) {
    const conf = spawnSync('grep', ['-l', label, '-r', join(tokens, d)], { encoding: 'utf8' });
    if (conf.stdout.trim()) return join(tokens, d);
  }
  throw new Error(`no token directory for ${label}`);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drimbox-p11-'));
  card = makeCpsToken(dir);
  other = makeCpsToken(dir, SECOND, '4321');
  // SoftHSM2 reads its configuration when the module initialises: before the first Pkcs11Signer.open.
  process.env.SOFTHSM2_CONF = card.env.SOFTHSM2_CONF;
});

afterAll(async () => {
  for (const s of opened) await s.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('Pkcs11Signer (key on the token, CKM_SHA256_RSA_PKCS)', () => {
  it('signs the VIHF and the XAdES document; xmlsec1 verifies both against the card’s CA, a tampered VIHF fails', async () => {
    const signer = open();
    expect(signer.certificate().subject).toContain(`CN=${TEST_HOLDER.nationalId}`);
    expect(signer.certificate().keyUsage ?? []).not.toContain('1.3.6.1.5.5.7.3.2'); // the signature certificate, not the auth one
    const { soap, xades } = await publishWith(signer);
    const vihf = xmlsec(soap, ['--id-attr:ID', 'urn:oasis:names:tc:SAML:2.0:assertion:Assertion'], card.caCertPath);
    expect(vihf.out).toContain('SignedInfo References (ok/all): 1/1');
    expect(vihf.ok).toBe(true);
    const x = xmlsec(xades, ['--ignore-manifests', '--id-attr:Id', 'http://www.w3.org/2000/09/xmldsig#:Manifest', '--id-attr:Id', 'http://www.w3.org/2000/09/xmldsig#:SignatureProperty', '--id-attr:Id', 'http://uri.etsi.org/01903/v1.3.2#:SignedProperties'], card.caCertPath);
    expect(x.out).toContain('SignedInfo References (ok/all): 3/3');
    expect(x.ok).toBe(true);
    const tampered = Buffer.from(soap.toString('utf8').replace('>INDIRECTE<', '>INDIRECTE_RENFORCEE<'));
    expect(tampered.equals(soap)).toBe(false);
    expect(xmlsec(tampered, ['--id-attr:ID', 'urn:oasis:names:tc:SAML:2.0:assertion:Assertion'], card.caCertPath).ok).toBe(false);
  });

  it('signs RSA-SHA1 too (legacy platforms): verified with the certificate’s public key', async () => {
    const signer = open();
    const data = Buffer.from('<SignedInfo/>');
    const sig = await signer.sign(data, 'rsa-sha1');
    expect(verify('sha1', data, signer.certificate().publicKey, sig)).toBe(true);
    expect(verify('sha256', data, signer.certificate().publicKey, sig)).toBe(false);
  });

  it('with two tokens present, signs with the one named, and refuses to guess when none is named', async () => {
    const second = open({ token: { label: other.tokenLabel }, pin: () => other.pin });
    expect(second.certificate().subject).toContain(`CN=${SECOND.nationalId}`);
    const data = Buffer.from('two cards');
    const sig = await second.sign(data, 'rsa-sha256');
    expect(verify('sha256', data, second.certificate().publicKey, sig)).toBe(true);
    expect(verify('sha256', data, new X509Certificate(open().certificate().raw).publicKey, sig)).toBe(false);
    expect(() => open({ token: {} })).toThrow(/2 tokens match any/);
  });

  it('says "wrong PIN" with the token’s tries state, and never signs', async () => {
    // The login state is the token's, shared by the process's sessions: start from a logged-out token.
    for (const s of opened.splice(0)) await s.close();
    let error: unknown;
    try {
      open({ pin: () => '0000' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TokenError);
    expect((error as TokenError).kind).toBe('wrong-pin');
    expect((error as TokenError).message).toMatch(/wrong PIN/);
    // SoftHSM2 raises CKF_USER_PIN_COUNT_LOW after a failure, as a card does
    expect((error as TokenError).pinTries).toBe('low');
  });

  it('names the missing key or an absent token plainly', () => {
    expect(() => open({ keyLabel: 'NO_SUCH_KEY' })).toThrow(/no private key with this label/);
    expect(() => open({ token: { label: 'CARTE ABSENTE' } })).toThrow(/no token with label "CARTE ABSENTE" is present/);
  });

  it('after the token is pulled out mid-session: a clear "removed" error; once back, the session is reopened and signing resumes', async () => {
    const signer = open({ token: { label: other.tokenLabel }, pin: () => other.pin });
    const data = Buffer.from('before removal');
    expect(verify('sha256', data, signer.certificate().publicKey, await signer.sign(data, 'rsa-sha256'))).toBe(true);
    // Close the other sessions so that the module may be re-initialised (as on a box where one card is in use).
    for (const s of opened.filter((s) => s !== signer)) await s.close();
    const tokenDir = tokenDirOf(other.tokenLabel);
    // Out of SoftHSM2's token directory altogether (a folder left inside would still be read as a token).
    const away = join(dir, 'pulled-out');
    renameSync(tokenDir, away);
    let error: unknown;
    try {
      await signer.sign(Buffer.from('while out'), 'rsa-sha256');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TokenError);
    expect((error as TokenError).message).toMatch(/removed|no token/);
    expect((error as TokenError).kind).toBe('token-removed');
    renameSync(away, tokenDir);
    const after = Buffer.from('after reinsertion');
    expect(verify('sha256', after, signer.certificate().publicKey, await signer.sign(after, 'rsa-sha256'))).toBe(true);
  });
});

describe('drimbox card info and xds provide --pkcs11 (CLI)', () => {
  it('card info lists both cards with their holders, no PIN asked', () => {
    const r = spawnSync(process.execPath, [join(REPO, 'bin/drimbox.js'), 'card', 'info', '--module', SOFTHSM_MODULE], { encoding: 'utf8', env: { ...process.env, ...card.env } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { tokens: { label: string; holder?: { nationalId: string; surname: string; givenName: string; profession: string; idType: string } }[] };
    const holders = Object.fromEntries(out.tokens.map((t) => [t.label, t.holder]));
    expect(holders[card.tokenLabel]).toMatchObject({ nationalId: TEST_HOLDER.nationalId, surname: TEST_HOLDER.surname, givenName: TEST_HOLDER.givenName, profession: 'Médecin', idType: 'RPPS' });
    expect(holders[other.tokenLabel]).toMatchObject({ nationalId: SECOND.nationalId });
    expect(r.stdout).not.toMatch(/PRIVATE KEY|1234/);
  });

  it('xds provide signs on the token (--pkcs11 --token-label --pin-env); xmlsec1 verifies the written VIHF; a wrong PIN exits 1 with the reason', () => {
    const out = join(dir, 'cli-out');
    const reportFile = join(dir, 'report.json');
    writeFileSync(reportFile, JSON.stringify(sampleReport()));
    const kosFile = join(dir, 'kos.dcm');
    writeFileSync(kosFile, pocKos().bytes);
    const xdsConfig = join(dir, 'xds.json');
    writeFileSync(xdsConfig, JSON.stringify({ baseUrl: 'https://dmp.test/si-dmp-server/v2/services', sourceIdOid: '1.2.250.1.999.42.7', lps: { id: 'DRIMBOX-TEST', homologationId: 'HOMOL-1' }, structure: { id: '1750000001', name: 'Cabinet du Parc' } }));
    const args = [join(REPO, 'bin/drimbox.js'), 'xds', 'provide', '--kos', kosFile, '--report', reportFile, '--out', out, '--xds-config', xdsConfig, '--pkcs11', SOFTHSM_MODULE, '--token-label', card.tokenLabel, '--pin-env', 'CARD_PIN'];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...card.env, CARD_PIN: card.pin } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const soap = spawnSync('cat', [join(out, 'soap.xml')]).stdout as Buffer;
    expect(xmlsec(soap, ['--id-attr:ID', 'urn:oasis:names:tc:SAML:2.0:assertion:Assertion'], card.caCertPath).ok).toBe(true);
    const wrong = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...card.env, CARD_PIN: '9999' } });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/wrong PIN/);
    const bare = spawnSync(process.execPath, args.slice(0, -2), { encoding: 'utf8', env: { ...process.env, ...card.env } });
    expect(bare.status).toBe(2);
    expect(bare.stderr).toMatch(/--pin-env/);
  });
});
