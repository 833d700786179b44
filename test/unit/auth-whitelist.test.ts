import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  WhitelistRejected,
  findDomainByCertificate,
  findDomainByHost,
  loadCertificates,
  parseDistinguishedName,
  parseWhitelist,
  sameDistinguishedName,
  verifyWhitelist,
} from '../../appliance/src/auth/whitelist/index.js';
import { ANS_UNSIGNED_SAMPLE, readFixture, signWhitelist } from '../fixtures/psc/whitelist/sign-whitelist.js';
import { crlRevoking, issueCertificate } from '../fixtures/pki/openssl-ca.js';

const fixturePath = (name: string) => new URL(`../fixtures/psc/whitelist/${name}`, import.meta.url).pathname;
const testCaFiles = { certPem: fixturePath('test-ca.pem'), keyPem: fixturePath('test-ca.key') };

const unsigned = readFileSync(ANS_UNSIGNED_SAMPLE, 'utf8');
// Real ANS list, signed by ANS (ansforge/DRIM-M_DATA "Liste blanche signée"), kept byte for byte.
const ansSigned = readFixture('ans-LISTEBLANCHE_DRIM-M_SIGNEE_TEST.xml');
const igcTestRoot = loadCertificates(readFixture('igc-sante-test-racine.pem'));
const igcTestOrganisations = loadCertificates(readFixture('igc-sante-test-ac-organisations.pem'));
const testCa = loadCertificates(readFixture('test-ca.pem'));
// The test PKI was made on 2026-11-27 and lasts 20 years; the ANS signer is valid 2026-09-14 to 2029-09-14.
const NOW = new Date('2027-01-15T00:00:00Z');
const SIGNED_AT = new Date('2027-01-10T10:00:00Z');

let signedCopy: string;
let rogueCopy: string;

beforeAll(async () => {
  signedCopy = await signWhitelist(unsigned, { keyPem: readFixture('test-signer.key'), certPem: readFixture('test-signer.pem') }, SIGNED_AT);
  rogueCopy = await signWhitelist(unsigned, { keyPem: readFixture('rogue-signer.key'), certPem: readFixture('rogue-signer.pem') }, SIGNED_AT);
});

function refusal(xml: string, trust: Parameters<typeof verifyWhitelist>[1] = { anchors: testCa, now: NOW }): string {
  try {
    verifyWhitelist(xml, trust);
  } catch (err) {
    expect(err).toBeInstanceOf(WhitelistRejected);
    return (err as Error).message;
  }
  throw new Error('the whitelist was accepted');
}

