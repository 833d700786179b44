/** Every HL7 and CDA fixture of test/fixtures/reference, read as the source pipeline will read it. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseHl7Message } from '../../appliance/src/hl7/parse.js';
import { inspectHl7, reportFromCda, reportFromHl7, ReportError } from '../../appliance/src/report/parse.js';

const reference = new URL('../fixtures/reference/', import.meta.url);
const fixture = (path: string) => readFileSync(new URL(path, reference));
const inspect = (path: string) => inspectHl7(parseHl7Message(fixture(path)));
const errorsOf = (i: ReturnType<typeof inspect>) => i.errors.map((e) => `${e.code} ${e.location} ${e.hl7ErrorCode}`);

const insPatTrois = { value: '279035121518989', issuerOid: '1.2.250.1.213.1.4.10', issuerName: 'ASIP-SANTE-INS-NIR' };
const flags = (masked: boolean, invisiblePatient: boolean, invisibleRep: boolean, sendToDmp: boolean) => ({
  sendToDmp,
  maskedFromProfessionals: masked,
  invisibleToPatient: invisiblePatient,
  invisibleToLegalRepresentatives: invisibleRep,
});

describe('ANS MDM^T02 (hl7V2-exemples, dummy base64 instead of the CDA)', () => {
  const result = inspect('spec/hl7v2/ans-MDM_T02_CR_Radio_INIT_N1.er7');

  it('reads PID, TXA-12, PRT (sender RPPS and FINESS) and the MetaDMPMSS flags', () => {
    const r = result.report;
    expect(r.action).toBe('publish');
    expect(r.trigger).toBe('MDM^T02');
    expect(r.messageControlId).toBe('015');
    expect(r.patient).toEqual({ ins: insPatTrois, birthName: 'PAT-TROIS', firstGivenName: 'DOMINIQUE', givenNames: 'DOMINIQUE', birthDate: '19790328', sex: 'F', birthPlaceCode: '63220' });
    expect(r.document.id).toBe('1.2.250.1.71.4.2.2.120456789.71024000081');
    expect(r.document.typeCode).toEqual({ code: '18748-4', scheme: 'LN', display: "CR d'imagerie médicale" });
    expect(r.sender!.id).toEqual({ value: '801234564895', issuerOid: '1.2.250.1.71.4.2.1', issuerName: 'ASIP-SANTE- PS' });
    expect(r.organisation).toEqual({ id: { value: '300017985', issuerOid: '1.2.250.1.71.4.2.2', issuerName: 'ASIP-SANTE-ST' }, name: 'Organisation-Y', idType: 'FINEG' });
    expect(r.dmp).toEqual(flags(false, true, true, true));
  });

  it('says clearly that OBX-5 carries no CDA, and refuses to publish without it', () => {
    expect(result.cda).toBe('unreadable');
    expect(errorsOf(result)).toEqual(['AE OBX^1^5 102']);
    expect(result.errors[0]!.text).toMatch(/OBX-5 does not carry a readable CDA: not XML: the document starts with 'Document medcial/);
    expect(() => reportFromHl7(parseHl7Message(fixture('spec/hl7v2/ans-MDM_T02_CR_Radio_INIT_N1.er7')))).toThrow(ReportError);
  });
});

describe('ANS MDM^T10 replacement (volet v2.0, no ORC)', () => {
  const result = inspect('spec/hl7v2/ans-MDM_CR_Radio_RPLC_N1_v2.0.er7');
  it('reads the replacement: TXA-12 new id, TXA-13 replaced id, OBX-11 C, production INS OID', () => {
    const r = result.report;
    expect(r.action).toBe('replace');
    expect(r.trigger).toBe('MDM^T10');
    expect(r.patient.ins).toEqual({ value: '274075176079430', issuerOid: '1.2.250.1.213.1.4.8', issuerName: 'ASIP-SANTE-INS-NIR' });
    expect(r.patient.birthName).toBe('PatientA');
    expect(r.patient.sex).toBe('M');
    expect(r.patient.birthDate).toBe('20050101');
    expect(r.document.id).toBe('1.2.250.1.71.4.2.2.120456789.A71024000082');
    expect(r.document.replaces).toBe('1.2.250.1.71.4.2.2.120456789A71024000081');
    expect(r.organisation!.id!.value).toBe('300017985');
    expect(r.dmp).toEqual(flags(false, false, false, true));
    expect(errorsOf(result)).toEqual(['AE OBX^1^5 102']);
  });
});

describe('DRIM-M homologation MDM^T02 "Examen C" (CDA elided)', () => {
  const result = inspect('spec/hl7v2/drim-m-data-CR_C-MDM_T02.header-only.hl7');
  it('reads INS and IPP repetitions, birth and used names, the FINESS of PRT-8', () => {
    const r = result.report;
    expect(r.messageControlId).toBe('{{idMessage}}');
    expect(r.patient.ins).toEqual(insPatTrois);
    expect(r.patient.ipp).toEqual({ value: 'IPP101', issuerOid: '1.2.250.1.213.4.5.2.4', issuerName: 'AUT-AFFECTATION' });
    expect(r.patient.usedName).toBe('PAT-TROIS');
    expect(r.patient.birthPlaceCode).toBe('51215');
    expect(r.document.id).toBe('1.2.250.1.213.4.5.4.403');
    expect(r.organisation).toEqual({ id: { value: '750803447', issuerOid: '1.2.250.1.71.4.2.2', issuerName: 'ASIP-SANTE-ST' }, name: 'Centre de radiologie Ambroise', idType: 'FINEG' });
    expect(r.sender!.id!.value).toBe('801234564895');
    expect(r.dmp).toEqual(flags(false, true, false, true));
  });
  it('reports the elided CDA as "no CDA", never crashes', () => {
    expect(result.cda).toBe('unreadable');
    expect(errorsOf(result)).toEqual(['AE OBX^1^5^1^5 102']);
    expect(result.errors[0]!.text).toBe("OBX-5 is not base64 (starts with '{{BASE64_CDA_ELIDED}}'): no CDA in the message");
  });
});

describe('PFI.01 ORU^R01 "K" (only the INS in PID-3: the ANS demonstrator throws on it)', () => {
  const result = inspect('spec/hl7v2/drim-m-data-ORU_R01_K.head-only.hl7');
  it('reads the thin PID, OBR placer/filler and OBR-18 accession', () => {
    const r = result.report;
    expect(r.trigger).toBe('ORU^R01');
    expect(r.action).toBe('publish');
    expect(r.patient.ins).toEqual(insPatTrois);
    expect(r.patient.ipp).toBeUndefined();
    expect(r.patient.usedName).toBe('PAT-TROIS');
    expect(r.placerOrder).toEqual({ value: '984375862', issuerOid: '', issuerName: 'EntityNAME' });
    expect(r.fillerOrder).toEqual({ value: '09011600123', issuerOid: '', issuerName: 'EntityNAME' });
    expect(r.accession).toEqual({ value: '09011600123', issuerOid: '' });
    expect(r.dmp).toEqual(flags(false, false, false, true));
    expect(r.warnings!.join()).toMatch(/MetaDMPMSS OBX absent/);
    expect(errorsOf(result)).toEqual(['AE OBX^1^5^1^5 102']);
  });
});

describe('DRIM-M homologation "Examen W": OMI^O23 with ORC|CA', () => {
  const result = inspect('ansforge/DRIM-M_DATA/referencement-drimbox/hl7v2/examen-W/CR_W_Suppression-OMI.hl7');
  it('is a withdrawal of that exam: Study Instance UID (IPC-3), accession (IPC-1), orders', () => {
    expect(result.errors).toEqual([]);
    const r = reportFromHl7(parseHl7Message(fixture('ansforge/DRIM-M_DATA/referencement-drimbox/hl7v2/examen-W/CR_W_Suppression-OMI.hl7')));
    expect(r.action).toBe('withdraw');
    expect(r.trigger).toBe('OMI^O23');
    expect(r.studyInstanceUid).toBe('1.2.250.1.213.4.5.2.1.124');
    expect(r.accession).toEqual({ value: 'ACN124', issuerOid: '' });
    expect(r.placerOrder).toEqual({ value: '984375862', issuerOid: '', issuerName: 'EntityNAME' });
    expect(r.fillerOrder).toEqual({ value: '09011600123', issuerOid: '', issuerName: 'EntityNAME' });
    expect(r.patient.ins).toEqual(insPatTrois);
    expect(r.patient.ipp!.value).toBe('IPP101');
    expect(r.warnings).toContain('OBR-18 and IPC-1 differ: IPC-1 is the accession number');
  });
});

describe('DRIM-M informative OMI^O23 imaging order (ORC|NW)', () => {
  const result = inspect('ansforge/DRIM-M_DATA/informatif/hl7v2/OMI_O23-ImagingOrder.hl7');
  it('reads the exam ids, and takes the order event as a change to the exam (refresh of its manifest)', () => {
    const r = result.report;
    expect(r.studyInstanceUid).toBe('1.2.250.1.213.4.5.2.1.101');
    expect(r.accession).toEqual({ value: '105234751', issuerOid: '' });
    expect(r.modalities).toEqual([{ code: 'CT', scheme: 'DCM' }]);
    expect(r.patient.ins!.value).toBe('274075176079430');
    expect(r.patient.birthName).toBe('Doe');
    expect(r.action).toBe('refresh');
    expect(errorsOf(result)).toEqual([]);
  });
});

describe('ANS ACK^T10 sample', () => {
  it('is not a report: AR 200 at MSH-9', () => {
    expect(errorsOf(inspect('spec/hl7v2/ans-ACK_T10_MDM_RPLC.er7'))).toEqual(['AR MSH^1^9 200']);
  });
});

describe('ANS model imaging report posted as a CDA', () => {
  const report = reportFromCda(fixture('spec/cda/IMG_CR_IMG_2023.11_CDA-R2-Niveau-1.xml'));
  it('becomes a replacement (it has relatedDocument RPLC) of the first exam, listing all three', () => {
    expect(report.action).toBe('replace');
    expect(report.trigger).toBe('CDA');
    expect(report.studyInstanceUid).toBe('1.2.250.1.3.152.235.2.12.187636474');
    expect(report.studyInstanceUids).toEqual(['1.2.250.1.3.152.235.2.12.187636474', '1.2.250.1.3.152.235.2.12.187636475', '1.2.250.1.3.152.235.2.12.187636476']);
    expect(report.accession).toEqual({ value: '105234751', issuerOid: '1.2.250.1.925.994044785528.27' });
    expect(report.placerOrder).toEqual({ value: '984375862', issuerOid: '1.2.250.1.748.12345678.12' });
    expect(report.modalities.map((m) => m.code)).toEqual(['CT']);
    expect(report.regions.map((m) => m.code)).toEqual(['774007', '67734004']);
    expect(report.examDescription).toBe('CT Head W contrast IV');
    expect(report.examStart).toBe('20210108102500+0100');
    expect(report.document).toMatchObject({ id: '1.2.250.1.213.1.1.1.45.2', setId: 'D52DE737-001D-4031-B571-0A0ED7C42300', version: 2, replaces: '90E1C8EC-F951-4B26-A305-A34848818DD6' });
    expect(report.organisation).toEqual({ id: { value: '101235555', issuerOid: '1.2.250.1.71.4.2.2' }, name: 'Centre de radiologie Ambroise' });
    expect(report.legalAuthenticator!.id).toEqual({ value: '801234560801', issuerOid: '1.2.250.1.71.4.2.1' });
    expect(report.patient.ins).toEqual({ value: '279035121518989', issuerOid: '1.2.250.1.213.1.4.10' });
    expect(report.dmp).toEqual(flags(false, false, false, true));
  });
});

describe('the ANS MDM^T02 carrying the ANS CDA for real', () => {
  it('publishes the exam of the CDA with the FINESS of PRT-8, PID and CDA agreeing on the INS', () => {
    const cda = fixture('spec/cda/IMG_CR_IMG_2023.11_CDA-R2-Niveau-1.xml').toString('base64');
    const text = fixture('spec/hl7v2/ans-MDM_T02_CR_Radio_INIT_N1.er7').toString('utf8').replace('RG9jdW1lbnQgbWVkY2lhbCBhdSBmb3JtYXQgQ0RBIG5pdmVhdSAx', cda);
    const r = reportFromHl7(parseHl7Message(Buffer.from(text)));
    expect(r.action).toBe('publish');
    expect(r.studyInstanceUid).toBe('1.2.250.1.3.152.235.2.12.187636474');
    expect(r.accession!.issuerOid).toBe('1.2.250.1.925.994044785528.27');
    expect(r.organisation!.id!.value).toBe('300017985');
    expect(r.patient.ipp).toEqual({ value: '1234567890121', issuerOid: '1.2.3.4.567.8.9.10' });
    expect(r.document.id).toBe('1.2.250.1.213.1.1.1.45.2');
    expect(r.warnings).toEqual(expect.arrayContaining(['TXA-12 differs from the CDA id: the CDA id is used', 'the CDA has a relatedDocument RPLC but the message asks for a first publication']));
  });
});
