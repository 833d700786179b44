import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extractCda, isDicomUid } from '../../appliance/src/cda/extract.js';
import { CdaError } from '../../appliance/src/cda/xml.js';
import { buildCda, francois, helene, STUDY_UID } from '../fixtures/hl7/generate.js';

const reference = new URL('../fixtures/reference/', import.meta.url);
const ansCda = readFileSync(new URL('spec/cda/IMG_CR_IMG_2023.11_CDA-R2-Niveau-1.xml', reference));
const local = (name: string) => readFileSync(new URL(`../fixtures/hl7/${name}`, import.meta.url));

function cdaError(input: string | Buffer): CdaError {
  try {
    extractCda(input);
  } catch (err) {
    expect(err).toBeInstanceOf(CdaError);
    return err as CdaError;
  }
  throw new Error('expected a CdaError');
}

const minimal = (inner: string, root = '<ClinicalDocument xmlns="urn:hl7-org:v3">') => `<?xml version="1.0" encoding="UTF-8"?>\n${root}${inner}</ClinicalDocument>`;

describe('the ANS model imaging report (IMG_CR_IMG_2023.11, CDA R2 level 1)', () => {
  const cda = extractCda(ansCda);

  it('reads the document identity', () => {
    expect(cda.documentId).toBe('1.2.250.1.213.1.1.1.45.2');
    expect(cda.setId).toBe('D52DE737-001D-4031-B571-0A0ED7C42300');
    expect(cda.version).toBe(2);
    expect(cda.title).toBe('CR d’imagerie médicale - Scanner Tête + Cou + Thorax avec injection');
    expect(cda.effectiveTime).toBe('20210108111700+0100');
    expect(cda.typeCode).toEqual({ code: '18748-4', scheme: '2.16.840.1.113883.6.1', schemeName: 'LOINC', display: 'CR d’imagerie médicale' });
    expect(cda.confidentialityCode).toBe('N');
    expect(cda.replaces).toBe('90E1C8EC-F951-4B26-A305-A34848818DD6');
  });

  it('reads the patient: INS under the test NIR OID, IPP, birth and used names, traits', () => {
    expect(cda.patient).toEqual({
      ins: { value: '279035121518989', issuerOid: '1.2.250.1.213.1.4.10' },
      ipp: { value: '1234567890121', issuerOid: '1.2.3.4.567.8.9.10' },
      birthName: 'PAT-TROIS',
      firstGivenName: 'DOMINIQUE',
      givenNames: 'DOMINIQUE',
      usedName: 'PAT-TROIS',
      usedGivenName: 'DOMINIQUE',
      birthDate: '19790328',
      sex: 'F',
      birthPlaceCode: '63220',
    });
  });

  it('reads the order: placer order id and ps3-20 accession number with their issuers', () => {
    expect(cda.placerOrder).toEqual({ value: '984375862', issuerOid: '1.2.250.1.748.12345678.12' });
    expect(cda.accession).toEqual({ value: '105234751', issuerOid: '1.2.250.1.925.994044785528.27' });
  });

  it('reads each serviceEvent: Study Instance UID, modality and region translations, times, performer', () => {
    expect(cda.serviceEvents.map((e) => e.studyInstanceUid)).toEqual([
      '1.2.250.1.3.152.235.2.12.187636474',
      '1.2.250.1.3.152.235.2.12.187636475',
      '1.2.250.1.3.152.235.2.12.187636476',
      undefined,
    ]);
    const [head, , thorax, screening] = cda.serviceEvents;
    expect(head!.code).toEqual({ code: '24727-0', scheme: '2.16.840.1.113883.6.1', schemeName: 'LOINC', display: 'CT Head W contrast IV' });
    expect(head!.modalities).toEqual([{ code: 'CT', scheme: '1.2.840.10008.2.16.4', schemeName: 'DCM', display: 'Tomodensitométrie' }]);
    expect(head!.regions).toEqual([{ code: '774007', scheme: '2.16.840.1.113883.6.96', schemeName: 'SNOMED CT', display: 'structure de la tête et/ou du cou' }]);
    expect(thorax!.regions.map((r) => r.code)).toEqual(['67734004']);
    expect(head!.start).toBe('20210108102500+0100');
    expect(head!.end).toBe('20210108111700+0100');
    expect(head!.performer!.organisation).toEqual({ id: { value: '101235555', issuerOid: '1.2.250.1.71.4.2.2' }, name: 'Centre de radiologie Ambroise' });
    expect(screening!.code!.code).toBe('Z13.9');
    expect(screening!.modalities).toEqual([]);
  });

  it('reads the legal authenticator (RPPS) with his organisation, the author and the custodian', () => {
    const org = { id: { value: '101235555', issuerOid: '1.2.250.1.71.4.2.2' }, name: 'Centre de radiologie Ambroise' };
    expect(cda.legalAuthenticator).toEqual({ id: { value: '801234560801', issuerOid: '1.2.250.1.71.4.2.1' }, family: 'BIDEAULT', given: 'Jacques', prefix: 'M', organisation: org });
    expect(cda.author!.id).toEqual({ value: '801234560801', issuerOid: '1.2.250.1.71.4.2.1' });
    expect(cda.custodian).toEqual(org);
  });

  it('reads the same from both copies of the ANS sample', () => {
    const copy = readFileSync(new URL('ansforge/DRIM-M_DRIMbox/exemples-d2ef59a/CDA/IMG_CR_IMG_2023.11_CDA-R2-Niveau-1.xml', reference));
    expect(extractCda(copy)).toEqual(cda);
  });
});

