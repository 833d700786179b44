import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeStudy, type SynthCharset, type SynthModality, type SynthTransferSyntax } from '../../appliance/src/dicom/synth/index.js';

const run = promisify(execFile);

/** dciodvfy (dicom3tools) writes its verdict on stderr: the IOD it recognised, then Error/Warning lines. */
async function dciodvfy(path: string): Promise<{ iod: string; errors: string[]; warnings: string[] }> {
  let output: string;
  try {
    const { stdout, stderr } = await run('dciodvfy', [path]);
    output = stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    output = (e.stdout ?? '') + (e.stderr ?? '');
  }
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  return {
    iod: lines.find((l) => !/^(Error|Warning)/.test(l)) ?? '',
    errors: lines.filter((l) => l.startsWith('Error')),
    warnings: lines.filter((l) => l.startsWith('Warning')),
  };
}

const IOD: Record<SynthModality, string> = { CT: 'CTImage', MR: 'MRImage', CR: 'CRImage' };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synth-dciodvfy-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cases: [SynthModality, SynthCharset, SynthTransferSyntax][] = [
  ['CT', 'ISO_IR 192', 'explicit-le'],
  ['CT', 'ISO_IR 100', 'explicit-le'],
  ['MR', 'ISO_IR 192', 'explicit-le'],
  ['MR', 'ISO_IR 100', 'explicit-le'],
  ['CR', 'ISO_IR 192', 'explicit-le'],
  ['CR', 'ISO_IR 100', 'explicit-le'],
  ['CT', 'ISO_IR 100', 'implicit-le'],
  ['MR', 'ISO_IR 192', 'implicit-le'],
];

describe('every generated file passes dciodvfy', () => {
  it.each(cases)('%s, %s, %s: no error, no warning, in every series', async (modality, charset, transferSyntax) => {
    const outDir = join(dir, `${modality}-${charset.replace(/ /g, '_')}-${transferSyntax}`);
    // Three series so that each CT reconstruction, MR sequence and CR view is checked; CR kept small.
    const result = await synthesizeStudy({
      modality,
      instances: 6,
      seriesCount: 3,
      outDir,
      charset,
      transferSyntax,
      seed: 11,
      ...(modality === 'CR' ? { rows: 250, columns: 200 } : { rows: 64, columns: 64 }),
    });
    expect(result.files).toHaveLength(6);
    for (const file of result.files) {
      const verdict = await dciodvfy(file);
      expect(verdict.iod, file).toBe(IOD[modality]);
      expect(verdict.errors, file).toEqual([]);
      expect(verdict.warnings, file).toEqual([]);
    }
  });

  it('at the default sizes too (512×512 CT, 256×256 MR, 2000×1600 CR)', async () => {
    for (const modality of ['CT', 'MR', 'CR'] as const) {
      const result = await synthesizeStudy({ modality, instances: 1, outDir: join(dir, `default-${modality}`), charset: 'ISO_IR 100', seed: 3 });
      const verdict = await dciodvfy(result.files[0]!);
      expect(verdict.iod).toBe(IOD[modality]);
      expect(verdict.errors).toEqual([]);
    }
  });

  it('dciodvfy does report errors (the check can fail)', async () => {
    const verdict = await dciodvfy('/etc/hostname');
    expect(verdict.errors.length).toBeGreaterThan(0);
  });
});
