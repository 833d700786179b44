import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, readAnswer } from '../peers/dmp-sim/testing/client.js';
import { OTHER_PATIENT, PATIENT, startTestDmp, type TestDmp } from '../peers/dmp-sim/testing/fixture.js';
import { buildKos } from '../peers/dmp-sim/testing/kos.js';
import { buildIti41, type KosSubmission, type Patient } from '../peers/dmp-sim/testing/requests.js';

/** CI-SIS values, KOS content and the IHE DSG signature: what the DMP refuses, and why. */
describe('DMP simulator: metadata, KOS content and signature checks', () => {
  const UNKNOWN: Patient = { ins: '185027512345625', insOid: '1.2.250.1.213.1.4.10' };
  let dmp: TestDmp;
  beforeAll(async () => {
    dmp = await startTestDmp({ knownPatients: [PATIENT.ins, OTHER_PATIENT.ins] });
  });
  afterAll(async () => {
    await dmp?.close();
  });

  const publish = async (s: KosSubmission, caller = dmp.caller) => readAnswer(await post(dmp.sim.repositoryUrl, dmp.tls, buildIti41(dmp.sim.repositoryUrl, caller, s)));
  const errorsOf = async (tweak: (xml: string) => string) => (await publish({ ...dmp.newKos(), tweak })).errors.filter((e) => e.severity === 'Error');

  it('refuses a KOS typed as a CR (LOINC typeCode)', async () => {
    const errors = await errorsOf((xml) => xml.replace('nodeRepresentation="IMG-KOS"><Slot name="codingScheme"><ValueList><Value>1.2.250.1.213.1.1.4.12', 'nodeRepresentation="18748-4"><Slot name="codingScheme"><ValueList><Value>2.16.840.1.113883.6.1'));
    expect(errors).toEqual([expect.objectContaining({ code: 'XDSRegistryMetadataError', context: expect.stringContaining('typeCode is 18748-4 in scheme 2.16.840.1.113883.6.1, expected IMG-KOS') })]);
  });

  it('refuses the deprecated urn:ihe:rad: formatCode, saying so', async () => {
    const errors = await errorsOf((xml) => xml.replace('nodeRepresentation="1.2.840.10008.5.1.4.1.1.88.59"', 'nodeRepresentation="urn:ihe:rad:1.2.840.10008.5.1.4.1.1.88.59"'));
    expect(errors.map((e) => e.context).join()).toContain('deprecated in TRE_A09');
  });

  it('refuses a confidentiality code outside JDV_J58 and a practice setting outside JDV_J04', async () => {
    const errors = await errorsOf((xml) => xml.replace(/nodeRepresentation="N"/, 'nodeRepresentation="SECRET"').replace(/nodeRepresentation="AMBULATOIRE"/, 'nodeRepresentation="CABINET"'));
    const contexts = errors.map((e) => e.context).join('\n');
    expect(contexts).toContain('confidentialityCode SECRET');
    expect(contexts).toContain('practiceSettingCode CABINET');
  });

  it('refuses a referenceIdList type outside JDV_J197 and a KOS without modality event code', async () => {
    const errors = await errorsOf((xml) => xml.replace('^urn:ihe:iti:xds:2013:accession', '^urn:example:accession').replace(/<Classification[^>]*nodeRepresentation="MR">[\s\S]*?<\/Classification>/, ''));
    const contexts = errors.map((e) => e.context).join('\n');
    expect(contexts).toContain('referenceIdList type "urn:example:accession" is not in JDV_J197');
    expect(contexts).toContain('eventCodeList must hold the acquisition modality');
  });

  it('accepts a Study Instance UID reference without assigning authority, not an accession without one', async () => {
    const errors = await errorsOf((xml) => xml.replace(/\^\^\^&amp;[0-9.]+&amp;ISO\^urn:ihe:iti:xds:2016:studyInstanceUID/, '^^^^urn:ihe:iti:xds:2016:studyInstanceUID'));
    expect(errors).toEqual([]);
    const accession = await errorsOf((xml) => xml.replace(/\^\^\^&amp;[0-9.]+&amp;ISO\^urn:ihe:iti:xds:2013:accession/, '^^^^urn:ihe:iti:xds:2013:accession'));
    expect(accession.map((e) => e.context).join()).toContain('accession needs its assigning authority');
  });

  it('refuses a patientId that is not an INS CX with ^NH', async () => {
    const errors = await errorsOf((xml) => xml.replace(/(registryObject="DocumentKOS" value="[^"]+)\^NH"/, '$1^PI"'));
    expect(errors.map((e) => e.context).join()).toContain('is not an INS in CX form');
  });

  it('answers XDSUnknownPatientId for an INS that has no DMP', async () => {
    const caller = { ...dmp.caller, patient: UNKNOWN };
    const answer = await publish(dmp.newKos(UNKNOWN), caller);
    expect(answer.errors.map((e) => e.code)).toContain('XDSUnknownPatientId');
  });

  it('refuses a KOS whose content does not match its metadata (patient, study, SOP Instance UID)', async () => {
    const s = dmp.newKos();
    const alien = buildKos({ ins: OTHER_PATIENT.ins, insOid: OTHER_PATIENT.insOid, studyInstanceUid: '1.2.3.4', accession: 'OTHER', accessionIssuer: '1.2.3' });
    const answer = await publish({ ...s, kos: alien.bytes });
    const contexts = answer.errors.filter((e) => e.code === 'InvalidDocumentContent').map((e) => e.context).join('\n');
    expect(contexts).toContain(`Patient ID ${OTHER_PATIENT.ins} is not the INS ${PATIENT.ins}`);
    expect(contexts).toContain('Study Instance UID 1.2.3.4 is not the referenceIdList studyInstanceUID');
    expect(contexts).toContain(`SOP Instance UID ${alien.sopInstanceUid} differs from XDSDocumentEntry.uniqueId ${s.kosUid}`);
    expect(contexts).toContain('accession ACC-42 is not an accession number of the KOS');
  });

  it('refuses a document that is not DICOM', async () => {
    const answer = await publish({ ...dmp.newKos(), kos: Buffer.from('not a dicom file') });
    expect(answer.errors.find((e) => e.code === 'InvalidDocumentContent')?.context).toContain('not a DICOM Part 10 file');
  });

  it('refuses a signature whose manifest digest is not that of the attached KOS', async () => {
    const s = dmp.newKos();
    const answer = await publish({ ...s, signatureFor: Buffer.from('other bytes') });
    expect(answer.status).toBe('Failure');
    expect(answer.errors.map((e) => e.context).join()).toMatch(/signature document: Reference urn:oid:.* DigestValue .* is not the sha256 of the attached document/);
  });

  it('refuses a submission without the signs association', async () => {
    const errors = await errorsOf((xml) => xml.replace(/<Association[^>]*associationType="urn:ihe:iti:2007:AssociationType:signs"[^>]*>[\s\S]*?<\/Association>/, ''));
    expect(errors.map((e) => e.context).join()).toContain('needs one urn:ihe:iti:2007:AssociationType:signs association');
  });

  it('refuses a DocumentEntry without its document', async () => {
    const s = dmp.newKos();
    const message = buildIti41(dmp.sim.repositoryUrl, dmp.caller, s);
    const body = message.body.toString('latin1').replace(/<xdsb:Document id="DocumentKOS">[\s\S]*?<\/xdsb:Document>/, '');
    const answer = readAnswer(await post(dmp.sim.repositoryUrl, dmp.tls, { ...message, body: Buffer.from(body, 'latin1') }));
    expect(answer.errors.map((e) => e.code)).toContain('XDSMissingDocument');
  });

  it('accepts the same builder output unchanged, with no warning (the checks above are not vacuous)', async () => {
    const answer = await publish(dmp.newKos());
    expect(answer.status).toBe('Success');
    expect(answer.errors).toEqual([]);
  });
});
