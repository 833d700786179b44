/** The synthetic messages of test/fixtures/hl7 (real base64 CDA, accents, Latin-1, v2.3.1...) and their bad variants. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseHl7Message } from '../../appliance/src/hl7/parse.js';
import { inspectHl7, reportFromBytes, reportFromCda, reportFromHl7, ReportError } from '../../appliance/src/report/parse.js';
import { ACCESSION_ROOT, buildCda, DOC_ROOT, FINESS, francois, helene, PLACER_ROOT, STUDY_UID, STUDY_UID_FRANCOIS } from '../fixtures/hl7/generate.js';

const file = (name: string) => readFileSync(new URL(`../fixtures/hl7/${name}`, import.meta.url));
const text = (name: string) => file(name).toString('utf8');
const report = (bytes: Buffer) => reportFromHl7(parseHl7Message(bytes));

function refusal(bytes: Buffer): ReportError {
  try {
    report(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(ReportError);
    return err as ReportError;
  }
  throw new Error('expected a ReportError');
}

/** Replaces the segment starting with `prefix` (first occurrence) in a CR-separated message. */
function withSegment(message: string, prefix: string, replacement: string): Buffer {
  const segments = message.split('\r');
  const i = segments.findIndex((s) => s.startsWith(prefix));
  expect(i).toBeGreaterThanOrEqual(0);
  segments[i] = replacement;
  return Buffer.from(segments.join('\r'));
}

const obx1 = (b64: string, status = 'F') => `OBX|1|ED|18748-4^CR d'imagerie médicale^LN||^TEXT^XML^Base64^${b64}||||||${status}|`;
const heleneIns = { value: helene.ins, issuerOid: '1.2.250.1.213.1.4.10', issuerName: 'ASIP-SANTE-INS-NIR' };
const heleneTraits = {
  ins: heleneIns,
  ipp: { value: 'IPP-77812', issuerOid: '1.2.250.1.213.4.5.2.4', issuerName: 'AUT-AFFECTATION' },
  birthName: 'LEFÈVRE-NOËL',
  firstGivenName: 'HÉLÈNE',
  givenNames: 'HÉLÈNE MARIE',
  usedName: 'DUPRÉ',
  usedGivenName: 'HÉLÈNE',
  birthDate: '19851207',
  sex: 'F',
  birthPlaceCode: '75112',
};

describe('ORU^R01 v2.5, full CI-SIS message', () => {
  const r = report(file('oru-r01-v2.5-publish.hl7'));
  it('publishes the exam of the CDA with every identifier', () => {
    expect(r.action).toBe('publish');
    expect(r.trigger).toBe('ORU^R01');
    expect(r.messageControlId).toBe('ORU-20240115-0001');
    expect(r.patient).toEqual(heleneTraits);
    expect(r.studyInstanceUid).toBe(STUDY_UID);
    expect(r.studyInstanceUids).toBeUndefined();
    expect(r.accession).toEqual({ value: 'ACC24-0115', issuerOid: ACCESSION_ROOT });
    expect(r.placerOrder).toEqual({ value: 'DEM-88421', issuerOid: PLACER_ROOT });
    expect(r.fillerOrder).toEqual({ value: 'EX-24-0115', issuerOid: '', issuerName: 'RIS-GAITE' });
    expect(r.modalities).toEqual([{ code: 'CT', scheme: '1.2.840.10008.2.16.4', schemeName: 'DCM', display: 'Tomodensitométrie' }]);
    expect(r.regions).toEqual([{ code: '67734004', scheme: '2.16.840.1.113883.6.96', schemeName: 'SNOMED CT', display: 'segment thoracique du tronc' }]);
    expect(r.examStart).toBe('20240115143000+0100');
    expect(r.examEnd).toBe('20240115144500+0100');
    expect(r.document).toEqual({
      id: `${DOC_ROOT}^CR-2024-0001`,
      setId: '7C1E2A90-5B3D-4E8F-9A11-2D6C0F4B8E01',
      version: 1,
      title: 'Scanner thoracique – compte rendu (version 1)',
      effectiveTime: '20240115160100+0100',
      typeCode: { code: '18748-4', scheme: '2.16.840.1.113883.6.1', schemeName: 'LOINC', display: "CR d'imagerie médicale" },
      confidentialityCode: 'N',
    });
    expect(r.organisation).toEqual({ id: { value: FINESS, issuerOid: '1.2.250.1.71.4.2.2', issuerName: 'ASIP-SANTE-ST' }, name: "Centre d'imagerie Saint-Éloi & Associés", idType: 'FINEG' });
    expect(r.sender).toMatchObject({ id: { value: '810002345678', issuerOid: '1.2.250.1.71.4.2.1' }, family: 'BÉRANGER', given: 'Amélie' });
    expect(r.legalAuthenticator).toMatchObject({ id: { value: '810002345678', issuerOid: '1.2.250.1.71.4.2.1' }, family: 'BÉRANGER' });
    expect(r.dmp).toEqual({ sendToDmp: true, maskedFromProfessionals: false, invisibleToPatient: true, invisibleToLegalRepresentatives: false });
    expect(r.warnings).toBeUndefined();
  });
});

