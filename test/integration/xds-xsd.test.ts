import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSigner } from '../../appliance/src/auth/signer/file-signer.js';
import { prepareProvideAndRegister } from '../../appliance/src/xds/client.js';
import { parseContentType, readAll, readMultipart } from '../../appliance/src/xds/mtom.js';
import { findDocumentsXml, getAssociationsXml, getDocumentsXml } from '../../appliance/src/xds/query.js';
import { retrieveRequestXml } from '../../appliance/src/xds/retrieve.js';
import { buildProvideAndRegister } from '../../appliance/src/xds/submission.js';
import { availabilityUpdateXml } from '../../appliance/src/xds/update.js';
import { vihfSubjectFromReport } from '../../appliance/src/xds/vihf.js';
import { makeTestPki } from '../fixtures/pki/make-test-pki.js';
import { ANS_ITI41, pocKos, sampleContext, sampleReport, XSD_DIR } from '../unit/xds-helpers.js';

/**
 * Schema validation with Debian's xmllint against the shared XSDs (IHE XDS.b MTOM + OASIS ebRS 3.0; imports resolve
 * relative to each schema file: IHE/ → ../ebRS/ → ../www.w3.org/). The XDS.b schema types xdsb:Document as
 * base64Binary: XOP says the schema applies to the reconstituted infoset, so each xop:Include is replaced by the
 * base64 of its MIME part before validating; the raw envelope is checked to differ only there.
 */

const MTOM_XSD = join(XSD_DIR, 'IHE/XDS.b_DocumentRepositoryMTOM.xsd');
const LCM_XSD = join(XSD_DIR, 'ebRS/lcm.xsd');
const QUERY_XSD = join(XSD_DIR, 'ebRS/query.xsd');

let dir: string;
let wire: { soap: string; parts: Map<string, Buffer> };

