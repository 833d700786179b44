import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLSerializer, type Element } from '@xmldom/xmldom';
import { ExclusiveCanonicalization, SignedXml } from 'xml-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSigner } from '../../appliance/src/auth/signer/file-signer.js';
import { el, excC14n, findById, serialize, type XmlElement } from '../../appliance/src/xds/c14n.js';
import { NS } from '../../appliance/src/xds/codes.js';
import type { XmlSignatureAlgorithm } from '../../appliance/src/xds/types.js';
import { signedVihf, vihfAssertionXml, vihfSubjectFromReport } from '../../appliance/src/xds/vihf.js';
import { buildXadesSignature } from '../../appliance/src/xds/xades.js';
import { childElements, descendants, parseXmlSafely } from '../../appliance/src/xds/xml.js';
import { ALGORITHMS, DSIG, rfc4514 } from '../../appliance/src/xds/xmldsig.js';
import { makeTestPki, type TestPki } from '../fixtures/pki/make-test-pki.js';
import { sampleContext, sampleReport } from './xds-helpers.js';

/**
 * The box writes the canonical form of what it signs without a DOM: each case checks it against xml-crypto's
 * exclusive C14N of the parsed document (what the DMP's verifier computes), and the signatures against
 * signatures xml-crypto makes of the same content with the same key (RSA PKCS#1 v1.5 is deterministic).
 */

let dir: string;
let pki: TestPki;
let signer: FileSigner;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drimbox-c14n-'));
  pki = makeTestPki(dir);
  signer = FileSigner.fromPkcs12(readFileSync(pki.signature.p12), pki.signature.p12Password);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const AWKWARD = 'Zoë & "O\'Brien" <x> ]]> tab\there\nline\r\nend \u00a0€ 𝄞';

/** Every element of the tree with its DOM counterpart, walking both in document order. */
function pairs(tree: XmlElement, dom: Element): [XmlElement, Element][] {
  const treeChildren = (tree.children ?? []).filter((c): c is XmlElement => typeof c !== 'string');
  const domChildren = childElements(dom);
  expect(domChildren.length).toBe(treeChildren.length);
  return [[tree, dom], ...treeChildren.flatMap((c, i) => pairs(c, domChildren[i]!))];
}

function checkAgainstXmlCrypto(tree: XmlElement): void {
  const doc = parseXmlSafely(serialize(tree), 'tree');
  for (const [node, element] of pairs(tree, doc.documentElement as unknown as Element)) {
    const { scope } = findById(tree, node.attrs!.find(([n]) => n === 'Id')![1]);
    const expected = new ExclusiveCanonicalization().process(element as never, {});
    expect(excC14n(node, scope), `apex ${node.name}`).toBe(expected);
  }
}

let ids = 0;
/** An element with a unique Id, so that each can be found and canonicalised as an apex. */
const e = (name: string, attrs: Record<string, string> = {}, children: (XmlElement | string)[] = [], xmlns?: Record<string, string>) =>
  el(name, { Id: `n${++ids}`, ...attrs }, children, xmlns);

describe('exclusive C14N written without a DOM', () => {
  it('escapes text and attribute values as C14N does, whatever the characters', () => {
    checkAgainstXmlCrypto(
      e('a:root', { z: AWKWARD, b: 'plain', 'a:attr': AWKWARD }, [AWKWARD, e('a:child', { q: '\t\n\r"<>&\'' }, ['&lt; literally']), e('a:empty')], { a: 'urn:a' }),
    );
  });

  it('declares each namespace where it is first used, sorted; drops unused ones; orders attributes by namespace then name', () => {
    checkAgainstXmlCrypto(
      e(
        'p:root',
        { 'q:late': '1', 'x:first': '2', aa: '3', Zz: '4' },
        [
          e('inner', { 'p:z': '1' }, [e('q:deep', {}, [e('p:deeper')])], { '': 'urn:default' }),
          e('p:same', {}, [e('inner2', {}, [], { '': 'urn:other' })]),
          e('r:redeclared', {}, [e('r:child', {}, [], { r: 'urn:r2' })], { r: 'urn:r1' }),
        ],
        { p: 'urn:p', q: 'urn:q', x: 'urn:b-sorts-before-q', unused: 'urn:unused' },
      ),
    );
  });

  it('undeclares the default namespace for an element in no namespace under one that has it', () => {
    checkAgainstXmlCrypto(e('root', {}, [e('child', {}, ['t'], { '': '' })], { '': 'urn:default' }));
  });

  it('refuses an undeclared prefix, a character XML cannot carry, and an ambiguous Id', () => {
    expect(() => excC14n(el('p:root'))).toThrow(/prefix p is not declared/);
    expect(() => serialize(el('root', {}, ['bell \u0007']))).toThrow(/cannot carry/);
    expect(() => findById(el('root', {}, [el('a', { Id: 'x' }), el('b', { Id: 'x' })]), 'x')).toThrow(/found 2/);
  });
});

