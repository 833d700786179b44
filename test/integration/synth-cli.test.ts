import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/drimbox.js');

function drimbox(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, DRIMBOX_LOG_LEVEL: 'error' } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synth-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('drimbox synth', () => {
  it('writes the study, reports progress on stderr and a JSON summary on stdout', async () => {
    const out = join(dir, 'study');
    const { code, stdout, stderr } = await drimbox([
      'synth', '--modality', 'MR', '--instances', '30', '--series', '3', '--rows', '64', '--columns', '64',
      '--out', out, '--patient-name', 'BERNARD^Jean', '--patient-id', '180017512345678', '--charset', 'ISO_IR 100', '--accession', 'ACN101',
    ]);
    expect(stderr).toContain('synth: 30/30 files (100%)');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as {
      studyInstanceUid: string;
      accessionNumber: string;
      modality: string;
      patient: { name: string; id: string };
      series: { seriesInstanceUid: string; modality: string; instances: number }[];
      files: number;
      bytes: number;
      seconds: number;
      outDir: string;
    };
    expect(summary.accessionNumber).toBe('ACN101');
    expect(summary.modality).toBe('MR');
    expect(summary.patient).toEqual({ name: 'BERNARD^Jean', id: '180017512345678' });
    expect(summary.series.map((s) => s.instances)).toEqual([10, 10, 10]);
    expect(summary.files).toBe(30);
    expect(summary.outDir).toBe(out);
    expect(summary.seconds).toBeGreaterThan(0);
    // The study UID comes from the configured root (box.uidRoot default).
    expect(summary.studyInstanceUid.startsWith('1.2.826.0.1.3680043.10.1558.')).toBe(true);

    const folders = (await readdir(out)).sort();
    expect(folders).toEqual(['series-01', 'series-02', 'series-03']);
    let bytes = 0;
    for (const f of folders) for (const name of await readdir(join(out, f))) bytes += (await stat(join(out, f, name))).size;
    expect(summary.bytes).toBe(bytes);
  });

  it('takes --uid-root, --seed and an INS: the same command twice gives the same UIDs', async () => {
    const args = ['synth', '--modality', 'CR', '--instances', '1', '--rows', '40', '--columns', '32', '--uid-root', '1.2.3.4', '--seed', '9',
      '--patient-id', '279035121518989', '--patient-issuer', 'ASIP-SANTE-INS-NIR', '--ins-oid', '1.2.250.1.213.1.4.10'];
    const a = await drimbox([...args, '--out', join(dir, 'a')]);
    const b = await drimbox([...args, '--out', join(dir, 'b')]);
    expect(a.code).toBe(0);
    const ua = (JSON.parse(a.stdout) as { studyInstanceUid: string }).studyInstanceUid;
    expect(ua.startsWith('1.2.3.4.')).toBe(true);
    expect((JSON.parse(b.stdout) as { studyInstanceUid: string }).studyInstanceUid).toBe(ua);
    const { stdout: dump } = await promisify(execFile)('dcmdump', ['+P', 'PatientID', '+P', 'IssuerOfPatientID', '+P', 'UniversalEntityID', join(dir, 'a', 'series-01', '00001.dcm')]);
    expect(dump).toContain('[279035121518989]');
    expect(dump).toContain('[ASIP-SANTE-INS-NIR]');
    expect(dump).toContain('[1.2.250.1.213.1.4.10]');
  });

  it('exits 2 with a clear message on bad usage, writing nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['--instances', '3', '--out', join(dir, 'x')], /--modality is required/],
      [['--modality', 'US', '--instances', '3', '--out', join(dir, 'x')], /--modality must be one of 'CT', 'MR', 'CR', got "US"/],
      [['--modality', 'CT', '--instances', 'many', '--out', join(dir, 'x')], /--instances must be a whole number/],
      [['--modality', 'CT', '--instances', '3'], /--out is required/],
      [['--modality', 'CT', '--instances', '3', '--out', join(dir, 'x'), '--series', '4'], /seriesCount must be an integer from 1 to 3/],
      [['--modality', 'CT', '--instances', '3', '--out', join(dir, 'x'), '--charset', 'ISO_IR 100', '--patient-name', 'CŒUR^Léa'], /"Œ", which ISO_IR 100 \(Latin-1\) cannot encode/],
      [['--modality', 'CT', '--instances', '3', '--out', join(dir, 'x'), '--bogus'], /Unknown option '--bogus'/],
    ];
    const runs = await Promise.all(cases.map(([args]) => drimbox(['synth', ...args])));
    runs.forEach(({ code, stderr, stdout }, i) => {
      const [args, message] = cases[i]!;
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(message);
      expect(stdout).toBe('');
    });
    await expect(stat(join(dir, 'x'))).rejects.toThrow(/ENOENT/);
  });

  it('prints its usage with --help', async () => {
    const { code, stdout } = await drimbox(['synth', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('usage: drimbox synth --modality CT|MR|CR --instances N --out DIR');
  });
});
