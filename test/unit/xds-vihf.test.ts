import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignedXml } from 'xml-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSigner } from '../../appliance/src/auth/signer/file-signer.js';
import type { SignatureAlgorithmName, Signer } from '../../appliance/src/auth/signer/signer.js';
import { NS } from '../../appliance/src/xds/codes.js';
import { signedVihf, vihfSubjectFromReport } from '../../appliance/src/xds/vihf.js';
import { childElements, descendants, parseXmlSafely } from '../../appliance/src/xds/xml.js';
import { makeTestPki, type TestPki } from '../fixtures/pki/make-test-pki.js';
import { sampleContext, sampleReport } from './xds-helpers.js';

let dir: string;
let pki: TestPki;
let signer: FileSigner;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drimbox-vihf-'));
  pki = makeTestPki(dir);
  signer = FileSigner.fromPkcs12(readFileSync(pki.signature.p12), pki.signature.p12Password);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function attributes(xml: string): Record<string, string[]> {
  const doc = parseXmlSafely(xml, 'vihf');
  const out: Record<string, string[]> = {};
  for (const a of descendants(doc, NS.saml, 'Attribute')) {
    out[a.getAttribute('Name')!] = descendants(a, NS.saml, 'AttributeValue').map((v) => {
      const ce = v.getElementsByTagNameNS(NS.hl7, '*')[0];
      return ce ? `${ce.localName}:${ce.getAttribute('code')}@${ce.getAttribute('codeSystem')}` : (v.textContent ?? '');
    });
  }
  return out;
}

function verifies(xml: string): boolean {
  const doc = parseXmlSafely(xml, 'vihf');
  const signature = descendants(doc, NS.ds, 'Signature')[0]!;
  const check = new SignedXml({ publicCert: readFileSync(pki.signature.certPem, 'utf8'), getCertFromKeyInfo: () => null });
  check.loadSignature(signature.toString());
  try {
    return check.checkSignature(xml);
  } catch {
    return false;
  }
}

describe('VIHF from a report', () => {
  it('carries the ci-sis §4 attributes: the validating radiologist, the structure, the patient INS, the software', async () => {
    const xml = await signedVihf(vihfSubjectFromReport(sampleReport(), sampleContext()), sampleContext(), signer, new Date('2024-01-15T10:00:00Z'));
    expect(attributes(xml)).toEqual({
      VIHF_Version: ['3.0'],
      Secteur_Activite: ['SA07^1.2.250.1.71.4.2.4'],
      Ressource_URN: ['urn:dmp'],
      'urn:oasis:names:tc:xspa:1.0:subject:subject-id': ['Jeanne RADIO'],
      Identifiant_Structure: ['1750000001'],
      LPS_ID: ['DRIMBOX-TEST'],
      LPS_Nom: ['DRIMbox'],
      LPS_ID_HOMOLOGATION_DMP: ['HOMOL-TEST-1'],
      LPS_Version: ['0.1.0'],
      'urn:oasis:names:tc:xacml:2.0:resource:resource-id': ['279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH'],
      Authentification_Mode: ['INDIRECTE'],
      'urn:oasis:names:tc:xspa:1.0:subject:purposeofuse': ['PurposeOfUse:normal@1.2.250.1.213.1.1.4.248'],
      'urn:oasis:names:tc:xacml:2.0:subject:role': ['Role:10@1.2.250.1.71.1.2.7', 'Role:SM44@1.2.250.1.71.4.2.5'],
    });
    const doc = parseXmlSafely(xml, 'vihf');
    expect(descendants(doc, NS.saml, 'NameID')[0]!.textContent).toBe('810001234567');
    expect(descendants(doc, NS.saml, 'Issuer')[0]!.textContent).toBe('CN=DRIMbox SIGNATURE,OU=499700367909006,O=CABINET DE RADIOLOGIE TEST,ST=Paris (75),C=FR');
    expect(descendants(doc, NS.saml, 'AuthnContextClassRef')[0]!.textContent).toBe('urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient');
    expect(doc.documentElement!.getAttribute('IssueInstant')).toBe('2024-01-15T10:00:00.000Z');
    expect(doc.documentElement!.getAttribute('ID')).toMatch(/^_[0-9a-f-]{36}$/);
  });

  it('is signed (enveloped, exc-c14n, RSA-SHA256) right after Issuer, and a tampered copy fails', async () => {
    const xml = await signedVihf(vihfSubjectFromReport(sampleReport(), sampleContext()), sampleContext(), signer);
    const doc = parseXmlSafely(xml, 'vihf');
    const children = childElements(doc.documentElement!).map((e) => e.localName);
    expect(children.slice(0, 3)).toEqual(['Issuer', 'Signature', 'Subject']);
    expect(xml).toContain('Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"');
    expect(xml).toContain('Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"');
    expect(verifies(xml)).toBe(true);
    expect(verifies(xml.replace('279035121518989', '279035121518990'))).toBe(false);
  });

  it('signs with RSA-SHA1 when the context asks for the legacy algorithm', async () => {
    const legacy = sampleContext({ signatureAlgorithm: 'rsa-sha1' });
    const xml = await signedVihf(vihfSubjectFromReport(sampleReport(), legacy), legacy, signer);
    expect(xml).toContain('Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"');
    expect(xml).toContain('Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"');
    expect(verifies(xml)).toBe(true);
  });

  it('asks only the Signer interface to sign (a token-backed signer works the same)', async () => {
    const calls: SignatureAlgorithmName[] = [];
    const tokenLike: Signer = {
      certificateChainPem: () => signer.certificateChainPem(),
      certificate: () => signer.certificate(),
      sign: async (data, algorithm) => {
        calls.push(algorithm);
        await new Promise((r) => setTimeout(r, 5));
        return signer.sign(data, algorithm);
      },
    };
    const xml = await signedVihf(vihfSubjectFromReport(sampleReport(), sampleContext()), sampleContext(), tokenLike);
    expect(calls).toEqual(['rsa-sha256']);
    expect(verifies(xml)).toBe(true);
  });

  it('refuses a report without a validating radiologist', () => {
    expect(() => vihfSubjectFromReport(sampleReport({ legalAuthenticator: undefined }), sampleContext())).toThrow(/validating radiologist/);
  });
});
