import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseProvideAndRegister, type ParsedProvideAndRegister } from '../../appliance/src/xds/provide-parse.js';
import { vihfSubjectFromPublished } from '../../appliance/src/xds/vihf.js';
import { ANS_ITI41, sampleContext } from './xds-helpers.js';

/**
 * The ANS/b<>com ITI-41 sample (../shared/fixtures/spec/xds/bcom-iti41-provide-and-register-kos.mime.txt) is a logged,
 * pretty-printed copy of what was sent: its later boundary and part-header lines and the XML declarations are indented.
 * Only that indentation is removed here; every byte of content is kept as published.
 */
function repairedSample(): Buffer {
  const text = readFileSync(ANS_ITI41, 'utf8');
  return Buffer.from(text.replace(/^[ \t]+(?=--MIMEBoundary_Bound|Content-(?:Type|Transfer-Encoding|ID):|<\?xml)/gm, ''), 'utf8');
}

async function* once(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
}

let parsed: ParsedProvideAndRegister;

beforeAll(async () => {
  parsed = await parseProvideAndRegister(
    'multipart/related; boundary=MIMEBoundary_Bound; type="application/xop+xml"; start="<0.1>"; start-info="application/soap+xml"',
    once(repairedSample()),
  );
});

describe('the ANS ITI-41 sample, read by our MTOM and metadata parsers', () => {
  it('gives the WS-Addressing header of the request', () => {
    expect(parsed.action).toBe('urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b');
    expect(parsed.messageId).toBe('urn:uuid:a6ba8f7f-b214-4a2d-96f1-54293d537ce3');
    expect(parsed.to).toBe('https://dev9.lps2.dmp.gouv.fr/si-dmp-server/v2/services/repository');
  });

  it('gives the KOS DocumentEntry it carries', () => {
    const kos = parsed.documentEntries.find((e) => e.entryUUID === 'DocumentKOS')!;
    expect(kos.typeCode).toEqual({ code: 'IMG-KOS', scheme: '1.2.250.1.213.1.1.4.12', display: "Reference d'objets d'un examen d'imagerie" });
    expect(kos.classCode).toEqual({ code: '31', scheme: '1.2.250.1.213.1.1.4.1', display: 'Imagerie médicale' });
    expect(kos.formatCode?.code).toBe('1.2.840.10008.5.1.4.1.1.88.59');
    expect(kos.patientId).toBe('162018885045327^^^&1.2.250.1.213.1.4.10&ISO^NH');
    expect(kos.uniqueId).toBe('1.3.2.751468943.3.1234.56838.231114144457.1.1.1');
    expect(kos.mimeType).toBe('application/dicom');
    expect(kos.referenceIds.map((r) => [r.value, r.assigningAuthority, r.type])).toEqual([
      ['7252295367250016', '1.2.840.113619.6.196', 'urn:ihe:iti:xds:2013:accession'],
      ['1.3.6.1.4.1.5962.99.1.3711725607.829148806.1687338938407.3.116', '1.2.3.4.5.6', 'urn:ihe:iti:xds:2016:studyInstanceUID'],
      ['12989855966', '2.16.840.1.113883.6.96', 'urn:ihe:iti:xds:2013:order'],
    ]);
    expect(kos.modalities).toEqual([{ code: 'MR', scheme: '1.2.250.1.213.1.1.5.618', display: 'Magnetic Resonance' }]);
    expect(kos.regions.map((r) => r.code)).toEqual(['63337009']);
    expect(kos.serviceStartTime).toBe('20210104092200');
    expect(kos.sourcePatientInfo).toEqual(['PID-5|PAT-SIX^Alain^^^^^L', 'PID-7|19960124', 'PID-8|M']);
    expect(kos.authors[0]!.person).toBe('899700367909^DOC0036790^KIT^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS');
    expect(kos.hash).toBe('58408c116b51497c0f2084c90da3c85c7098455a');
    expect(kos.size).toBe(8450);
  });

  it('decodes the base64 KOS part to the bytes the metadata hash and size describe', () => {
    const bytes = parsed.documents.get('DocumentKOS')!;
    expect(bytes.length).toBe(8450);
    expect(createHash('sha1').update(bytes).digest('hex')).toBe('58408c116b51497c0f2084c90da3c85c7098455a');
    expect(bytes.subarray(128, 132).toString('latin1')).toBe('DICM');
  });

  it('gives the SubmissionSet, the signature entry and the associations', () => {
    expect(parsed.submissionSets).toEqual([
      expect.objectContaining({
        entryUUID: 'SubmissionSet01',
        uniqueId: '1.2.250.1.999.1.1.8121.5.7122',
        sourceId: '1.2.250.1.999.1.1.8121',
        patientId: '162018885045327^^^&1.2.250.1.213.1.4.10&ISO^NH',
        submissionTime: '20231114144458',
      }),
    ]);
    const sig = parsed.documentEntries.find((e) => e.entryUUID === 'Signature01')!;
    expect(sig.uniqueId).toBe('2.25.253872960909518376796861585574417771331');
    expect(sig.confidentialityCodes.map((c) => c.code)).toEqual(['N', 'MASQUE_PS', 'INVISIBLE_PATIENT']);
    expect(parsed.documents.get('Signature01')!.toString('utf8')).toContain('<Manifest');
    expect(parsed.associations.map((a) => [a.type.replace(/^.*:/, ''), a.sourceObject, a.targetObject])).toEqual([
      ['HasMember', 'SubmissionSet01', 'DocumentKOS'],
      ['HasMember', 'SubmissionSet01', 'Signature01'],
      ['signs', 'Signature01', 'SubmissionSet01'],
    ]);
  });

  it('yields the VIHF subject of a later update from the published entry (author, structure, patient)', () => {
    const kos = parsed.documentEntries.find((e) => e.entryUUID === 'DocumentKOS')!;
    const subject = vihfSubjectFromPublished(kos, sampleContext());
    expect(subject).toMatchObject({
      nameId: '899700367909',
      subjectName: 'KIT DOC0036790',
      structureId: '499700367909006',
      facilityTypeCode: 'SA01',
      patientId: '162018885045327^^^&1.2.250.1.213.1.4.10&ISO^NH',
    });
  });
});