function xmllint(xml: string, schema: string, name: string): { ok: boolean; errors: string } {
  const file = join(dir, name);
  writeFileSync(file, xml);
  const r = spawnSync('xmllint', ['--noout', '--nonet', '--schema', schema, file], { encoding: 'utf8' });
  return { ok: r.status === 0, errors: r.stderr };
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

/** The SOAP part and the attachments of an MTOM body, as they are on the wire. */
async function unpack(contentType: string, body: Buffer): Promise<{ soap: string; parts: Map<string, Buffer> }> {
  const ct = parseContentType(contentType);
  const parts = new Map<string, Buffer>();
  let soap = '';
  for await (const p of readMultipart(once(body), ct.params.boundary!)) {
    const bytes = await readAll(p.body, 1 << 26, 'part');
    if (`<${p.contentId}>` === ct.params.start) soap = bytes.toString('utf8');
    else parts.set(p.contentId!, bytes);
  }
  return { soap, parts };
}

/** The first element named `qname` (with its subtree) as text, cut from the serialised envelope. */
function element(xml: string, qname: string): string {
  const start = xml.indexOf(`<${qname}`);
  const endTag = `</${qname}>`;
  const end = xml.indexOf(endTag, start);
  if (start < 0 || end < 0) throw new Error(`no ${qname} in the XML`);
  return xml.slice(start, end + endTag.length);
}

function reconstitute(xml: string, parts: Map<string, Buffer>): string {
  return xml.replace(/<xop:Include\b[^>]*\bhref="cid:([^"]+)"[^>]*\/>/g, (_m, cid: string) => {
    const bytes = parts.get(decodeURIComponent(cid));
    if (!bytes) throw new Error(`no MIME part for cid:${cid}`);
    return bytes.toString('base64');
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drimbox-xds-xsd-'));
  const pki = makeTestPki(join(dir, 'pki'));
  const signer = FileSigner.fromPkcs12(readFileSync(pki.signature.p12), pki.signature.p12Password);
  const context = sampleContext();
  const report = sampleReport({ dmp: { sendToDmp: true, maskedFromProfessionals: true, invisibleToPatient: false, invisibleToLegalRepresentatives: true } });
  const built = await buildProvideAndRegister({ report, kos: pocKos(), context, signer, replacesEntryUUID: 'urn:uuid:0b7b2f3c-1111-4222-8333-444455556666' });
  const prepared = await prepareProvideAndRegister(built, vihfSubjectFromReport(report, context), context, signer, 'https://dmp.test/repository');
  wire = await unpack(prepared.contentType, Buffer.concat(prepared.chunks));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('our ITI-41 body against the XDS.b and ebRS schemas', () => {
  it('validates: ProvideAndRegisterDocumentSetRequest cut from the wire SOAP part, XOP-reconstituted', () => {
    const request = reconstitute(element(wire.soap, 'xdsb:ProvideAndRegisterDocumentSetRequest'), wire.parts);
    const r = xmllint(request, MTOM_XSD, 'ours.xml');
    expect(r.errors).toContain('validates');
    expect(r.ok).toBe(true);
  });

  it('validates: the SubmitObjectsRequest alone against lcm.xsd', () => {
    const r = xmllint(element(wire.soap, 'lcm:SubmitObjectsRequest'), LCM_XSD, 'sor.xml');
    expect(r.ok, r.errors).toBe(true);
  });

  it('left as is, only the xop:Include children of xdsb:Document differ from the schema', () => {
    const r = xmllint(element(wire.soap, 'xdsb:ProvideAndRegisterDocumentSetRequest'), MTOM_XSD, 'raw.xml');
    expect(r.ok).toBe(false);
    const errors = r.errors.split('\n').filter((l) => l.includes('validity error'));
    expect(errors).toHaveLength(2);
    expect(errors.every((l) => l.includes("Element '{urn:ihe:iti:xds-b:2007}Document': Element content is not allowed"))).toBe(true);
  });

  it('a metadata error is caught: Slots moved after the Classifications fail (as in the ANS sample)', () => {
    const request = reconstitute(element(wire.soap, 'xdsb:ProvideAndRegisterDocumentSetRequest'), wire.parts);
    const slot = /<Slot name="urn:ihe:iti:xds:2013:referenceIdList">.*?<\/Slot>/.exec(request)![0];
    const moved = request.replace(slot, '').replace(/(<ExternalIdentifier [^>]*identificationScheme="urn:uuid:58a6f841)/, `${slot}$1`);
    const r = xmllint(moved, MTOM_XSD, 'moved.xml');
    expect(r.ok).toBe(false);
    expect(r.errors).toMatch(/Element '\{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0\}Slot': This element is not expected/);
  });

  it('the ANS sample itself fails the same schema (referenceIdList Slot after the Classifications)', () => {
    const text = readFileSync(ANS_ITI41, 'utf8');
    const b64 = (part: string) => Buffer.from(part).toString('base64');
    const request = element(text, 'ns4:ProvideAndRegisterDocumentSetRequest').replace(/<xop:Include[^>]*\/>/g, b64('x'));
    const r = xmllint(request, MTOM_XSD, 'ans.xml');
    expect(r.ok).toBe(false);
    expect(r.errors).toMatch(/Slot': This element is not expected/);
  });
});

describe('the other requests against their schemas', () => {
  it('ITI-18 FindDocuments, GetDocuments, GetAssociations validate against query.xsd', () => {
    for (const [name, xml] of [
      ['find', findDocumentsXml({ patientId: '279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH', statuses: ['Approved', 'Deprecated'] })],
      ['get', getDocumentsXml({ uniqueIds: ['1.2.3'] })],
      ['assoc', getAssociationsXml(['urn:uuid:0b7b2f3c-1111-4222-8333-444455556666'])],
    ] as const) {
      const r = xmllint(xml, QUERY_XSD, `${name}.xml`);
      expect(r.ok, `${name}: ${r.errors}`).toBe(true);
    }
  });

  it('ITI-57 availability update validates against lcm.xsd', () => {
    const { xml } = availabilityUpdateXml({
      entryUUID: 'urn:uuid:0b7b2f3c-1111-4222-8333-444455556666',
      patientId: '279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH',
      newStatus: 'Deprecated',
      author: { person: '810001234567^RADIO^Jeanne^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS', institutions: ['Cabinet^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1750000001'] },
      context: sampleContext(),
    });
    const r = xmllint(xml, LCM_XSD, 'iti57.xml');
    expect(r.ok, r.errors).toBe(true);
  });

  it('ITI-43 request validates against the XDS.b schema', () => {
    const r = xmllint(retrieveRequestXml([{ repositoryUniqueId: '1.2.250.1.213.4.1', documentUniqueId: '1.2.3' }]), MTOM_XSD, 'iti43.xml');
    expect(r.ok, r.errors).toBe(true);
  });
});
