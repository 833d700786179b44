import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReportEvent } from '../../appliance/src/report/types.js';
import type { KosFacts, XdsSubmissionContext } from '../../appliance/src/xds/types.js';

/** Shared inputs of the xds tests: a report as the RIS would send it, the box's context, the PoC KOS file. */

export const REFERENCE = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/reference');
export const XSD_DIR = join(REFERENCE, 'spec/xsd');
export const ANS_ITI41 = join(REFERENCE, 'spec/xds/bcom-iti41-provide-and-register-kos.mime.txt');
export const ANS_ITI41_RESPONSE = join(REFERENCE, 'spec/xds/bcom-iti41-response.xml');

/** test/fixtures/reference/spec/kos/bcom-test-kos.dcm (MIT, ansforge/DRIM-M_DRIMbox), UIDs from its .dicom.json. */
export function pocKos(): { bytes: Buffer; facts: KosFacts } {
  return {
    bytes: readFileSync(join(REFERENCE, 'spec/kos/bcom-test-kos.dcm')),
    facts: {
      sopInstanceUid: '1.2.276.0.7230010.3.1.4.1332562220.14700.1670582576.438',
      studyInstanceUid: '2.16.840.1.113669.632.20.1211.10000231621',
      modalities: ['CT'],
      createdAt: new Date('2022-12-09T10:42:56Z'),
    },
  };
}

export function sampleReport(overrides: Partial<ReportEvent> = {}): ReportEvent {
  return {
    action: 'publish',
    trigger: 'MDM^T02',
    messageControlId: 'MSG0001',
    patient: {
      ins: { value: '279035121518989', issuerOid: '1.2.250.1.213.1.4.10', issuerName: 'ASIP-SANTE-INS-NIR' },
      ipp: { value: 'IPP-42', issuerOid: '1.2.250.1.999.42.1' },
      birthName: 'PAT-TROIS',
      firstGivenName: 'DOMINIQUE',
      birthDate: '19790321',
      sex: 'F',
    },
    studyInstanceUid: '2.16.840.1.113669.632.20.1211.10000231621',
    accession: { value: 'ACN101', issuerOid: '1.2.250.1.213.4.5.2.5' },
    placerOrder: { value: 'OPN101', issuerOid: '1.2.250.1.213.4.5.2.6' },
    modalities: [{ code: 'CT', scheme: '1.2.840.10008.2.16.4', display: 'Computed Tomography' }],
    regions: [{ code: '67734004', scheme: '2.16.840.1.113883.6.96', display: 'Thorax' }],
    examDescription: 'Scanner thoracique',
    examStart: '20240115093000+0100',
    examEnd: '20240115094500+0100',
    document: { id: '1.2.250.1.999.7.1^CR-1', setId: '1.2.250.1.999.7.2', version: 1, title: "CR d'imagerie" },
    legalAuthenticator: { id: { value: '810001234567', issuerOid: '1.2.250.1.71.4.2.1' }, family: 'RADIO', given: 'Jeanne', prefix: 'DR' },
    organisation: { id: { value: '1750000001', issuerOid: '1.2.250.1.71.4.2.2' }, name: 'Cabinet de radiologie du Parc', idType: 'FINEG' },
    dmp: { sendToDmp: true, maskedFromProfessionals: false, invisibleToPatient: false, invisibleToLegalRepresentatives: false },
    ...overrides,
  };
}

export function sampleContext(overrides: Partial<XdsSubmissionContext> = {}): XdsSubmissionContext {
  return {
    lps: { id: 'DRIMBOX-TEST', name: 'DRIMbox', version: '0.1.0', homologationId: 'HOMOL-TEST-1' },
    structure: { id: '1750000001', name: 'Cabinet de radiologie du Parc' },
    sourceIdOid: '1.2.250.1.999.42.7',
    facilityType: { code: 'SA07', display: 'Cabinet individuel' },
    practiceSetting: { code: 'AMBULATOIRE', display: 'Ambulatoire' },
    contentType: { code: '07', scheme: '1.2.250.1.213.2.2', display: 'Consultation Soins Externes' },
    authorRole: {
      profession: { code: '10', scheme: '1.2.250.1.71.1.2.7', display: 'Médecin' },
      specialty: { code: 'SM44', scheme: '1.2.250.1.71.4.2.5', display: 'Radio-diagnostic' },
    },
    vihf: { mode: 'INDIRECTE' },
    signatureAlgorithm: 'rsa-sha256',
    ...overrides,
  };
}
