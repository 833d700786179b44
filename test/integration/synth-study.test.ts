import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeStudy } from '../../appliance/src/dicom/synth/index.js';
import { isValidUid } from '../../appliance/src/dicom/uid.js';

const run = promisify(execFile);

/** Values of `tags` in each file, as dcmdump prints them (one dcmdump process for all files). */
async function dumpTags(files: string[], tags: string[]): Promise<Map<string, string>[]> {
  const args = ['-q', ...tags.flatMap((t) => ['+P', t]), '+F', ...files];
  const { stdout } = await run('dcmdump', ['+U8', ...args], { maxBuffer: 64 * 1024 * 1024 });
  const perFile: Map<string, string>[] = [];
  let current: Map<string, string> | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# dcmdump')) {
      current = new Map();
      perFile.push(current);
      continue;
    }
    const m = line.match(/^\((\w{4},\w{4})\) \w\w (?:\[(.*?)\]|(\S+))/);
    if (m && current) current.set(m[1]!, m[2] ?? m[3]!);
  }
  if (perFile.length === 0) {
    // Single file: dcmdump prints no per-file banner.
    const single = new Map<string, string>();
    for (const line of stdout.split('\n')) {
      const m = line.match(/^\((\w{4},\w{4})\) \w\w (?:\[(.*?)\]|(\S+))/);
      if (m) single.set(m[1]!, m[2] ?? m[3]!);
    }
    perFile.push(single);
  }
  return perFile;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synth-study-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a study shaped like the ANS performance set', () => {
  it('1,300 CT instances: 1,300 files, 1,300 distinct SOP Instance UIDs, one study, series as asked', async () => {
    const outDir = join(dir, 'ans-1300');
    let calls = 0;
    let last: [number, number] = [0, 0];
    const result = await synthesizeStudy({
      modality: 'CT',
      instances: 1300,
      seriesCount: 4,
      rows: 128,
      columns: 128,
      outDir,
      onProgress: (done, total) => {
        calls++;
        last = [done, total];
      },
    });
    expect(calls).toBe(1300);
    expect(last).toEqual([1300, 1300]);
    expect(result.files).toHaveLength(1300);
    expect(new Set(result.files).size).toBe(1300);
    expect(result.series.map((s) => s.instances.length)).toEqual([325, 325, 325, 325]);

    const onDisk = (await Promise.all(result.series.map((s) => readdir(dirname(s.instances[0]!.path))))).flat();
    expect(onDisk).toHaveLength(1300);
    const sizes = new Set(await Promise.all(result.files.map(async (f) => (await stat(f)).size - 128 * 128 * 2)));
    for (const headerBytes of sizes) expect(headerBytes).toBeGreaterThan(1000); // header present, pixels complete

    const dumped = await dumpTags(result.files, ['SOPInstanceUID', 'MediaStorageSOPInstanceUID', 'StudyInstanceUID', 'SeriesInstanceUID', 'InstanceNumber']);
    expect(dumped).toHaveLength(1300);
    const sopUids = dumped.map((d) => d.get('0008,0018')!);
    expect(new Set(sopUids).size).toBe(1300);
    expect(sopUids.every(isValidUid)).toBe(true);
    expect(dumped.every((d) => d.get('0002,0003') === d.get('0008,0018'))).toBe(true);
    expect(new Set(dumped.map((d) => d.get('0020,000d')))).toEqual(new Set([result.studyInstanceUid]));
    expect(new Set(dumped.map((d) => d.get('0020,000e')))).toEqual(new Set(result.series.map((s) => s.seriesInstanceUid)));
    expect(sopUids).toEqual(result.series.flatMap((s) => s.instances.map((i) => i.sopInstanceUid)));
    const firstSeries = dumped.slice(0, 325).map((d) => Number(d.get('0020,0013')));
    expect(firstSeries).toEqual(Array.from({ length: 325 }, (_, i) => i + 1));
  });

  it('full size, 512×512: ~512 KiB per file, consistent geometry, brain HU in the middle, every slice different', async () => {
    const count = 21;
    const result = await synthesizeStudy({ modality: 'CT', instances: count, outDir: join(dir, 'full'), seed: 5 });
    const pixelBytes = 512 * 512 * 2;
    for (const f of result.files) {
      const size = (await stat(f)).size;
      expect(size).toBeGreaterThan(pixelBytes);
      expect(size).toBeLessThan(pixelBytes + 4096);
    }
    const dumped = await dumpTags(result.files, ['Rows', 'Columns', 'PixelSpacing', 'ImagePositionPatient', 'ImageOrientationPatient', 'SliceLocation', 'SliceThickness', 'RescaleIntercept', 'RescaleSlope', 'WindowCenter', 'WindowWidth']);
    const z = dumped.map((d) => Number(d.get('0020,0032')!.split('\\')[2]));
    const thickness = Number(dumped[0]!.get('0018,0050'));
    for (let k = 0; k < count; k++) {
      const d = dumped[k]!;
      expect([d.get('0028,0010'), d.get('0028,0011')]).toEqual(['512', '512']);
      expect(d.get('0020,0037')).toBe('1\\0\\0\\0\\1\\0');
      expect(Number(d.get('0020,1041'))).toBe(z[k]);
      if (k > 0) expect(z[k]! - z[k - 1]!).toBeCloseTo(thickness, 5);
      // The first pixel's centre sits half a field of view left of and behind the isocentre.
      const [x0, y0] = d.get('0020,0032')!.split('\\').map(Number);
      const spacing = Number(d.get('0028,0030')!.split('\\')[0]);
      expect(x0! + (511 / 2) * spacing).toBeCloseTo(0, 3);
      expect(y0! + (511 / 2) * spacing).toBeCloseTo(0, 3);
      expect(512 * spacing).toBeCloseTo(250, 0);
    }
    expect(thickness).toBeCloseTo(172 / (count - 1), 5);
    expect(dumped[0]!.get('0028,1050')).toBe('40\\600');
    expect(dumped[0]!.get('0028,1051')).toBe('80\\2800');

    const pixels = await Promise.all(result.files.map(async (f) => (await readFile(f)).subarray(-pixelBytes)));
    expect(new Set(pixels.map((p) => createHash('sha256').update(p).digest('hex'))).size).toBe(count);
    const intercept = Number(dumped[10]!.get('0028,1052'));
    const slope = Number(dumped[10]!.get('0028,1053'));
    const hu = (p: Buffer, row: number, col: number) => p.readUInt16LE((row * 512 + col) * 2) * slope + intercept;
    // Slice 11 of 21 is at z = 0: brain (35 HU) at the centre, air in the corner, bone on the skull's edge.
    expect(z[10]).toBe(0);
    expect(Math.abs(hu(pixels[10]!, 255, 255) - 35)).toBeLessThan(25);
    expect(Math.abs(hu(pixels[10]!, 5, 5) + 1000)).toBeLessThan(25);
    const skullRow = Math.round((0 + (511 / 2) * 0.488281 - 0.905 * 110) / 0.488281); // anterior shell: classic y = 0.905, LPS y = -99.6 mm
    expect(hu(pixels[10]!, skullRow, 255)).toBeGreaterThan(900);
  });

  it('is reproducible: the same seed writes byte-identical files, another seed other UIDs', async () => {
    const options = { modality: 'MR' as const, instances: 4, seriesCount: 2, rows: 48, columns: 48, seed: 1234 };
    const a = await synthesizeStudy({ ...options, outDir: join(dir, 'seed-a') });
    const b = await synthesizeStudy({ ...options, outDir: join(dir, 'seed-b') });
    const c = await synthesizeStudy({ ...options, seed: 1235, outDir: join(dir, 'seed-c') });
    expect(b.studyInstanceUid).toBe(a.studyInstanceUid);
    for (let i = 0; i < a.files.length; i++) {
      expect(basename(b.files[i]!)).toBe(basename(a.files[i]!));
      expect((await readFile(b.files[i]!)).equals(await readFile(a.files[i]!))).toBe(true);
    }
    expect(c.studyInstanceUid).not.toBe(a.studyInstanceUid);
    expect((await readFile(c.files[0]!)).equals(await readFile(a.files[0]!))).toBe(false);
  });

  it('uses the caller’s study UID, accession, patient and UID root', async () => {
    const result = await synthesizeStudy({
      modality: 'CR',
      instances: 2,
      rows: 40,
      columns: 32,
      outDir: join(dir, 'given'),
      uidRoot: '1.2.826.0.1.3680043.10.1558',
      studyInstanceUid: '1.2.826.0.1.3680043.10.1558.99.1',
      accessionNumber: 'ACN101',
      patient: { name: 'BERNARD^Jean', id: 'IPP42', sex: 'M', birthDate: '19600101' },
    });
    expect(result.studyInstanceUid).toBe('1.2.826.0.1.3680043.10.1558.99.1');
    expect(result.patient).toEqual({ name: 'BERNARD^Jean', id: 'IPP42', sex: 'M', birthDate: '19600101' });
    expect(result.series[0]!.seriesInstanceUid.startsWith('1.2.826.0.1.3680043.10.1558.')).toBe(true);
    const [d] = await dumpTags([result.files[0]!], ['AccessionNumber', 'PatientName', 'PatientID', 'IssuerOfPatientID', 'PatientSex', 'Modality', 'SOPClassUID']);
    expect(d!.get('0008,0050')).toBe('ACN101');
    expect(d!.get('0010,0010')).toBe('BERNARD^Jean');
    expect(d!.get('0010,0020')).toBe('IPP42');
    expect(d!.has('0010,0021')).toBe(false);
    expect(d!.get('0008,0060')).toBe('CR');
    expect(d!.get('0008,0016')).toBe('=ComputedRadiographyImageStorage');
  });
});