describe('parseWhitelist on the ANS unsigned sample', () => {
  it('reads every domain with its hosts and operator certificate DN', () => {
    const list = parseWhitelist(unsigned);
    expect(list.generatedAt.toISOString()).toBe('2024-04-22T11:08:12.000Z');
    expect(list.domains).toHaveLength(6);
    expect(list.domains.map((d) => d.db)).toEqual([
      'db1.111.mesimagesmedicales.fr',
      'db1.112.mesimagesmedicales.fr',
      'db1.345.mesimagesmedicales.fr',
      'db2.345.mesimagesmedicales.fr',
      'db1.867.mesimagesmedicales.fr',
      'db2.867.mesimagesmedicales.fr',
    ]);
    expect(list.domains.map((d) => d.vi)).toContain('vi2.867.mesimagesmedicales.fr');
    const first = list.domains[0]!;
    expect(first).toMatchObject({ identifiant: '1', denomination: 'Operateur 01 test', supportContact: 'supportdrim-m@op01.fr, 07 33 65 18 37' });
    expect(first.updatedAt.toISOString()).toBe('2024-04-23T20:36:12.000Z');
    expect(first.operatorCertificateDn).toBe('CN=db1.111.mesimagesmedicales.fr,OU=31598513500187,O=editeur,ST=Paris (75),C=FR');
    expect(first.operatorDn).toEqual([
      { type: 'CN', value: 'db1.111.mesimagesmedicales.fr' },
      { type: 'OU', value: '31598513500187' },
      { type: 'O', value: 'editeur' },
      { type: 'ST', value: 'Paris (75)' },
      { type: 'C', value: 'FR' },
    ]);
  });

  it('finds a calling box by db or vi host, and by its certificate subject in Node form', () => {
    const list = parseWhitelist(unsigned);
    expect(findDomainByHost(list, 'DB2.345.mesimagesmedicales.fr:443')?.identifiant).toBe('2');
    expect(findDomainByHost(list, 'vi1.867.mesimagesmedicales.fr.')?.db).toBe('db1.867.mesimagesmedicales.fr');
    expect(findDomainByHost(list, 'db9.345.mesimagesmedicales.fr')).toBeUndefined();
    expect(findDomainByHost(list, 'evil.db1.111.mesimagesmedicales.fr')).toBeUndefined();

    // X509Certificate.subject prints the RDNs in certificate order, one per line.
    const peer = parseDistinguishedName('C=FR\nST=Marseille (13)\nO=editeur\nOU=49188397100039\nCN=db2.345.mesimagesmedicales.fr');
    expect(findDomainByCertificate(list, peer)?.db).toBe('db2.345.mesimagesmedicales.fr');
    const sameOperatorOtherBox = parseDistinguishedName('C=FR\nST=Marseille (13)\nO=editeur\nOU=49188397100039\nCN=db3.345.mesimagesmedicales.fr');
    expect(findDomainByCertificate(list, sameOperatorOtherBox)).toBeUndefined();
    const missingAttribute = parseDistinguishedName('C=FR\nO=editeur\nOU=49188397100039\nCN=db2.345.mesimagesmedicales.fr');
    expect(findDomainByCertificate(list, missingAttribute)).toBeUndefined();
  });

  it('refuses DTDs and entities, unknown or missing elements, bad hosts and other formats', () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>${unsigned.replace(/^<\?xml[^>]*>/, '')}`;
    expect(() => parseWhitelist(bomb)).toThrow(/DTDs and entity declarations/);
    const external = unsigned.replace('<ListeBlancheDRIM-M', '<!DOCTYPE x SYSTEM "file:///etc/passwd"><ListeBlancheDRIM-M');
    expect(() => parseWhitelist(external)).toThrow(/DTDs/);
    expect(() => parseWhitelist(unsigned.replace('<Denomination>Operateur 01 test</Denomination>', ''))).toThrow(/Domaine #1: Denomination is missing/);
    expect(() => parseWhitelist(unsigned.replace('<SupportContact>', '<Extra>x</Extra><SupportContact>'))).toThrow(/unexpected element Extra/);
    expect(() => parseWhitelist(unsigned.replace('db1.111.mesimagesmedicales.fr</db>', 'db1.111.mesimagesmedicales.fr/../x</db>'))).toThrow(/is not a host name/);
    expect(() => parseWhitelist(unsigned.replace('versionFormat="1.0.0"', 'versionFormat="2.0.0"'))).toThrow(/versionFormat "2.0.0"/);
    expect(() => parseWhitelist(unsigned.replace('xmlns="https://github.com/ansforge/DRIM-M_DATA"', 'xmlns="urn:other"'))).toThrow(/root element/);
    expect(() => parseWhitelist(unsigned.replace('</ListeDomaines>', '</ListeDomaines><ListeDomaines/>'))).toThrow(/repeated/);
    expect(() => parseWhitelist(unsigned.replace('2024-04-22T11:08:12Z', '22/04/2024'))).toThrow(/not a UTC timestamp/);
    expect(() => parseWhitelist(unsigned.replace('</ListeBlancheDRIM-M>', ''))).toThrow(/XML/);
  });
});

describe('distinguished names', () => {
  it('compares RFC 4514 and Node forms as attribute sets, ignoring case and spacing, honouring escapes', () => {
    const a = parseDistinguishedName('CN=db1.test.fr,OU=123,O=Foo\\, Inc,ST=Côte-d\'Or (21),C=FR');
    expect(a.find((x) => x.type === 'O')?.value).toBe('Foo, Inc');
    const b = parseDistinguishedName("C=fr\nST=Côte-d'Or  (21)\nO=foo\\, inc\nOU=123\nCN=DB1.test.fr");
    expect(sameDistinguishedName(a, b)).toBe(true);
    expect(sameDistinguishedName(a, parseDistinguishedName('CN=db1.test.fr,OU=124,O=Foo\\, Inc,ST=Côte-d\'Or (21),C=FR'))).toBe(false);
    expect(parseDistinguishedName('CN=caf\\C3\\A9')[0]?.value).toBe('café');
    expect(() => parseDistinguishedName('CN=#0403')).toThrow(/BER/);
    expect(() => parseDistinguishedName('garbage')).toThrow(/without "="/);
  });
});

describe('verifyWhitelist', () => {
  it('verifies the list signed by ANS (XPath Filter 2, exc-c14n, SigningCertificateV2 sha512) up to the IGC-Santé TEST root', () => {
    const verified = verifyWhitelist(ansSigned, { anchors: igcTestRoot, now: NOW });
    expect(verified.signingTime.toISOString()).toBe('2026-09-17T08:27:36.000Z');
    expect(verified.signer.subject).toContain('CN=Liste Blanche DRIM-M');
    expect(verified.signer.subject).toContain('OU=318751275100020');
    expect(verified.chain.map((s) => parseDistinguishedName(s).find((a) => a.type === 'CN')?.value)).toEqual([
      'Liste Blanche DRIM-M',
      'TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS',
      'TEST AC RACINE IGC-SANTE ELEMENTAIRE',
    ]);
    expect(verified.whitelist.domains).toHaveLength(17);
    expect(findDomainByHost(verified.whitelist, 'db3.test.mesimagesmedicales.fr')?.denomination).toBe('ANS');
    // An intermediate CA may be the configured anchor too.
    expect(verifyWhitelist(ansSigned, { anchors: igcTestOrganisations, now: NOW }).chain).toHaveLength(2);
  });

  it('refuses the ANS list once modified, or with another XPath filter, or against other anchors', () => {
    const trust = { anchors: igcTestRoot, now: NOW };
    expect(refusal(ansSigned.replace('db7.test.mesimagesmedicales.fr</db>', 'db8.test.mesimagesmedicales.fr</db>'), trust)).toMatch(/does not verify/);
    expect(refusal(ansSigned.replace('Filter="subtract">/descendant::ds:Signature', 'Filter="subtract">/descendant::ds:Signature|//*'), trust)).toMatch(
      /must be exactly subtract/,
    );
    expect(refusal(ansSigned, { anchors: testCa, now: NOW })).toMatch(/certificate chain: openssl verify: certificate at depth \d: (self-signed certificate|unable to get local issuer certificate)/);
    expect(refusal(ansSigned, { anchors: igcTestRoot, now: new Date('2030-01-01T00:00:00Z') })).toMatch(/certificate chain: openssl verify: certificate at depth \d: certificate has expired/);
  });

  it('verifies a copy of the ANS sample signed XAdES-B with the test key', () => {
    const verified = verifyWhitelist(signedCopy, { anchors: testCa, now: NOW });
    expect(verified.signingTime.toISOString()).toBe(SIGNED_AT.toISOString());
    expect(verified.whitelist.domains.map((d) => d.db)).toEqual(parseWhitelist(unsigned).domains.map((d) => d.db));
    expect(verified.signer.fingerprint256).toBe(new X509Certificate(readFixture('test-signer.pem')).fingerprint256);
  });

  it('refuses the unsigned sample', () => {
    expect(refusal(unsigned)).toMatch(/not signed/);
  });

  it('refuses a signed copy whose content, signing time or signature value was changed', () => {
    expect(refusal(signedCopy.replace('<db>db1.345.mesimagesmedicales.fr</db>', '<db>db1.666.mesimagesmedicales.fr</db>'))).toMatch(/does not verify/);
    const extra = signedCopy.replace(
      '</ListeDomaines>',
      '<Domaine><Identifiant>9</Identifiant><db>db9.evil.fr</db><vi>vi9.evil.fr</vi><Denomination>x</Denomination><DNCertificatOperateur>CN=db9.evil.fr</DNCertificatOperateur><SupportContact>x</SupportContact><DateMAJ>2024-04-23T20:36:12Z</DateMAJ></Domaine></ListeDomaines>',
    );
    expect(refusal(extra)).toMatch(/does not verify/);
    expect(refusal(signedCopy.replace(/<xades:SigningTime>[^<]+</, '<xades:SigningTime>2027-01-01T00:00:00Z<'))).toMatch(/does not verify/);
    expect(refusal(signedCopy.replace(/<ds:SignatureValue>(.)/, (_m, c: string) => `<ds:SignatureValue>${c === 'A' ? 'B' : 'A'}`))).toMatch(
      /does not verify|invalid signature/,
    );
  });

  it('pins the full subject: the right CN under another structure\'s OU is refused', async () => {
    const impostor = issueCertificate(testCaFiles, '/C=FR/O=CLINIQUE QUELCONQUE/OU=499999999900017/CN=Liste Blanche DRIM-M', 'keyUsage=critical,digitalSignature,nonRepudiation\nbasicConstraints=CA:FALSE');
    const signed = await signWhitelist(unsigned, { keyPem: readFileSync(impostor.keyPem, 'utf8'), certPem: readFileSync(impostor.certPem, 'utf8') }, SIGNED_AT);
    expect(refusal(signed)).toMatch(/expected CN=Liste Blanche DRIM-M,OU=318751275100020 \(OU=318751275100020 differs\)/);
  });

  it('leaves path validation to OpenSSL: a signer certificate not made for signing is refused (key usage)', async () => {
    // Accepted by the step-by-step checks this replaced: they never looked at key usage.
    const notASigner = issueCertificate(testCaFiles, '/C=FR/O=DRIMBOX TEST/OU=318751275100020/CN=Liste Blanche DRIM-M', 'keyUsage=critical,keyEncipherment\nbasicConstraints=CA:FALSE');
    const signed = await signWhitelist(unsigned, { keyPem: readFileSync(notASigner.keyPem, 'utf8'), certPem: readFileSync(notASigner.certPem, 'utf8') }, SIGNED_AT);
    expect(refusal(signed)).toMatch(/openssl verify: certificate at depth 0: unsuitable certificate purpose/);
  });

  it('checks revocation when CRLs are configured: a revoked signer is refused', () => {
    const crl = crlRevoking(testCaFiles, [fixturePath('test-signer.pem')]);
    expect(refusal(signedCopy, { anchors: testCa, now: NOW, crlPem: crl })).toMatch(/certificate revoked/);
    const clean = crlRevoking(testCaFiles, []);
    expect(verifyWhitelist(signedCopy, { anchors: testCa, now: NOW, crlPem: clean }).signer.subject).toContain('CN=Liste Blanche DRIM-M');
  });

  it('refuses wrapping: a second signature, or one moved out of the root', () => {
    const sig = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(signedCopy)![0];
    expect(refusal(signedCopy.replace('<ListeDomaines>', `<ListeDomaines>${sig}`))).toMatch(/2 signatures found/);
    const moved = signedCopy.replace(sig, '').replace('<ListeDomaines>', `<ListeDomaines>${sig}`);
    expect(refusal(moved)).toMatch(/not enveloped/);
  });

  it('refuses a signer that does not chain to the anchors, an expired chain, or another signer name', () => {
    expect(refusal(rogueCopy)).toMatch(/certificate chain: openssl verify: certificate at depth \d: (self-signed certificate|unable to get local issuer certificate)/);
    expect(refusal(signedCopy, { anchors: igcTestRoot, now: NOW })).toMatch(/certificate chain: openssl verify: certificate at depth \d: unable to get local issuer certificate/);
    expect(refusal(signedCopy, { anchors: testCa, now: new Date('2050-01-01T00:00:00Z') })).toMatch(/certificate chain: openssl verify: certificate at depth \d: certificate has expired/);
    expect(() => verifyWhitelist(signedCopy, { anchors: testCa, now: NOW, signerSubject: 'CN=Autre signataire,OU=318751275100020' })).toThrow(/expected CN=Autre signataire/);
    expect(refusal(signedCopy, { anchors: [], now: NOW })).toMatch(/no trust anchor/);
  });
});