describe('ORU^R01 v2.3.1 from an older sender: 8859/1, CRLF, bare base64, INS only, no PRT nor flags', () => {
  const r = report(file('oru-r01-v2.3.1-latin1.hl7'));
  it('reads the Latin-1 names and the Latin-1 CDA, takes the IPP from the CDA', () => {
    expect(r.messageControlId).toBe('7741');
    expect(r.patient.birthName).toBe('CÔTÉ');
    expect(r.patient.givenNames).toBe('FRANÇOIS ANDRÉ');
    expect(r.patient.ins).toEqual({ value: francois.ins, issuerOid: '1.2.250.1.213.1.4.10', issuerName: 'ASIP-SANTE-INS-NIR' });
    expect(r.patient.ipp).toEqual({ value: 'P0043521', issuerOid: '1.2.250.1.213.4.5.2.4' });
    expect(r.patient.birthPlaceCode).toBe('99350');
    expect(r.studyInstanceUid).toBe(STUDY_UID_FRANCOIS);
    expect(r.accession).toEqual({ value: 'ACC24-0116', issuerOid: ACCESSION_ROOT });
    expect(r.document.title).toBe('Scanner thoracique – compte rendu (version 1)');
    expect(r.organisation!.id!.value).toBe(FINESS);
    expect(r.dmp.sendToDmp).toBe(true);
    expect(r.warnings!.join()).toMatch(/MetaDMPMSS OBX absent/);
  });
});

describe('MDM^T02 / T10 / T04 lifecycle', () => {
  it('T02 publishes, with TXA-12 as root^extension and MASQUE_PS set', () => {
    const r = report(file('mdm-t02-publish.hl7'));
    expect(r.action).toBe('publish');
    expect(r.trigger).toBe('MDM^T02');
    expect(r.document.id).toBe(`${DOC_ROOT}^CR-2024-0001`);
    expect(r.dmp.maskedFromProfessionals).toBe(true);
    expect(r.studyInstanceUid).toBe(STUDY_UID);
    expect(r.warnings).toBeUndefined();
  });

  it('T10 replaces: TXA-13 and the CDA RPLC agree', () => {
    const r = report(file('mdm-t10-replace.hl7'));
    expect(r.action).toBe('replace');
    expect(r.document.id).toBe(`${DOC_ROOT}^CR-2024-0001-2`);
    expect(r.document.replaces).toBe(`${DOC_ROOT}^CR-2024-0001`);
    expect(r.document.version).toBe(2);
    expect(r.warnings).toBeUndefined();
  });

  it('T04 withdraws the document of TXA-12', () => {
    const r = report(file('mdm-t04-withdraw.hl7'));
    expect(r.action).toBe('withdraw');
    expect(r.document.id).toBe(`${DOC_ROOT}^CR-2024-0001-2`);
    expect(r.studyInstanceUid).toBe(STUDY_UID);
  });

  it('T04 still withdraws when OBX-5 carries no readable CDA (by TXA-12), with a warning', () => {
    const bad = withSegment(text('mdm-t04-withdraw.hl7'), 'OBX|1|', obx1('{{BASE64_CDA_ELIDED}}', 'D').replace('^TEXT^', '^text^'));
    const r = report(bad);
    expect(r.action).toBe('withdraw');
    expect(r.document.id).toBe(`${DOC_ROOT}^CR-2024-0001-2`);
    expect(r.studyInstanceUid).toBeUndefined();
    expect(r.warnings!.join()).toMatch(/OBX\^1\^5\^1\^5: OBX-5 is not base64.*not needed for a withdrawal/);
  });
});

describe('OMI^O23 exam cancellation', () => {
  it('withdraws the exam of IPC/ZDS', () => {
    const r = report(file('omi-o23-cancel.hl7'));
    expect(r.action).toBe('withdraw');
    expect(r.trigger).toBe('OMI^O23');
    expect(r.studyInstanceUid).toBe(STUDY_UID);
    expect(r.accession).toEqual({ value: 'ACC24-0115', issuerOid: ACCESSION_ROOT });
    expect(r.modalities).toEqual([{ code: 'CT', scheme: 'DCM' }]);
    expect(r.examDescription).toBe('Scanner thoracique');
    expect(r.patient).toEqual(heleneTraits);
  });

  it('refuses a cancellation that identifies no exam', () => {
    const message = text('omi-o23-cancel.hl7').split('\r').filter((s) => !s.startsWith('IPC') && !s.startsWith('ZDS')).join('\r');
    const err = refusal(withSegment(message, 'OBR|', 'OBR|1|||24627-2^Scanner thoracique^LN'));
    expect(err.location).toBe('TXA^1^12');
    expect(err.text).toMatch(/nothing identifies what to withdraw/);
  });
});

