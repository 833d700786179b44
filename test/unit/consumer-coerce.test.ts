import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoercionError, coerceFile, issuerElements } from '../../appliance/src/consumer/coerce.js';
import { readPart10 } from '../../appliance/src/dicom/dataset/part10.js';
import type { DcmDataset } from '../../appliance/src/dicom/dataset/dcmjs.js';
import { synthesizeStudy, type SynthResult } from '../../appliance/src/dicom/synth/index.js';
import { scanPart10 } from '../../appliance/src/dicom/dataset/part10-scan.js';
import { makeMiniStudy, type MiniStudy } from '../fixtures/mini-instances.js';

let work: string;
let explicit: SynthResult;
let implicit: SynthResult;
let mini: MiniStudy;

const INS = '279035121518989';
const LOCAL = { id: 'IPP-0042', issuer: 'CABINET-STRAS&1.2.250.1.999.42.1&ISO' };
const CHANGED = new Set(['00100020', '00100021', '00100024', '00101002']);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'consumer-coerce-'));
  const patient = { name: 'BERNARD^Jean', id: INS, issuer: 'ASIP-SANTE-INS-NIR', insOid: '1.2.250.1.213.1.4.10', birthDate: '19790312', sex: 'M' as const };
  explicit = await synthesizeStudy({ modality: 'CT', instances: 2, rows: 64, columns: 64, outDir: join(work, 'explicit'), patient, seed: 7 });
  implicit = await synthesizeStudy({ modality: 'MR', instances: 1, rows: 64, columns: 64, outDir: join(work, 'implicit'), patient, transferSyntax: 'implicit-le', seed: 8 });
  mini = await makeMiniStudy({ outDir: join(work, 'mini'), instances: 1, patientId: 'PLAIN-ID' });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const str = (ds: DcmDataset | undefined, tag: string) => ds?.[tag]?.Value?.[0] as string | undefined;
const items = (ds: DcmDataset | undefined, tag: string) => (ds?.[tag]?.Value ?? []) as DcmDataset[];

function datasetOf(path: string): DcmDataset {
  return readPart10(readFileSync(path)).dataset;
}

/** The bytes from Pixel Data to the end of the file. */
async function pixelTail(path: string): Promise<Buffer> {
  const layout = await scanPart10(path);
  return readFileSync(path).subarray(layout.pixelData!.offset);
}

function unchanged(ds: DcmDataset): string {
  const copy: Record<string, unknown> = {};
  for (const [tag, el] of Object.entries(ds)) if (!CHANGED.has(tag) && tag !== '7FE00010') copy[tag] = el;
  return JSON.stringify(copy);
}

describe('patient-ID coercion on import', () => {
  it.each(['explicit', 'implicit'] as const)('%s VR: the local IPP replaces the INS, which moves to Other Patient IDs; nothing else changes', async (kind) => {
    const source = (kind === 'explicit' ? explicit : implicit).files[0]!;
    const out = join(work, `${kind}-coerced.dcm`);
    await coerceFile(source, out, LOCAL);
    const before = datasetOf(source);
    const after = datasetOf(out);
    expect(str(after, '00100020')).toBe('IPP-0042');
    expect(str(after, '00100021')).toBe('CABINET-STRAS');
    expect(str(items(after, '00100024')[0], '00400032')).toBe('1.2.250.1.999.42.1');
    expect(str(items(after, '00100024')[0], '00400033')).toBe('ISO');
    const [other, ...rest] = items(after, '00101002');
    expect(rest).toEqual([]);
    expect(str(other, '00100020')).toBe(INS);
    expect(str(other, '00100021')).toBe('ASIP-SANTE-INS-NIR');
    expect(str(other, '00100022')).toBe('TEXT');
    expect(str(items(other, '00100024')[0], '00400032')).toBe('1.2.250.1.213.1.4.10');
    expect(unchanged(after)).toBe(unchanged(before));
    expect((await pixelTail(out)).equals(await pixelTail(source))).toBe(true);
    expect(readPart10(readFileSync(out)).transferSyntaxUid).toBe(readPart10(readFileSync(source)).transferSyntaxUid);
    // the source file is untouched
    expect(str(datasetOf(source), '00100020')).toBe(INS);
  });

  it('coercing again keeps the earlier identifiers, most recent first', async () => {
    const once = join(work, 'once.dcm');
    const twice = join(work, 'twice.dcm');
    await coerceFile(explicit.files[1]!, once, LOCAL);
    await coerceFile(once, twice, { id: 'NEW-7', issuer: '1.2.250.1.999.77' });
    const ds = datasetOf(twice);
    expect(str(ds, '00100020')).toBe('NEW-7');
    expect(str(ds, '00100021')).toBe('1.2.250.1.999.77');
    expect(items(ds, '00101002').map((i) => str(i, '00100020'))).toEqual(['IPP-0042', INS]);
    expect((await pixelTail(twice)).equals(await pixelTail(explicit.files[1]!))).toBe(true);
  });

  it('a file without issuer gets one; an issuer without OID gets no qualifiers', async () => {
    const out = join(work, 'mini-coerced.dcm');
    await coerceFile(mini.files[0]!, out, { id: 'IPP-9', issuer: 'CABINET' });
    const ds = datasetOf(out);
    expect(str(ds, '00100020')).toBe('IPP-9');
    expect(str(ds, '00100021')).toBe('CABINET');
    expect(ds['00100024']).toBeUndefined();
    expect(items(ds, '00101002').map((i) => str(i, '00100020'))).toEqual(['PLAIN-ID']);
    expect(Math.abs(statSync(out).size - statSync(mini.files[0]!).size)).toBeLessThan(200);
  });

  it('refuses what it cannot write safely', async () => {
    await expect(coerceFile(explicit.files[0]!, join(work, 'bad.dcm'), { id: 'IPP\\1' })).rejects.toBeInstanceOf(CoercionError);
    await expect(coerceFile(explicit.files[0]!, join(work, 'bad.dcm'), { id: 'x'.repeat(65) })).rejects.toBeInstanceOf(CoercionError);
    await expect(coerceFile(join(work, 'nothing.dcm'), join(work, 'bad.dcm'), { id: 'A' })).rejects.toBeInstanceOf(CoercionError);
  });

  it('reads the issuer as the RIS sends it', () => {
    expect(issuerElements('CHU-X&1.2.250.1.1&ISO')).toEqual({ issuerOfPatientId: 'CHU-X', universalEntityId: '1.2.250.1.1', universalEntityIdType: 'ISO' });
    expect(issuerElements('&1.2.250.1.1&ISO')).toEqual({ issuerOfPatientId: '1.2.250.1.1', universalEntityId: '1.2.250.1.1', universalEntityIdType: 'ISO' });
    expect(issuerElements('1.2.250.1.1')).toEqual({ issuerOfPatientId: '1.2.250.1.1', universalEntityId: '1.2.250.1.1', universalEntityIdType: 'ISO' });
    expect(issuerElements('CABINET')).toEqual({ issuerOfPatientId: 'CABINET' });
    expect(issuerElements('')).toEqual({});
  });
});