describe('synthetic reports', () => {
  it('reads accented names and one serviceEvent', () => {
    const cda = extractCda(local('cda-synthetic-v1.xml'));
    expect(cda.patient.birthName).toBe('LEFÈVRE-NOËL');
    expect(cda.patient.givenNames).toBe('HÉLÈNE MARIE');
    expect(cda.patient.firstGivenName).toBe('HÉLÈNE');
    expect(cda.patient.usedName).toBe('DUPRÉ');
    expect(cda.patient.ins).toEqual({ value: helene.ins, issuerOid: '1.2.250.1.213.1.4.10' });
    expect(cda.serviceEvents.map((e) => e.studyInstanceUid)).toEqual([STUDY_UID]);
    expect(cda.documentId).toBe('1.2.250.1.213.1.1.9.77^CR-2024-0001');
    expect(cda.replaces).toBeUndefined();
    expect(cda.legalAuthenticator!.organisation!.name).toBe("Centre d'imagerie Saint-Éloi & Associés");
  });

  it('reads the replacement relation and the version', () => {
    const cda = extractCda(local('cda-synthetic-v2-rplc.xml'));
    expect(cda.version).toBe(2);
    expect(cda.documentId).toBe('1.2.250.1.213.1.1.9.77^CR-2024-0001-2');
    expect(cda.replaces).toBe('1.2.250.1.213.1.1.9.77^CR-2024-0001');
  });

  it('decodes an ISO-8859-1 document and its character references', () => {
    const bytes = local('cda-synthetic-latin1.xml');
    expect(bytes.includes(Buffer.from('CÔTÉ', 'latin1'))).toBe(true);
    const cda = extractCda(bytes);
    expect(cda.patient.birthName).toBe(francois.birthName);
    expect(cda.patient.givenNames).toBe('FRANÇOIS ANDRÉ');
    expect(cda.title).toBe('Scanner thoracique – compte rendu (version 1)');
  });

  it('decodes UTF-16 with a byte-order mark', () => {
    const text = local('cda-synthetic-v1.xml').toString('utf8').replace('encoding="UTF-8"', 'encoding="UTF-16"');
    const utf16 = Buffer.concat([Buffer.of(0xff, 0xfe), Buffer.from(text, 'utf16le')]);
    expect(extractCda(utf16).patient.birthName).toBe('LEFÈVRE-NOËL');
  });
});

