import { spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSigner } from '../../appliance/src/auth/signer/file-signer.js';
import { prepareProvideAndRegister } from '../../appliance/src/xds/client.js';
import { NS } from '../../appliance/src/xds/codes.js';
import { parseContentType, readAll, readMultipart } from '../../appliance/src/xds/mtom.js';
import { buildProvideAndRegister, type BuiltSubmission } from '../../appliance/src/xds/submission.js';
import { vihfSubjectFromReport } from '../../appliance/src/xds/vihf.js';
import { descendants, parseXmlSafely } from '../../appliance/src/xds/xml.js';
import { makeTestPki, type TestPki } from '../fixtures/pki/make-test-pki.js';
import { pocKos, sampleContext, sampleReport } from '../unit/xds-helpers.js';

/**
 * xmlsec1 (Debian) as the independent verifier of what goes on the wire: the VIHF inside the exact SOAP part of the
 * MTOM body, and the XAdES signature document. Trust is the test CA only (--trusted-pem), so the certificate chain is
 * checked too. Manifest references (urn:oid:...) are application-level in IHE DSG: xmlsec1 is told to leave them
 * (--ignore-manifests; the Manifest element itself is covered by SignedInfo) and their digests are checked here.
 */

const REPO = join(import.meta.dirname, '../..');
const XMLSEC_VIHF = ['--id-attr:ID', 'urn:oasis:names:tc:SAML:2.0:assertion:Assertion'];
const XMLSEC_XADES = [
  '--ignore-manifests',
  '--id-attr:Id', 'http://www.w3.org/2000/09/xmldsig#:Manifest',
  '--id-attr:Id', 'http://www.w3.org/2000/09/xmldsig#:SignatureProperty',
  '--id-attr:Id', 'http://uri.etsi.org/01903/v1.3.2#:SignedProperties',
];

let dir: string;
let pki: TestPki;
let signer: FileSigner;

function xmlsec(file: string, extra: string[], trusted: string): { ok: boolean; out: string } {
  const r = spawnSync('xmlsec1', ['--verify', ...extra, '--trusted-pem', trusted, file], { encoding: 'utf8' });
  return { ok: r.status === 0, out: r.stdout + r.stderr };
}

