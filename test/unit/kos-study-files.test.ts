import { mkdtempSync, rmSync, writeFileSync, readFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeStudy, type SynthResult } from '../../appliance/src/dicom/synth/index.js';
import { studyFromFiles } from '../../appliance/src/dicom/kos/index.js';
import { readPart10Header } from '../../appliance/src/dicom/dataset/index.js';

const dir = mkdtempSync(join(tmpdir(), 'kos-files-'));
let synth: SynthResult;

beforeAll(async () => {
  synth = await synthesizeStudy({ modality: 'CT', instances: 12, seriesCount: 3, rows: 256, columns: 256, outDir: join(dir, 'study'), seed: 7 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readPart10Header', () => {
  it('stops before Pixel Data: the header of a 130 KB image comes from its first 64 KB alone', async () => {
    const size = readFileSync(synth.files[0]!).length;
    expect(size).toBeGreaterThan(128 * 1024); // 256x256x16 bits of pixels
    // With maxBytes equal to the first read, needing one byte more than 64 KB would throw.
    const header = await readPart10Header(synth.files[0]!, { initialBytes: 64 * 1024, maxBytes: 64 * 1024 });
    expect(header.dataset['00080018']?.Value?.[0]).toBe(synth.series[0]!.instances[0]!.sopInstanceUid);
    expect(header.dataset['7FE00010']?.Value).toBe(0); // reached, value not read
    await expect(readPart10Header(synth.files[0]!, { initialBytes: 512, maxBytes: 1024 })).rejects.toThrow(/DICOM header larger than 1024 bytes/);
  });

  it('grows its read when the header is larger than the first chunk', async () => {
    const header = await readPart10Header(synth.files[1]!, { initialBytes: 200 });
    expect(header.dataset['0020000D']?.Value?.[0]).toBe(synth.studyInstanceUid);
  });

  it('names the file it refuses', async () => {
    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, Buffer.alloc(300, 7));
    await expect(readPart10Header(junk)).rejects.toThrow(`${junk}: not a DICOM Part-10 file: no "DICM" marker`);
  });
});

describe('studyFromFiles', () => {
  it('groups the files by study and series, with the attributes the KOS needs, and lists what it skipped', async () => {
    const extra = join(dir, 'study', 'notes');
    mkdirSync(extra, { recursive: true });
    writeFileSync(join(extra, 'README.txt'), 'not an image');
    symlinkSync('/etc/hostname', join(extra, 'outside'));
    const found = await studyFromFiles(join(dir, 'study'));
    expect(found.studies).toHaveLength(1);
    const study = found.studies[0]!;
    expect(study.studyInstanceUid).toBe(synth.studyInstanceUid);
    expect(study.studyDate).toMatch(/^\d{8}$/);
    expect(study.series.map((s) => s.seriesInstanceUid)).toEqual(synth.series.map((s) => s.seriesInstanceUid));
    expect(study.series.map((s) => s.seriesNumber)).toEqual([1, 2, 3]);
    expect(study.series.every((s) => s.modality === 'CT')).toBe(true);
    for (const [i, s] of study.series.entries()) {
      const expected = synth.series[i]!.instances.map((x) => ({ sopClassUid: x.sopClassUid, sopInstanceUid: x.sopInstanceUid }));
      expect(s.instances.map(({ sopClassUid, sopInstanceUid }) => ({ sopClassUid, sopInstanceUid })).sort((a, b) => a.sopInstanceUid.localeCompare(b.sopInstanceUid))).toEqual(
        expected.sort((a, b) => a.sopInstanceUid.localeCompare(b.sopInstanceUid)),
      );
      expect(s.instances.every((x) => Number.isInteger(x.instanceNumber))).toBe(true);
    }
    // The symbolic link to a file outside the folder is neither followed nor reported as an instance.
    expect(found.skipped).toEqual([{ path: join(extra, 'README.txt'), reason: 'not a DICOM Part-10 file: 12 bytes, shorter than the 128-byte preamble and "DICM" marker' }]);
  });
});
