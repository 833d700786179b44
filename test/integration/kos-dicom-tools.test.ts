import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildKos, buildRejectionNote, parseKos, type KosStudy } from '../../appliance/src/dicom/kos/index.js';
import type { ReportEvent } from '../../appliance/src/report/types.js';
import { referencePath } from '../fixtures/reference.js';

// Independent checks of our KOS by DICOM toolkits that share no code with us: dicom3tools (dciodvfy) and dcmtk.

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'kos-tools-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a tool and returns stdout + stderr together, whatever its exit status (dciodvfy exits non-zero on warnings). */
async function tool(cmd: string, args: string[]): Promise<{ out: string; code: number }> {
  try {
    const { stdout, stderr } = await run(cmd, args, { maxBuffer: 64 * 1024 * 1024 });
    return { out: stdout + stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    return { out: (e.stdout ?? '') + (e.stderr ?? ''), code: typeof e.code === 'number' ? e.code : -1 };
  }
}

const STUDY_UID = '1.2.826.0.1.3680043.10.1558.77.1';
const BASE = 'https://db1.example.fr/dicom-web';

const report: ReportEvent = {
  action: 'publish',
  trigger: 'MDM^T02',
  patient: {
    ins: { value: '279035121518989', issuerOid: '1.2.250.1.213.1.4.10' },
    birthName: 'LEFÈVRE-GÉRAUD',
    firstGivenName: 'Éloïse',
    givenNames: 'Éloïse Chloé',
    birthDate: '19790328',
    sex: 'F',
    birthPlaceCode: '63220',
  },
  studyInstanceUid: STUDY_UID,
  accession: { value: 'ACN101', issuerOid: '1.2.250.1.213.4.5.2.5' },
  placerOrder: { value: 'OPN101', issuerOid: '1.2.250.1.213.4.5.2.6' },
  modalities: [],
  regions: [],
  examDescription: 'IRM cérébrale',
  document: {},
  organisation: { name: 'Imagerie Médicale Saint-Étienne' },
  dmp: { sendToDmp: true, maskedFromProfessionals: false, invisibleToPatient: false, invisibleToLegalRepresentatives: false },
};

/** 3 series, 2,000 instances: MR 1,200 + MR 799 + one encapsulated PDF. */
const study: KosStudy = {
  studyInstanceUid: STUDY_UID,
  studyDate: '20240305',
  studyTime: '091500',
  studyDescription: 'IRM encéphale',
  studyId: '4521',
  referringPhysicianName: 'BÉRANGER^Zoé',
  series: [
    { n: 1, count: 1200, cls: '1.2.840.10008.5.1.4.1.1.4', modality: 'MR' },
    { n: 2, count: 799, cls: '1.2.840.10008.5.1.4.1.1.4', modality: 'MR' },
    { n: 3, count: 1, cls: '1.2.840.10008.5.1.4.1.1.104.1', modality: 'DOC' },
  ].map(({ n, count, cls, modality }) => ({
    seriesInstanceUid: `${STUDY_UID}.${n}`,
    modality,
    seriesNumber: n,
    seriesDescription: `Séquence ${n}`,
    instances: Array.from({ length: count }, (_, i) => ({ sopClassUid: cls, sopInstanceUid: `${STUDY_UID}.${n}.${i + 1}`, instanceNumber: i + 1 })),
  })),
};

const kos = buildKos({ report, study, retrieveBaseUrl: BASE, uidRoot: '1.2.826.0.1.3680043.10.1558' });
const kosPath = join(dir, 'kos.dcm');
writeFileSync(kosPath, kos.part10);

describe('our IMG-KOS seen by dicom3tools and dcmtk', () => {
  it('passes dciodvfy as a Key Object Selection Document with no error', async () => {
    const { out } = await tool('dciodvfy', [kosPath]);
    expect(out).toMatch(/^KeyObjectSelectionDocument$/m);
    const errors = out.split('\n').filter((line) => line.startsWith('Error'));
    expect(errors).toEqual([]);
  });

  it('passes dciodvfy for a rejection note too', async () => {
    const notePath = join(dir, 'rejection.dcm');
    const note = buildRejectionNote({
      study: { ...study, series: [study.series[0]!] },
      patient: { id: '279035121518989', issuer: 'ASIP-SANTE-INS-NIR', name: 'LEFÈVRE^Éloïse' },
      reason: '113039',
      uidRoot: '1.2.826.0.1.3680043.10.1558',
    });
    writeFileSync(notePath, note.part10);
    const { out } = await tool('dciodvfy', [notePath]);
    expect(out).toMatch(/^KeyObjectSelectionDocument$/m);
    expect(out.split('\n').filter((line) => line.startsWith('Error'))).toEqual([]);
  });

  it('shows one Retrieve URL per series in dcmdump', async () => {
    const { out, code } = await tool('dcmdump', ['+P', 'RetrieveURL', '+L', kosPath]);
    expect(code).toBe(0);
    const urls = [...out.matchAll(/\(0008,1190\) UR \[([^\]]+)\]/g)].map((m) => m[1]);
    expect(urls).toEqual([1, 2, 3].map((n) => `${BASE}/studies/${STUDY_UID}/series/${STUDY_UID}.${n}`));
  });

  it('is read by dsrdump as a Key Object Selection SR with every reference', async () => {
    const { out, code } = await tool('dsrdump', [kosPath]);
    expect(code).toBe(0);
    expect(out).toMatch(/^Key Object Selection Document$/m);
    expect(out).toContain('LEFÈVRE-GÉRAUD^Éloïse');
    expect(out).toMatch(/<CONTAINER:\(,,"Manifest"\)=SEPARATE>/);
    expect(out.match(/<contains IMAGE:=\(MR image,\)>/g)).toHaveLength(1999);
    expect(out.match(/<contains COMPOSITE:=/g)).toHaveLength(1);
    expect(out).toMatch(/<contains TEXT:\(,,"Key Object Description"\)="Examen : IRM encéphale/);
    expect(out).not.toMatch(/^E:/m);
  });
});

describe('the official ANS informative KOS (DRIM-M_DATA informatif/kin/Manifest_KOS.xml)', () => {
  it('converts with xml2dcm and parses with the sample values', async () => {
    const ansPath = join(dir, 'ans-kos.dcm');
    const { code, out } = await tool('xml2dcm', [referencePath('ansforge/DRIM-M_DATA/informatif/kin/Manifest_KOS.xml'), ansPath]);
    expect(code, out).toBe(0);
    const m = parseKos(readFileSync(ansPath));
    const study = '1.2.250.1.213.4.5.2.1.101';
    const url = (series: string) => `http://localhost:4200/api/source/studies/${study}/series/${series}`;
    expect(m).toEqual({
      sopInstanceUid: '1.2.250.1.213.4.5.2.3.101.259.31',
      sopClassUid: '1.2.840.10008.5.1.4.1.1.88.59',
      documentTitle: { code: '113030', scheme: 'DCM', meaning: 'MANIFEST' },
      patient: {
        id: '279035121518989',
        issuer: 'ASIP-SANTE-INS-NIR',
        issuerOid: '1.2.250.1.213.1.4.10',
        name: 'PAT-TROIS^DOMINIQUE',
        birthDate: '19790328',
        sex: 'F',
      },
      studyInstanceUid: study,
      accession: { value: 'ACN101', issuerOid: '1.2.250.1.213.4.5.2.5' },
      placerOrder: { value: 'OPN101', issuerOid: '1.2.250.1.213.4.5.2.6' },
      contentDate: '20240828',
      series: [
        { seriesInstanceUid: '1.2.250.1.213.4.5.2.2.101.201', studyInstanceUid: study, retrieveUrl: url('1.2.250.1.213.4.5.2.2.101.201'), instances: [{ sopClassUid: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUid: '1.2.250.1.213.4.5.2.3.101.201.31' }] },
        { seriesInstanceUid: '1.2.250.1.213.4.5.2.2.101.202', studyInstanceUid: study, retrieveUrl: url('1.2.250.1.213.4.5.2.2.101.202'), instances: [{ sopClassUid: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUid: '1.2.250.1.213.4.5.2.3.101.202.31' }] },
        { seriesInstanceUid: '1.2.250.1.213.4.5.2.2.101.299', studyInstanceUid: study, retrieveUrl: url('1.2.250.1.213.4.5.2.2.101.299'), instances: [{ sopClassUid: '1.2.840.10008.5.1.4.1.1.88.59', sopInstanceUid: '1.2.250.1.213.4.5.2.3.101.299.31' }] },
      ],
    });
  });
});