function write(name: string, data: string | Buffer): string {
  const file = join(dir, name);
  writeFileSync(file, data);
  return file;
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

async function wireParts(contentType: string, body: Buffer): Promise<{ soap: Buffer; parts: Map<string, Buffer> }> {
  const ct = parseContentType(contentType);
  const parts = new Map<string, Buffer>();
  let soap: Buffer = Buffer.alloc(0);
  for await (const p of readMultipart(once(body), ct.params.boundary!)) {
    const bytes = await readAll(p.body, 1 << 26, 'part');
    if (`<${p.contentId}>` === ct.params.start) soap = bytes;
    else parts.set(p.contentId!, bytes);
  }
  return { soap, parts };
}

async function publish(s: FileSigner, algorithm: 'rsa-sha256' | 'rsa-sha1' = 'rsa-sha256') {
  const context = sampleContext({ signatureAlgorithm: algorithm });
  const report = sampleReport();
  const built = await buildProvideAndRegister({ report, kos: pocKos(), context, signer: s });
  const prepared = await prepareProvideAndRegister(built, vihfSubjectFromReport(report, context), context, s, 'https://dmp.test/repository');
  return { built, wire: await wireParts(prepared.contentType, Buffer.concat(prepared.chunks)) };
}

function signatureDocument(built: BuiltSubmission): Buffer {
  return built.documents.find((d) => d.mimeType === 'text/xml')!.bytes;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drimbox-xds-sig-'));
  pki = makeTestPki(join(dir, 'pki'));
  signer = FileSigner.fromPkcs12(readFileSync(pki.signature.p12), pki.signature.p12Password);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('VIHF signature, verified by xmlsec1 on the bytes sent', () => {
  it('verifies in the SOAP part of the MTOM body; a tampered copy fails', async () => {
    const { wire } = await publish(signer);
    const ok = xmlsec(write('envelope.xml', wire.soap), XMLSEC_VIHF, pki.ca.certPem);
    expect(ok.out).toContain('SignedInfo References (ok/all): 1/1');
    expect(ok.ok).toBe(true);
    const tampered = wire.soap.toString('utf8').replace('<saml2:AttributeValue>INDIRECTE</saml2:AttributeValue>', '<saml2:AttributeValue>INDIRECTE_RENFORCEE</saml2:AttributeValue>');
    expect(tampered).not.toBe(wire.soap.toString('utf8'));
    expect(xmlsec(write('envelope-tampered.xml', tampered), XMLSEC_VIHF, pki.ca.certPem).ok).toBe(false);
  });

  it('verifies with legacy RSA-SHA1 too', async () => {
    const { wire } = await publish(signer, 'rsa-sha1');
    expect(wire.soap.toString()).toContain('xmldsig#rsa-sha1');
    expect(xmlsec(write('envelope-sha1.xml', wire.soap), XMLSEC_VIHF, pki.ca.certPem).ok).toBe(true);
  });

  it('fails when the signing certificate does not chain to the trusted CA', async () => {
    const rogue = FileSigner.fromPkcs12(readFileSync(pki.untrusted.p12), pki.untrusted.p12Password);
    const { wire } = await publish(rogue);
    expect(xmlsec(write('envelope-rogue.xml', wire.soap), XMLSEC_VIHF, pki.ca.certPem).ok).toBe(false);
    expect(xmlsec(write('envelope-rogue2.xml', wire.soap), XMLSEC_VIHF, pki.untrusted.caCertPem).ok).toBe(true);
  });
});

describe('XAdES signature document (IHE DSG), verified by xmlsec1', () => {
  it('verifies as sent in its MIME part; a tampered Manifest or SignedProperties fails', async () => {
    const { built, wire } = await publish(signer);
    const sigBytes = wire.parts.get(built.contentIds[built.ids.signatureEntryUUID]!)!;
    expect(sigBytes.equals(signatureDocument(built))).toBe(true);
    const ok = xmlsec(write('xades.xml', sigBytes), XMLSEC_XADES, pki.ca.certPem);
    expect(ok.out).toContain('SignedInfo References (ok/all): 3/3');
    expect(ok.ok).toBe(true);
    const text = sigBytes.toString('utf8');
    const kosDigest = createHash('sha256').update(pocKos().bytes).digest('base64');
    expect(xmlsec(write('xades-t1.xml', text.replace(kosDigest, createHash('sha256').update('other').digest('base64'))), XMLSEC_XADES, pki.ca.certPem).ok).toBe(false);
    expect(xmlsec(write('xades-t2.xml', text.replace(/<xades:SigningTime>[^<]+/, '<xades:SigningTime>2020-01-01T00:00:00Z')), XMLSEC_XADES, pki.ca.certPem).ok).toBe(false);
    expect(xmlsec(write('xades-t3.xml', text.replace('>1.2.840.10065.1.12.1.14<', '>1.2.840.10065.1.12.1.1<')), XMLSEC_XADES, pki.ca.certPem).ok).toBe(false);
  });

  it('lists the submission set and the KOS in the IHE Manifest, with purpose and XAdES signing certificate', async () => {
    const { built } = await publish(signer);
    const doc = parseXmlSafely(signatureDocument(built).toString('utf8'), 'xades');
    const manifest = descendants(doc, NS.ds, 'Manifest')[0]!;
    expect(manifest.getAttribute('Id')).toBe('IHEManifest');
    const refs = descendants(manifest, NS.ds, 'Reference').map((r) => [r.getAttribute('URI'), descendants(r, NS.ds, 'DigestValue')[0]!.textContent]);
    expect(refs).toEqual([
      [`urn:oid:${built.ids.submissionSetUniqueId}`, 'AA=='],
      [`urn:oid:${pocKos().facts.sopInstanceUid}`, createHash('sha256').update(pocKos().bytes).digest('base64')],
    ]);
    const purpose = descendants(doc, NS.ds, 'SignatureProperty')[0]!;
    expect(purpose.getAttribute('Id')).toBe('purposeOfSignature');
    expect(purpose.textContent).toBe('1.2.840.10065.1.12.1.14');
    expect(purpose.getAttribute('Target')).toBe(`#${doc.documentElement!.getAttribute('Id')}`);
    const cert = new X509Certificate(readFileSync(pki.signature.certPem));
    expect(descendants(doc, NS.xades, 'CertDigest')[0]!.getElementsByTagNameNS(NS.ds, 'DigestValue')[0]!.textContent).toBe(createHash('sha256').update(cert.raw).digest('base64'));
    expect(descendants(doc, NS.ds, 'X509SerialNumber')[0]!.textContent).toBe(BigInt(`0x${cert.serialNumber}`).toString());
    expect(descendants(doc, NS.ds, 'X509IssuerName')[0]!.textContent).toBe('CN=TEST AC DRIMBOX ELEMENTAIRE ORGANISATIONS,OU=IGC-SANTE TEST,O=DRIMBOX TEST,C=FR');
    expect(descendants(doc, NS.xades, 'SignaturePolicyImplied')).toHaveLength(1);
  });
});

describe('drimbox xds provide (CLI)', () => {
  it('writes the HTTP body and headers the box would send; its VIHF and XAdES verify with xmlsec1', async () => {
    const out = join(dir, 'cli-out');
    const reportFile = write('report.json', JSON.stringify(sampleReport()));
    const kosFile = write('kos.dcm', pocKos().bytes);
    const xdsConfig = write('xds.json', JSON.stringify({
      baseUrl: 'https://dmp.test/si-dmp-server/v2/services',
      sourceIdOid: '1.2.250.1.999.42.7',
      lps: { id: 'DRIMBOX-TEST', homologationId: 'HOMOL-1' },
      structure: { id: '1750000001', name: 'Cabinet du Parc' },
    }));
    const r = spawnSync(
      process.execPath,
      [join(REPO, 'bin/drimbox.js'), 'xds', 'provide', '--kos', kosFile, '--report', reportFile, '--out', out, '--xds-config', xdsConfig, '--p12', pki.signature.p12, '--p12-pass-env', 'TEST_P12_PASS'],
      { encoding: 'utf8', env: { ...process.env, TEST_P12_PASS: pki.signature.p12Password } },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout) as { url: string; kosUniqueId: string };
    expect(summary.url).toBe('https://dmp.test/si-dmp-server/v2/services/repository');
    expect(summary.kosUniqueId).toBe(pocKos().facts.sopInstanceUid);
    const request = JSON.parse(readFileSync(join(out, 'request.json'), 'utf8')) as { headers: Record<string, string> };
    const body = readFileSync(join(out, 'body.bin'));
    expect(Number(request.headers['Content-Length'])).toBe(body.length);
    const wire = await wireParts(request.headers['Content-Type']!, body);
    expect(wire.soap.equals(readFileSync(join(out, 'soap.xml')))).toBe(true);
    expect(xmlsec(join(out, 'soap.xml'), XMLSEC_VIHF, pki.ca.certPem).ok).toBe(true);
    expect(xmlsec(join(out, 'signature.xml'), XMLSEC_XADES, pki.ca.certPem).ok).toBe(true);
    expect([...wire.parts.values()].some((p) => p.equals(pocKos().bytes))).toBe(true);
  });

  it('says what is missing instead of failing obscurely', () => {
    const r = spawnSync(process.execPath, [join(REPO, 'bin/drimbox.js'), 'xds', 'provide', '--kos', '/nonexistent.dcm', '--report', '/nonexistent.json', '--out', join(dir, 'x'), '--xds-config', join(dir, 'xds.json'), '--p12', pki.signature.p12, '--p12-pass', 'wrong'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no such file|integrity check failed/);
  });
});