describe('no PID: the patient comes from the CDA recordTarget', () => {
  it('reads the INS, IPP and traits from the CDA and DESTDMP N', () => {
    const r = report(file('oru-r01-no-pid.hl7'));
    expect(r.patient.ins).toEqual({ value: helene.ins, issuerOid: '1.2.250.1.213.1.4.10' });
    expect(r.patient.birthName).toBe('LEFÈVRE-NOËL');
    expect(r.patient.ipp!.value).toBe('IPP-77812');
    expect(r.dmp.sendToDmp).toBe(false);
    expect(r.warnings).toContain('no PID segment: the patient comes from the CDA recordTarget');
  });

  it('takes the INS from the CDA when PID-3 has only the IPP', () => {
    const r = report(withSegment(text('oru-r01-v2.5-publish.hl7'), 'PID|', 'PID|||IPP-77812^^^AUT-AFFECTATION&1.2.250.1.213.4.5.2.4&ISO^PI||LEFÈVRE-NOËL^HÉLÈNE^^^^^L'));
    expect(r.patient.ins).toEqual({ value: helene.ins, issuerOid: '1.2.250.1.213.1.4.10' });
    expect(r.patient.sex).toBe('F');
  });
});

describe('CDA posted directly', () => {
  it('publishes a first version, replaces with a version that has RPLC', () => {
    expect(reportFromCda(file('cda-synthetic-v1.xml'))).toMatchObject({ action: 'publish', trigger: 'CDA', studyInstanceUid: STUDY_UID });
    expect(reportFromCda(file('cda-synthetic-v2-rplc.xml'))).toMatchObject({ action: 'replace', document: { replaces: `${DOC_ROOT}^CR-2024-0001` } });
  });

  it('tells a CDA from an HL7 message', () => {
    expect(reportFromBytes(file('cda-synthetic-latin1.xml')).trigger).toBe('CDA');
    expect(reportFromBytes(file('mdm-t10-replace.hl7')).trigger).toBe('MDM^T10');
  });

  it('refuses a CDA without Study Instance UID, naming the element', () => {
    const cda = buildCda({ documentExtension: 'X', version: 1, accession: 'A', placerOrder: 'P', patient: helene });
    expect(() => reportFromCda(cda)).toThrow(/the CDA has no documentationOf\/serviceEvent\/id: the Study Instance UID of the exam is required/);
  });
});

