import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeStudy, type SynthResult } from '../../appliance/src/dicom/synth/index.js';
import type { ReportEvent } from '../../appliance/src/report/types.js';
import { referencePath } from '../fixtures/reference.js';

// `drimbox kos build` / `kos dump` as a technician runs them: real process, files on disk, dciodvfy on the result.

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'kos-cli-'));
const BASE = 'https://db1.example.fr/dicom-web';
const ROOT = '1.2.826.0.1.3680043.10.1558';
const CDA = referencePath('spec/cda/IMG_CR_IMG_2023.11_CDA-R2-Niveau-1.xml');
const CDA_STUDY_UID = '1.2.250.1.3.152.235.2.12.187636474'; // its documentationOf/serviceEvent/id
let synth: SynthResult;

async function drimbox(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/drimbox.js', ...args], {
      cwd: join(import.meta.dirname, '../..'),
      env: { ...process.env, DRIMBOX_LOG_LEVEL: 'error' },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function dciodvfyErrors(path: string): Promise<{ out: string; errors: string[] }> {
  const out = await run('dciodvfy', [path]).then(
    (r) => r.stdout + r.stderr,
    (e: { stdout?: string; stderr?: string }) => (e.stdout ?? '') + (e.stderr ?? ''),
  );
  return { out, errors: out.split('\n').filter((l) => l.startsWith('Error')) };
}

function reportFor(studyInstanceUid: string): ReportEvent {
  return {
    action: 'publish',
    trigger: 'ORU^R01',
    patient: {
      ins: { value: synth.patient.id, issuerOid: '1.2.250.1.213.1.4.10' },
      birthName: 'DURAND-LÉGER',
      firstGivenName: 'Hélène',
      birthDate: '19790312',
      sex: 'F',
    },
    studyInstanceUid,
    accession: { value: synth.accessionNumber, issuerOid: '1.2.250.1.213.4.5.2.5' },
    placerOrder: { value: 'CMD-77', issuerOid: '1.2.250.1.213.4.5.2.6' },
    modalities: [],
    regions: [],
    examDescription: 'Scanner cérébral',
    document: {},
    dmp: { sendToDmp: true, maskedFromProfessionals: false, invisibleToPatient: false, invisibleToLegalRepresentatives: false },
  };
}

beforeAll(async () => {
  synth = await synthesizeStudy({ modality: 'CT', instances: 40, seriesCount: 3, rows: 64, columns: 64, outDir: join(dir, 'study'), seed: 11 });
  writeFileSync(join(dir, 'study', 'DICOMDIR.txt'), 'index written by a burner, not DICOM');
  writeFileSync(join(dir, 'report.json'), JSON.stringify(reportFor(synth.studyInstanceUid)));
  // The exam the ANS CDA fixture reports on.
  await synthesizeStudy({ modality: 'CT', instances: 6, seriesCount: 2, rows: 32, columns: 32, outDir: join(dir, 'cda-study'), studyInstanceUid: CDA_STUDY_UID, seed: 3 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('drimbox kos build', () => {
  it('builds from Part-10 files and a report event, and the KOS passes dciodvfy', async () => {
    const out = join(dir, 'kos.dcm');
    const r = await drimbox('kos', 'build', '--study-dir', join(dir, 'study'), '--report', join(dir, 'report.json'), '--out', out, '--retrieve-base', BASE, '--uid-root', ROOT);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ out, studyInstanceUid: synth.studyInstanceUid, series: 3, instances: 40 });
    expect(String(summary.sopInstanceUid).startsWith(ROOT + '.')).toBe(true);
    expect(summary.skippedFiles).toEqual([{ path: join(dir, 'study', 'DICOMDIR.txt'), reason: expect.stringContaining('not a DICOM Part-10 file') }]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const { out: verdict, errors } = await dciodvfyErrors(out);
    expect(verdict).toMatch(/^KeyObjectSelectionDocument$/m);
    expect(errors).toEqual([]);
  });

  it('dump prints patient, study, accession and per series the Retrieve URL and instances', async () => {
    const r = await drimbox('kos', 'dump', join(dir, 'kos.dcm'));
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout) as {
      patient: Record<string, string>;
      studyInstanceUid: string;
      accession: unknown;
      placerOrder: unknown;
      series: { seriesInstanceUid: string; retrieveUrl: string; instances: { sopClassUid: string; sopInstanceUid: string }[] }[];
    };
    expect(m.patient).toEqual({ id: synth.patient.id, issuer: 'ASIP-SANTE-INS-NIR', issuerOid: '1.2.250.1.213.1.4.10', name: 'DURAND-LÉGER^Hélène', birthDate: '19790312', sex: 'F' });
    expect(m.studyInstanceUid).toBe(synth.studyInstanceUid);
    expect(m.accession).toEqual({ value: synth.accessionNumber, issuerOid: '1.2.250.1.213.4.5.2.5' });
    expect(m.placerOrder).toEqual({ value: 'CMD-77', issuerOid: '1.2.250.1.213.4.5.2.6' });
    expect(m.series.map((s) => s.seriesInstanceUid)).toEqual(synth.series.map((s) => s.seriesInstanceUid));
    for (const [i, s] of m.series.entries()) {
      expect(s.retrieveUrl).toBe(`${BASE}/studies/${synth.studyInstanceUid}/series/${s.seriesInstanceUid}`);
      const expected = synth.series[i]!.instances.map((x) => `${x.sopClassUid} ${x.sopInstanceUid}`).sort();
      expect(s.instances.map((x) => `${x.sopClassUid} ${x.sopInstanceUid}`).sort()).toEqual(expected);
    }
  });

  it('builds from the ANS CDA report fixture for the exam it names', async () => {
    const studyDir = join(dir, 'cda-study');
    const out = join(dir, 'cda-kos.dcm');
    const r = await drimbox('kos', 'build', '--study-dir', studyDir, '--report', CDA, '--out', out, '--retrieve-base', BASE, '--uid-root', ROOT);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const dump = JSON.parse((await drimbox('kos', 'dump', out)).stdout) as { patient: { id: string; issuerOid: string }; studyInstanceUid: string; series: unknown[] };
    expect(dump.patient.id).toBe('279035121518989');
    expect(dump.patient.issuerOid).toBe('1.2.250.1.213.1.4.10');
    expect(dump.studyInstanceUid).toBe(CDA_STUDY_UID);
    expect(dump.series).toHaveLength(2);
    expect((await dciodvfyErrors(out)).errors).toEqual([]);
  });

  it('builds from an HL7 ORU^R01 carrying that CDA (ANS ORU "K" header with the CDA fixture in OBX-5)', async () => {
    const header = readFileSync(referencePath('spec/hl7v2/drim-m-data-ORU_R01_K.head-only.hl7'), 'utf8');
    const oru = join(dir, 'oru.hl7');
    writeFileSync(oru, header.replace('{{BASE64_CDA_ELIDED}}', readFileSync(CDA).toString('base64')));
    const out = join(dir, 'oru-kos.dcm');
    const r = await drimbox('kos', 'build', '--study-dir', join(dir, 'cda-study'), '--report', oru, '--out', out, '--retrieve-base', BASE, '--uid-root', ROOT);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const dump = JSON.parse((await drimbox('kos', 'dump', out)).stdout) as { patient: { id: string; name: string }; studyInstanceUid: string; accession?: { value: string } };
    expect(dump.patient.id).toBe('279035121518989');
    expect(dump.patient.name).toBe('PAT-TROIS^DOMINIQUE');
    expect(dump.studyInstanceUid).toBe(CDA_STUDY_UID);
  });

  it('refuses a report for another exam, naming both studies, and writes nothing', async () => {
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify(reportFor('1.2.3.4.5')));
    const out = join(dir, 'never.dcm');
    const r = await drimbox('kos', 'build', '--study-dir', join(dir, 'study'), '--report', other, '--out', out, '--retrieve-base', BASE, '--uid-root', ROOT);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`drimbox kos build: the report is for study 1.2.3.4.5; ${join(dir, 'study')} holds ${synth.studyInstanceUid} (1 file(s) skipped as not DICOM)\n`);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a report file it cannot read and reports usage errors', async () => {
    const junk = join(dir, 'junk.txt');
    writeFileSync(junk, 'hello');
    const r = await drimbox('kos', 'build', '--study-dir', join(dir, 'study'), '--report', junk, '--out', join(dir, 'x.dcm'), '--retrieve-base', BASE, '--uid-root', ROOT);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is neither a CDA (XML), an HL7 v2 message (MSH...) nor a report event (JSON)');
    const usage = await drimbox('kos', 'build', '--study-dir', join(dir, 'study'));
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('kos build needs --study-dir DIR, --report FILE and --out FILE');
  });
});

describe('drimbox kos dump', () => {
  it('reads another producer\'s KOS (b<>com sample)', async () => {
    const r = await drimbox('kos', 'dump', referencePath('spec/kos/bcom-test-kos.dcm'));
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout) as { studyInstanceUid: string; series: { retrieveUrl: string }[] };
    expect(m.studyInstanceUid).toBe('2.16.840.1.113669.632.20.1211.10000231621');
    expect(m.series[0]!.retrieveUrl).toMatch(/^http:\/\/localhost:8080\/dcm4chee-arc\/aets\/AS_RECEIVED\/rs\/studies\//);
  });

  it('refuses an image, saying what it is', async () => {
    const r = await drimbox('kos', 'dump', synth.files[0]!);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`drimbox kos dump: not a KOS: SOP Class UID is ${synth.series[0]!.instances[0]!.sopClassUid}, expected 1.2.840.10008.5.1.4.1.1.88.59 (Key Object Selection Document)\n`);
    expect(readFileSync(synth.files[0]!).length).toBeGreaterThan(0);
  });

  it('refuses a missing file', async () => {
    const r = await drimbox('kos', 'dump', join(dir, 'nope.dcm'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`drimbox kos dump: KOS ${join(dir, 'nope.dcm')}: no such file\n`);
  });
});