function valuesOf(xml: string): { digests: string[]; signature: string } {
  const doc = parseXmlSafely(xml, 'signed');
  return {
    digests: descendants(doc, NS.ds, 'Reference')
      .filter((r) => r.parentNode && (r.parentNode as Element).localName === 'SignedInfo')
      .map((r) => descendants(r, NS.ds, 'DigestValue')[0]!.textContent ?? ''),
    signature: descendants(doc, NS.ds, 'SignatureValue')[0]!.textContent ?? '',
  };
}

function xmlCryptoSigner(algorithm: XmlSignatureAlgorithm, objects?: { content: string }[]): SignedXml {
  return new SignedXml({
    privateKey: signer.tlsMaterial().key,
    signatureAlgorithm: ALGORITHMS[algorithm].signature,
    canonicalizationAlgorithm: DSIG.excC14n,
    ...(objects ? { objects } : {}),
  });
}

describe('signatures made without a DOM', () => {
  it.each(['rsa-sha256', 'rsa-sha1'] as const)('VIHF (%s): same digest and signature value as xml-crypto signing the same assertion', async (algorithm) => {
    const context = sampleContext({ signatureAlgorithm: algorithm, lps: { id: 'LPS<&>', name: AWKWARD, version: '1 "2"', homologationId: "H'1" } });
    const report = sampleReport({ legalAuthenticator: { id: { value: '810001234567', issuerOid: '1.2.250.1.71.4.2.1' }, family: AWKWARD, given: 'Anne-Sophie', prefix: 'DR' } });
    const subject = vihfSubjectFromReport(report, context);
    const now = new Date('2024-01-15T10:00:00Z');
    const ours = await signedVihf(subject, context, signer, now, '_fixed-id');

    const reference = xmlCryptoSigner(algorithm);
    reference.addReference({ xpath: '/*', transforms: [DSIG.envelopedSignature, DSIG.excC14n], digestAlgorithm: ALGORITHMS[algorithm].digest });
    reference.computeSignature(vihfAssertionXml(subject, context, rfc4514(signer.certificate().subject), now, '_fixed-id'), {
      prefix: 'ds',
      location: { reference: "/*/*[local-name(.)='Issuer']", action: 'after' },
    });
    expect(valuesOf(ours)).toEqual(valuesOf(reference.getSignedXml()));
  });

  it('IHE DSG document: same digests and signature value as xml-crypto signing the same objects', async () => {
    const documents = [{ uniqueId: '1.2.250.1.999.1', bytes: Buffer.from('KOS bytes') }];
    const ids = { signature: 'Signature-fixed', signedProperties: 'SignedProperties-fixed' };
    const ours = (await buildXadesSignature({ submissionSetUniqueId: '1.2.250.1.999.2', documents, algorithm: 'rsa-sha256', signer, now: new Date('2024-01-15T10:00:00Z'), ids })).toString('utf8');
    const objects = descendants(parseXmlSafely(ours, 'xades'), NS.ds, 'Object').map((o) => ({ content: new XMLSerializer().serializeToString(childElements(o)[0]!) }));

    const reference = xmlCryptoSigner('rsa-sha256', objects);
    const digestAlgorithm = ALGORITHMS['rsa-sha256'].digest;
    reference.addReference({ xpath: "//*[@Id='IHEManifest']", transforms: [DSIG.excC14n], digestAlgorithm, type: DSIG.manifestType });
    reference.addReference({ xpath: "//*[@Id='purposeOfSignature']", transforms: [DSIG.excC14n], digestAlgorithm });
    reference.addReference({ xpath: `//*[@Id='${ids.signedProperties}']`, transforms: [DSIG.excC14n], digestAlgorithm, type: DSIG.xadesSignedPropertiesType });
    reference.computeSignature('<Enveloping/>', { prefix: 'ds', attrs: { Id: ids.signature } });
    expect(valuesOf(ours)).toEqual(valuesOf(reference.getSignatureXml()));
    expect(ours).toContain(`<ds:SignatureProperty Id="purposeOfSignature" Target="#${ids.signature}">`);
  });
});
