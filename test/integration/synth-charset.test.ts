import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeStudy } from '../../appliance/src/dicom/synth/index.js';

const run = promisify(execFile);

/** dcmdump's output as raw bytes (dcmtk prints string values as they are stored unless asked to convert). */
async function dcmdump(args: string[]): Promise<Buffer> {
  const { stdout } = await run('dcmdump', args, { encoding: 'buffer' });
  return stdout;
}

/** The bracketed value of the first line printed for `tag`, decoded as `encoding`. */
function valueOf(dump: Buffer, tag: string, encoding: BufferEncoding): string {
  const line = dump.toString(encoding).split('\n').find((l) => l.startsWith(tag));
  const match = line?.match(/\[(.*)\]/);
  if (!match) throw new Error(`no value for ${tag} in dcmdump output`);
  return match[1]!;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synth-charset-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('accented French names survive the round trip through dcmtk', () => {
  it('ISO_IR 100: stored as Latin-1 bytes, read back by dcmdump as the same name', async () => {
    const name = 'DURAND-LÉGER^Hélène';
    const institution = "Centre d'imagerie Saint-Éloi";
    const { files } = await synthesizeStudy({ modality: 'CT', instances: 2, rows: 32, columns: 32, outDir: join(dir, 'latin1'), charset: 'ISO_IR 100', patient: { name }, institutionName: institution });
    const file = files[0]!;

    const bytes = await readFile(file);
    expect(bytes.includes(Buffer.from(name, 'latin1'))).toBe(true);
    expect(bytes.includes(Buffer.from(name, 'utf8'))).toBe(false);

    const raw = await dcmdump(['+P', 'SpecificCharacterSet', '+P', 'PatientName', '+P', 'InstitutionName', file]);
    expect(valueOf(raw, '(0008,0005)', 'latin1')).toBe('ISO_IR 100');
    expect(valueOf(raw, '(0010,0010)', 'latin1')).toBe(name);
    expect(valueOf(raw, '(0008,0080)', 'latin1')).toBe(institution);

    // dcmtk converting from the declared character set to UTF-8 must give the same text.
    const converted = await dcmdump(['+U8', '+P', 'PatientName', '+P', 'InstitutionName', file]);
    expect(valueOf(converted, '(0010,0010)', 'utf8')).toBe(name);
    expect(valueOf(converted, '(0008,0080)', 'utf8')).toBe(institution);
  });

  it('ISO_IR 192: stored as UTF-8, including characters Latin-1 lacks (œ, Ÿ)', async () => {
    const name = 'LŒUILLET-HAŸ^Zoé';
    const { files } = await synthesizeStudy({ modality: 'MR', instances: 1, rows: 32, columns: 32, outDir: join(dir, 'utf8'), charset: 'ISO_IR 192', patient: { name } });
    const bytes = await readFile(files[0]!);
    expect(bytes.includes(Buffer.from(name, 'utf8'))).toBe(true);
    const dump = await dcmdump(['+U8', '+P', 'SpecificCharacterSet', '+P', 'PatientName', files[0]!]);
    expect(valueOf(dump, '(0008,0005)', 'utf8')).toBe('ISO_IR 192');
    expect(valueOf(dump, '(0010,0010)', 'utf8')).toBe(name);
  });

  it('carries the INS: Patient ID, Issuer of Patient ID and the INS OID in the qualifiers sequence', async () => {
    const { files, patient } = await synthesizeStudy({ modality: 'CR', instances: 1, rows: 40, columns: 32, outDir: join(dir, 'ins'), charset: 'ISO_IR 100' });
    const dump = (await dcmdump(['+U8', files[0]!])).toString('utf8');
    expect(patient.id).toMatch(/^[12][0-9]{14}$/);
    expect(dump).toContain(`(0010,0020) LO [${patient.id}]`);
    expect(dump).toContain('(0010,0021) LO [ASIP-SANTE-INS-NIR]');
    expect(dump).toMatch(/\(0010,0024\) SQ[^\n]*\n[^\n]*Item[^\n]*\n\s+\(0040,0032\) UT \[1\.2\.250\.1\.213\.1\.4\.10\][^\n]*\n\s+\(0040,0033\) CS \[ISO\]/);
  });
});