describe('refusals name the segment and field', () => {
  const oru = text('oru-r01-v2.5-publish.hl7');
  const mdm = text('mdm-t02-publish.hl7');
  const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

  it.each([
    ['an OBX-11 that is no document action', () => withSegment(oru, 'OBX|1|', obx1(b64(file('cda-synthetic-v1.xml')), 'X')), 'AE', 'OBX^1^11', '103', /OBX-11 'X' is not a document action/],
    ['a deletion whose ORC-1 says new order', () => withSegment(oru, 'OBX|1|', obx1(b64(file('cda-synthetic-v1.xml')), 'D')), 'AE', 'ORC^1^1', '103', /ORC-1 'NW' contradicts the requested action \(withdraw\)/],
    ['an MDM^T02 whose OBX-11 says replace', () => withSegment(mdm, 'OBX|1|', obx1(b64(file('cda-synthetic-v1.xml')), 'C')), 'AE', 'OBX^1^11', '103', /OBX-11 'C' contradicts MDM\^T02 \(publish\)/],
    ['an unhandled MDM event', () => Buffer.from(mdm.replace('MDM^T02^MDM_T02', 'MDM^T01^MDM_T01')), 'AR', 'MSH^1^9', '201', /MDM\^T01 is not handled/],
    ['an unhandled message type', () => Buffer.from(mdm.replace('MDM^T02^MDM_T02', 'ADT^A01^ADT_A01')), 'AR', 'MSH^1^9', '200', /ADT\^A01 is not handled/],
    ['an INS with a wrong key', () => Buffer.from(oru.replace(`${helene.ins}^^^`, '285127511223310^^^')), 'AE', 'PID^1^3^1^1', '102', /INS matricule is not 15 characters with a valid key/],
    ['an INS under an unknown authority', () => Buffer.from(oru.replace('&1.2.250.1.213.1.4.10&ISO^INS', '&1.2.3.4&ISO^INS')), 'AE', 'PID^1^3^1^4', '103', /not an INS OID/],
    ['a PID INS that differs from the CDA', () => Buffer.from(oru.replace(`${helene.ins}^^^`, '169069935001267^^^')), 'AE', 'PID^1^3', '102', /the INS in PID-3 differs from the INS of the CDA recordTarget/],
    ['base64 that is not a CDA', () => withSegment(oru, 'OBX|1|', obx1(b64('%PDF-1.4 not a CDA'))), 'AE', 'OBX^1^5', '102', /does not carry a readable CDA: not XML: the document starts with '%PDF-1.4/],
    ['a CDA with a DOCTYPE', () => withSegment(oru, 'OBX|1|', obx1(b64(file('cda-synthetic-v1.xml').toString().replace('<ClinicalDocument', '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><ClinicalDocument')))), 'AE', 'OBX^1^5', '102', /DOCTYPE or ENTITY declaration: DTDs and entities are refused/],
    ['a CDA without Study Instance UID', () => withSegment(oru, 'OBX|1|', obx1(b64(buildCda({ documentExtension: 'X', version: 1, accession: 'A', placerOrder: 'P', patient: helene })))), 'AE', 'OBX^1^5', '101', /no documentationOf\/serviceEvent\/id/],
    ['a MetaDMPMSS flag that is neither Y nor N', () => Buffer.from(oru.replace('DESTDMP^Destinataire DMP^MetaDMPMSS||Y^', 'DESTDMP^Destinataire DMP^MetaDMPMSS||PEUT-ETRE^')), 'AE', 'OBX^7^5', '103', /DESTDMP must be Y or N/],
    ['a message without the document OBX', () => Buffer.from(oru.split('\r').filter((s) => !s.startsWith('OBX|1|')).join('\r')), 'AE', 'OBX^1', '100', /no OBX of type ED carries the document/],
    ['an OBX-5 with an unknown encoding', () => withSegment(oru, 'OBX|1|', obx1('abc').replace('^Base64^', '^Hex^')), 'AE', 'OBX^1^5^1^4', '103', /encoding 'Hex' is not supported/],
    ['a birth date that is not a date', () => Buffer.from(oru.replace('||19851207|F|', '||07/12/1985|F|')), 'AE', 'PID^1^7', '102', /PID-7 birth date/],
  ])('%s', (_what, make, code, location, hl7Code, message) => {
    const err = refusal(make());
    expect(err.code).toBe(code);
    expect(err.location).toBe(location);
    expect(err.hl7ErrorCode).toBe(hl7Code);
    expect(err.text).toMatch(message);
  });

  it('lists every problem at once for the technician', () => {
    const bad = Buffer.from(oru.replace(`${helene.ins}^^^`, '285127511223310^^^').replace('DESTDMP^Destinataire DMP^MetaDMPMSS||Y^', 'DESTDMP^Destinataire DMP^MetaDMPMSS||?^'));
    const inspection = inspectHl7(parseHl7Message(bad));
    expect(inspection.errors.map((e) => e.location)).toEqual(['PID^1^3^1^1', 'OBX^7^5']);
    expect(inspection.report.studyInstanceUid).toBe(STUDY_UID);
  });

  it('accepts the CDA in an ED with ASCII encoding, or bare XML', () => {
    const xml = file('cda-synthetic-v1.xml').toString('utf8').replace(/\n\s*/g, ' ');
    const escaped = xml.replace(/\\/g, '\\E\\').replace(/\|/g, '\\F\\').replace(/\^/g, '\\S\\').replace(/&/g, '\\T\\').replace(/~/g, '\\R\\');
    expect(report(withSegment(oru, 'OBX|1|', `OBX|1|ED|18748-4^CR^LN||^TEXT^XML^A^${escaped}||||||F`)).studyInstanceUid).toBe(STUDY_UID);
    expect(report(withSegment(oru, 'OBX|1|', `OBX|1|ED|18748-4^CR^LN||${escaped}||||||F`)).studyInstanceUid).toBe(STUDY_UID);
  });

  it('uses the ZDS Study Instance UID when the CDA has none', () => {
    const noUid = b64(buildCda({ documentExtension: 'X', version: 1, accession: 'A', placerOrder: 'P', patient: helene }));
    const message = withSegment(oru, 'OBX|1|', obx1(noUid)).toString('utf8').replace('\rOBX|1|', `\rZDS|${STUDY_UID}^100^Application^DICOM\rOBX|1|`);
    expect(report(Buffer.from(message)).studyInstanceUid).toBe(STUDY_UID);
  });
});