describe('refusals', () => {
  it('refuses any DOCTYPE: internal entities are never expanded (billion laughs)', () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE ClinicalDocument [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&c;</title></ClinicalDocument>`;
    expect(cdaError(bomb).message).toMatch(/DOCTYPE or ENTITY declaration: DTDs and entities are refused/);
  });

  it('refuses external entities (XXE) before anything is read', () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><ClinicalDocument xmlns="urn:hl7-org:v3"><title>&xxe;</title></ClinicalDocument>`;
    expect(cdaError(xxe).message).toMatch(/DOCTYPE/);
    expect(cdaError(Buffer.from(xxe.replace('DOCTYPE', 'doctype'))).message).toMatch(/DOCTYPE/);
  });

  it('refuses an entity that no DTD defines', () => {
    expect(cdaError(minimal('<title>caf&eacute;</title>')).message).toMatch(/entity &eacute; is not defined/);
  });

  it('refuses XML that is not well-formed, with the line', () => {
    expect(cdaError(minimal('<title>unclosed</ClinicalDocument>')).message).toMatch(/not well-formed XML: .*line 2/);
  });

  it('refuses what is not a CDA', () => {
    expect(cdaError('Document medcial au format CDA niveau 1').message).toMatch(/not XML: the document starts with 'Document medcial/);
    expect(cdaError('<?xml version="1.0"?><Envelope/>').message).toMatch(/root element is 'Envelope'/);
    expect(cdaError('<ClinicalDocument xmlns="urn:other"/>').message).toMatch(/namespace 'urn:other'/);
    expect(cdaError('<ClinicalDocument/>').message).toMatch(/namespace '\(none\)'/);
    expect(cdaError('%PDF-1.4 ...').message).toMatch(/not XML/);
  });

  it('accepts a prefixed root in the HL7 namespace', () => {
    const cda = extractCda('<v3:ClinicalDocument xmlns:v3="urn:hl7-org:v3"><v3:title>x</v3:title></v3:ClinicalDocument>');
    expect(cda.title).toBe('x');
  });

  it('refuses bytes that contradict the declared encoding', () => {
    const utf8 = local('cda-synthetic-v1.xml');
    expect(cdaError(Buffer.from(utf8.toString('utf8').replace('encoding="UTF-8"', 'encoding="ISO-8859-1"'), 'utf8')).message).toMatch(/declares iso-8859-1 but its bytes are UTF-8/);
    const latin1 = local('cda-synthetic-latin1.xml');
    expect(cdaError(Buffer.from(latin1.toString('latin1').replace('encoding="ISO-8859-1"', 'encoding="UTF-8"'), 'latin1')).message).toMatch(/declares utf-8 but its bytes are not valid utf-8/);
  });

  it('refuses a serviceEvent id that is not a DICOM UID, naming the element', () => {
    const bad = buildCda({ documentExtension: 'X', version: 1, studyUid: '1.2.03.4', accession: 'A', placerOrder: 'P', patient: helene });
    const err = cdaError(bad);
    expect(err.path).toBe('documentationOf/serviceEvent/id');
    expect(err.message).toMatch(/'1\.2\.03\.4' is not a DICOM UID/);
  });

  it('reads a report without serviceEvent id as having no Study Instance UID', () => {
    const cda = extractCda(buildCda({ documentExtension: 'X', version: 1, accession: 'A', placerOrder: 'P', patient: helene }));
    expect(cda.serviceEvents).toHaveLength(1);
    expect(cda.serviceEvents[0]!.studyInstanceUid).toBeUndefined();
  });
});

describe('isDicomUid', () => {
  it.each([
    ['1.2.840.10008.5.1.4.1.1.2', true],
    ['1.2.250.1.3.152.235.2.12.187636474', true],
    ['1.2.03', false],
    ['1..2', false],
    ['1.2.', false],
    ['D52DE737-001D-4031', false],
    ['1.' + '2'.repeat(63), false],
  ])('%s → %s', (uid, ok) => expect(isDicomUid(uid)).toBe(ok));
});
