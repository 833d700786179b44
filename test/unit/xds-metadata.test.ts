import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSigner } from '../../appliance/src/auth/signer/file-signer.js';
import { ASSOCIATION, NS, SCHEME } from '../../appliance/src/xds/codes.js';
import { MetadataError, tsToUtcDtm } from '../../appliance/src/xds/hl7-types.js';
import { registryObjectsFrom } from '../../appliance/src/xds/metadata-parse.js';
import { buildProvideAndRegister, newSubmissionSetUniqueId, type BuiltSubmission } from '../../appliance/src/xds/submission.js';
import { availabilityUpdateXml } from '../../appliance/src/xds/update.js';
import { childElements, descendants, parseXmlSafely } from '../../appliance/src/xds/xml.js';
import { makeTestPki, type TestPki } from '../fixtures/pki/make-test-pki.js';
import { pocKos, sampleContext, sampleReport } from './xds-helpers.js';

let dir: string;
let pki: TestPki;
let signer: FileSigner;
let built: BuiltSubmission;
const now = new Date('2024-01-15T10:00:00Z');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drimbox-xds-meta-'));
  pki = makeTestPki(dir);
  signer = FileSigner.fromPkcs12(readFileSync(pki.signature.p12), pki.signature.p12Password);
  built = await buildProvideAndRegister({ report: sampleReport(), kos: pocKos(), context: sampleContext(), signer, now });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function objects(b: BuiltSubmission) {
  const doc = parseXmlSafely(b.requestXml, 'built request');
  const list = descendants(doc, NS.rim, 'RegistryObjectList')[0]!;
  return { doc, list, parsed: registryObjectsFrom(list) };
}

describe('ITI-41 KOS DocumentEntry', () => {
  it('carries the CI-SIS codes of an IMG-KOS (drimbox-xds-kos-codes.json)', () => {
    const kos = objects(built).parsed.documentEntries.find((e) => e.mimeType === 'application/dicom')!;
    expect(kos.typeCode).toEqual({ code: 'IMG-KOS', scheme: '1.2.250.1.213.1.1.4.12', display: "Reference d'objets d'un examen d'imagerie" });
    expect(kos.classCode).toMatchObject({ code: '31', scheme: '1.2.250.1.213.1.1.4.1' });
    expect(kos.formatCode).toMatchObject({ code: '1.2.840.10008.5.1.4.1.1.88.59', scheme: '1.2.840.10008.2.6.1' });
    expect(kos.objectType).toBe(SCHEME.documentEntryStable);
    expect(kos.languageCode).toBe('fr-FR');
    expect(kos.healthcareFacilityTypeCode).toMatchObject({ code: 'SA07', scheme: '1.2.250.1.71.4.2.4' });
    expect(kos.practiceSettingCode).toMatchObject({ code: 'AMBULATOIRE', scheme: '1.2.250.1.213.1.1.4.9' });
    expect(kos.confidentialityCodes.map((c) => c.code)).toEqual(['N']);
  });

  it('identifies patient, document and exam as the DMP indexes them', () => {
    const kos = objects(built).parsed.documentEntries.find((e) => e.mimeType === 'application/dicom')!;
    const { bytes, facts } = pocKos();
    expect(kos.uniqueId).toBe(facts.sopInstanceUid);
    expect(kos.entryUUID).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(kos.patientId).toBe('279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH');
    expect(kos.sourcePatientId).toBe('IPP-42^^^&1.2.250.1.999.42.1&ISO^PI');
    expect(kos.sourcePatientInfo).toEqual(['PID-5|PAT-TROIS^DOMINIQUE^^^^^L', 'PID-7|19790321', 'PID-8|F']);
    expect(kos.referenceIds.map((r) => r.raw)).toEqual([
      'ACN101^^^&1.2.250.1.213.4.5.2.5&ISO^urn:ihe:iti:xds:2013:accession',
      '2.16.840.1.113669.632.20.1211.10000231621^^^^urn:ihe:iti:xds:2016:studyInstanceUID',
      'OPN101^^^&1.2.250.1.213.4.5.2.6&ISO^urn:ihe:iti:xds:2013:order',
    ]);
    expect(kos.hash).toBe(createHash('sha1').update(bytes).digest('hex'));
    expect(kos.size).toBe(bytes.length);
    expect(kos.creationTime).toBe('20221209104256');
    // 09:30 and 09:45 at +0100 are 08:30 and 08:45 UTC.
    expect(kos.serviceStartTime).toBe('20240115083000');
    expect(kos.serviceStopTime).toBe('20240115084500');
    expect(kos.comments).toBe('Scanner thoracique');
  });

  it('names the validating radiologist as author and legal authenticator, with the structure', () => {
    const kos = objects(built).parsed.documentEntries.find((e) => e.mimeType === 'application/dicom')!;
    const xcn = '810001234567^RADIO^Jeanne^^^DR^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS';
    expect(kos.legalAuthenticator).toBe(xcn);
    expect(kos.authors).toEqual([
      { person: xcn, institutions: ['Cabinet de radiologie du Parc^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1750000001'], roles: [], specialties: [] },
    ]);
  });

  it('lists modality and anatomic region in eventCodeList under the CI-SIS schemes', () => {
    const kos = objects(built).parsed.documentEntries.find((e) => e.mimeType === 'application/dicom')!;
    expect(kos.modalities).toEqual([{ code: 'CT', scheme: '1.2.250.1.213.1.1.5.618', display: 'Computed Tomography' }]);
    expect(kos.regions).toEqual([{ code: '67734004', scheme: '1.2.250.1.213.1.1.5.695', display: 'Thorax' }]);
  });

  it('maps the DMP visibility flags to JDV_J58 confidentiality codes', async () => {
    const report = sampleReport({ dmp: { sendToDmp: true, maskedFromProfessionals: true, invisibleToPatient: true, invisibleToLegalRepresentatives: true } });
    const b = await buildProvideAndRegister({ report, kos: pocKos(), context: sampleContext(), signer, now });
    const kos = objects(b).parsed.documentEntries.find((e) => e.mimeType === 'application/dicom')!;
    expect(kos.confidentialityCodes.map((c) => `${c.code}@${c.scheme}`)).toEqual([
      'N@2.16.840.1.113883.5.25',
      'MASQUE_PS@1.2.250.1.213.1.1.4.13',
      'INVISIBLE_PATIENT@1.2.250.1.213.1.1.4.13',
      'INVISIBLE_REPRESENTANTS_LEGAUX@1.2.250.1.213.1.1.4.13',
    ]);
  });

  it('writes Slots before Name, Description, Classifications and ExternalIdentifiers in every registry object', () => {
    const { list } = objects(built);
    const rank: Record<string, number> = { Slot: 0, Name: 1, Description: 2, Classification: 3, ExternalIdentifier: 4 };
    for (const obj of childElements(list, NS.rim)) {
      const order = childElements(obj, NS.rim).map((c) => rank[c.localName ?? ''] ?? 9);
      expect(order, `${obj.localName} ${obj.getAttribute('id')}`).toEqual([...order].sort((a, b) => a - b));
    }
  });
});

