import { describe, expect, it } from 'vitest';
import { findIdentifier, toDicomJson } from '../../appliance/src/dimse/dicom-json.js';
import { RawDataset } from '../../appliance/src/dimse/receive.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Explicit VR little endian element, short form. */
function el(group: number, element: number, vr: string, value: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16LE(group, 0);
  h.writeUInt16LE(element, 2);
  h.write(vr, 4, 'latin1');
  h.writeUInt16LE(value.length, 6);
  return Buffer.concat([h, value]);
}

describe('C-FIND identifiers to DICOM JSON (PS3.18 F.2)', () => {
  it('decodes with the character set, drops empty values, keeps numbers as numbers', () => {
    const bytes = Buffer.concat([
      el(0x0008, 0x0005, 'CS', Buffer.from('ISO_IR 100')),
      el(0x0008, 0x0020, 'DA', Buffer.alloc(0)),
      el(0x0008, 0x0052, 'CS', Buffer.from('STUDY ')),
      el(0x0010, 0x0010, 'PN', Buffer.from('L\xe9a^H\xe9l\xe8ne', 'latin1')),
      el(0x0020, 0x000d, 'UI', Buffer.from('1.2.3\0', 'latin1')),
      el(0x0020, 0x1208, 'IS', Buffer.from('12')),
    ]);
    const json = toDicomJson(new RawDataset(bytes, '1.2.840.10008.1.2.1'));
    expect(json['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'Léa^Hélène' }] });
    expect(json['00080020']).toEqual({ vr: 'DA' });
    expect(json['00080052']).toEqual({ vr: 'CS', Value: ['STUDY'] });
    expect(json['0020000D']).toEqual({ vr: 'UI', Value: ['1.2.3'] });
    expect(json['00201208']).toEqual({ vr: 'IS', Value: [12] });
    expect(Object.keys(json)).toEqual(['00080005', '00080020', '00080052', '00100010', '0020000D', '00201208']);
  });

  it('builds the identifier with the unique keys of the level, and refuses unknown keywords', () => {
    expect(findIdentifier({ level: 'IMAGE', keys: { StudyInstanceUID: '1.2.3' } })).toEqual({
      QueryRetrieveLevel: 'IMAGE',
      StudyInstanceUID: '1.2.3',
      SeriesInstanceUID: [],
      SOPInstanceUID: [],
    });
    expect(findIdentifier({ level: 'STUDY', keys: { PatientName: 'Hélène*' } })).toMatchObject({ SpecificCharacterSet: 'ISO_IR 192', PatientName: 'Hélène*' });
    expect(() => findIdentifier({ level: 'STUDY', keys: { PatientNam: '' } })).toThrow(/unknown DICOM attribute keyword "PatientNam"/);
    expect(() => findIdentifier({ level: 'STUDY', keys: { __proto__x: '' } })).toThrow(/unknown/);
  });
});

describe('no dependency on dcmjs-dimse (issue 15)', () => {
  const dir = join(import.meta.dirname, '../../appliance/src/dimse');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));

  it('imports dcmjs-dimse only for the C-STORE transcoding fallback', () => {
    const importing = files.filter((f) => /from 'dcmjs-dimse'/.test(readFileSync(join(dir, f), 'utf8')));
    expect(importing).toEqual(['transcode.ts']);
  });

  it('uses none of its private members', () => {
    expect(files.length).toBeGreaterThan(20);
    for (const f of files) {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(text, f).not.toMatch(/\b(Network|NetworkInternals|_processP\w*|_sendDimse|_performDimse|methodFactory|getPdvs)\b|\.pending\b/);
    }
  });
});