describe('ITI-41 SubmissionSet, signature entry and associations', () => {
  it('makes the SubmissionSet under the configured sourceId', () => {
    const ss = objects(built).parsed.submissionSets;
    expect(ss).toHaveLength(1);
    expect(ss[0]).toMatchObject({
      entryUUID: built.ids.submissionSetEntryUUID,
      sourceId: '1.2.250.1.999.42.7',
      patientId: '279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH',
      submissionTime: '20240115100000',
      contentTypeCode: { code: '07', scheme: '1.2.250.1.213.2.2' },
    });
    expect(ss[0]!.uniqueId).toBe(built.ids.submissionSetUniqueId);
    expect(ss[0]!.uniqueId!.startsWith('1.2.250.1.999.42.7.')).toBe(true);
  });

  it('adds the IHE DSG signature entry, HasMember both, and signs the SubmissionSet', () => {
    const { parsed } = objects(built);
    const sig = parsed.documentEntries.find((e) => e.mimeType === 'text/xml')!;
    expect(sig.classCode).toMatchObject({ code: 'urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1', scheme: 'URN' });
    expect(sig.typeCode).toMatchObject({ code: 'E1762', scheme: 'ASTM' });
    expect(sig.formatCode).toMatchObject({ code: 'http://www.w3.org/2000/09/xmldsig#', scheme: 'URN' });
    expect(sig.eventCodes).toEqual([{ code: '1.2.840.10065.1.12.1.14', scheme: '1.2.840.10065.1.12', display: 'Source' }]);
    expect(sig.languageCode).toBe('art');
    const sigDoc = built.documents.find((d) => d.entryUUID === sig.entryUUID)!;
    expect(sig.hash).toBe(createHash('sha1').update(sigDoc.bytes).digest('hex'));
    expect(sig.size).toBe(sigDoc.bytes.length);
    const assoc = parsed.associations.map((a) => [a.type, a.sourceObject, a.targetObject, a.slots.SubmissionSetStatus?.[0]]);
    expect(assoc).toEqual([
      [ASSOCIATION.hasMember, built.ids.submissionSetEntryUUID, built.ids.kosEntryUUID, 'Original'],
      [ASSOCIATION.hasMember, built.ids.submissionSetEntryUUID, built.ids.signatureEntryUUID, 'Original'],
      [ASSOCIATION.signs, built.ids.signatureEntryUUID, built.ids.submissionSetEntryUUID, undefined],
    ]);
  });

  it('references each document by xop:Include, one MIME part each', () => {
    const { doc } = objects(built);
    const docs = descendants(doc, NS.xdsb, 'Document');
    expect(docs.map((d) => d.getAttribute('id'))).toEqual([built.ids.kosEntryUUID, built.ids.signatureEntryUUID]);
    for (const d of docs) {
      const include = childElements(d, NS.xop, 'Include')[0]!;
      expect(include.getAttribute('href')).toBe(`cid:${built.contentIds[d.getAttribute('id')!]}`);
    }
  });

  it('replaces: RPLC association from the new KOS entry to the previous entryUUID', async () => {
    const previous = 'urn:uuid:0b7b2f3c-1111-4222-8333-444455556666';
    const b = await buildProvideAndRegister({ report: sampleReport({ action: 'replace' }), kos: pocKos(), context: sampleContext(), signer, replacesEntryUUID: previous, now });
    const rplc = objects(b).parsed.associations.filter((a) => a.type === 'urn:ihe:iti:2007:AssociationType:RPLC');
    expect(rplc).toEqual([expect.objectContaining({ sourceObject: b.ids.kosEntryUUID, targetObject: previous })]);
  });

  it('keeps identifiers fixed when the outbox passes them back (idempotent resend)', async () => {
    const again = await buildProvideAndRegister({ report: sampleReport(), kos: pocKos(), context: sampleContext(), signer, ids: built.ids, now });
    expect(again.ids).toEqual(built.ids);
    expect(objects(again).parsed.submissionSets[0]!.uniqueId).toBe(built.ids.submissionSetUniqueId);
  });
});

describe('refusals and helpers', () => {
  it('refuses a patient without INS, a report without radiologist, a KOS of another study', async () => {
    const noIns = sampleReport({ patient: { ...sampleReport().patient, ins: undefined } });
    await expect(buildProvideAndRegister({ report: noIns, kos: pocKos(), context: sampleContext(), signer })).rejects.toThrow(MetadataError);
    const noDoctor = sampleReport({ legalAuthenticator: undefined });
    await expect(buildProvideAndRegister({ report: noDoctor, kos: pocKos(), context: sampleContext(), signer })).rejects.toThrow(/RPPS/);
    const other = sampleReport({ studyInstanceUid: '1.2.3.4' });
    await expect(buildProvideAndRegister({ report: other, kos: pocKos(), context: sampleContext(), signer })).rejects.toThrow(/references study/);
  });

  it('leaves an accession without issuer out of referenceIdList, with a warning', async () => {
    const b = await buildProvideAndRegister({ report: sampleReport({ accession: { value: 'A1', issuerOid: '' } }), kos: pocKos(), context: sampleContext(), signer, now });
    const kos = objects(b).parsed.documentEntries.find((e) => e.mimeType === 'application/dicom')!;
    expect(kos.referenceIds.map((r) => r.type)).toEqual(['urn:ihe:iti:xds:2016:studyInstanceUID', 'urn:ihe:iti:xds:2013:order']);
    expect(b.warnings.join(' ')).toMatch(/A1 has no issuer OID/);
  });

  it('makes distinct, ordered SubmissionSet uniqueIds of at most 64 characters', () => {
    const ids = Array.from({ length: 1000 }, () => newSubmissionSetUniqueId('1.2.250.1.999.42.7', 1_700_000_000_000));
    expect(new Set(ids).size).toBe(1000);
    expect(ids.every((id) => id.length <= 64)).toBe(true);
    expect(() => newSubmissionSetUniqueId('1.2.250.1.999.42.7.12345678901234567890123456789012345')).toThrow(/too long/);
  });

  it('converts HL7 times to UTC DTM (Paris time when no offset)', () => {
    expect(tsToUtcDtm('20240115093000+0100')).toBe('20240115083000');
    expect(tsToUtcDtm('20240715093000')).toBe('20240715073000');
    expect(tsToUtcDtm('20240115093000')).toBe('20240115083000');
    expect(tsToUtcDtm('20240115')).toBe('20240115');
    expect(() => tsToUtcDtm('15/01/2024')).toThrow(MetadataError);
  });

  it('ITI-57 withdrawal: UpdateAvailabilityStatus from the SubmissionSet to the entry, Approved → Deprecated', () => {
    const { xml } = availabilityUpdateXml({
      entryUUID: 'urn:uuid:aaaaaaaa-1111-4222-8333-444455556666',
      patientId: '279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH',
      newStatus: 'Deprecated',
      author: { person: '810001234567^RADIO^Jeanne^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS', institutions: ['X^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1'] },
      context: sampleContext(),
      now,
    });
    const parsed = registryObjectsFrom(descendants(parseXmlSafely(xml, 'iti57'), NS.rim, 'RegistryObjectList')[0]);
    expect(parsed.submissionSets).toHaveLength(1);
    expect(parsed.associations).toEqual([
      expect.objectContaining({
        type: 'urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus',
        sourceObject: parsed.submissionSets[0]!.entryUUID,
        targetObject: 'urn:uuid:aaaaaaaa-1111-4222-8333-444455556666',
        slots: {
          OriginalStatus: ['urn:oasis:names:tc:ebxml-regrep:StatusType:Approved'],
          NewStatus: ['urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated'],
        },
      }),
    ]);
  });
});
