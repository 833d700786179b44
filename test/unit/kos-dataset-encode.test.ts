import { describe, expect, it } from 'vitest';
import { encodeDataset, EncodeError } from '../../appliance/src/dicom/dataset/encode.js';
import { readPart10, writePart10, text, personName, sequence, integerString, readItems, readString, readStrings, readInteger, IMPLICIT_VR_LE, EXPLICIT_VR_LE } from '../../appliance/src/dicom/dataset/index.js';

const hex = (b: Buffer) => b.toString('hex');

describe('encodeDataset (the writer behind our KOS files)', () => {
  it('writes Explicit VR short and long headers, padding UI with NUL and text with a space', () => {
    const b = encodeDataset({ '00080018': text('UI', '1.2.3'), '00080060': text('CS', 'KO'), '00081190': text('UR', 'http://x/a') }, 'explicit');
    expect(hex(b)).toBe(
      '08001800' + '5549' + '0600' + Buffer.from('1.2.3\0').toString('hex') +
        '08006000' + '4353' + '0200' + Buffer.from('KO').toString('hex') +
        '08009011' + '5552' + '0000' + '0a000000' + Buffer.from('http://x/a').toString('hex'),
    );
  });

  it('writes Implicit VR headers with a 32-bit length and no VR', () => {
    const b = encodeDataset({ '00100020': text('LO', 'ABC') }, 'implicit');
    expect(hex(b)).toBe('10002000' + '04000000' + Buffer.from('ABC ').toString('hex'));
  });

  it('sorts tags, writes sequences and items with undefined length and delimiters', () => {
    const b = encodeDataset({ '0040A730': sequence({ '0040A010': text('CS', 'CONTAINS') }, {}), '00080005': text('CS', 'ISO_IR 192') }, 'explicit');
    const seqAt = b.indexOf(Buffer.from([0x40, 0x00, 0x30, 0xa7]));
    expect(b.indexOf(Buffer.from([0x08, 0x00, 0x05, 0x00]))).toBe(0);
    expect(hex(b.subarray(seqAt, seqAt + 12))).toBe('4000' + '30a7' + '5351' + '0000' + 'ffffffff');
    expect(hex(b.subarray(seqAt + 12, seqAt + 20))).toBe('feff00e0ffffffff');
    // Empty second item, then its delimiter, then the sequence delimiter.
    expect(hex(b.subarray(b.length - 24))).toBe('feff00e0ffffffff' + 'feff0de000000000' + 'feffdde000000000');
  });

  it('round-trips through dcmjs in both VR encodings, UTF-8 text and multiple values included', () => {
    const dataset = {
      '00080005': text('CS', 'ISO_IR 192'),
      '00080016': text('UI', '1.2.840.10008.5.1.4.1.1.88.59'),
      '00080018': text('UI', '1.2.3.4'),
      '00100010': personName('GÉRAUD^Zoé'),
      '00101001': personName('^Zoé', 'GÉRAUD^Zoé Chloé'),
      '00200011': integerString(59),
      '0040A730': sequence({ '0040A160': text('UT', 'Série 1 : Thorax – coupes'), '00081199': sequence({ '00081155': text('UI', '1.2.3.4.5') }) }),
    };
    for (const transferSyntaxUid of [IMPLICIT_VR_LE, EXPLICIT_VR_LE] as const) {
      const { dataset: back, transferSyntaxUid: ts } = readPart10(writePart10(dataset, { sopClassUid: '1.2.840.10008.5.1.4.1.1.88.59', sopInstanceUid: '1.2.3.4', transferSyntaxUid }));
      expect(ts).toBe(transferSyntaxUid);
      expect(readString(back, '00100010')).toBe('GÉRAUD^Zoé');
      expect(readStrings(back, '00101001')).toEqual(['^Zoé', 'GÉRAUD^Zoé Chloé']);
      expect(readInteger(back, '00200011')).toBe(59);
      const item = readItems(back, '0040A730')[0];
      expect(readString(item, '0040A160')).toBe('Série 1 : Thorax – coupes');
      expect(readString(readItems(item, '00081199')[0], '00081155')).toBe('1.2.3.4.5');
    }
  });

  it('refuses values that would make an invalid file', () => {
    expect(() => encodeDataset({ '00080050': text('SH', 'A'.repeat(17)) }, 'explicit')).toThrow(/SH value "A{17}" is longer than 16 characters/);
    expect(() => encodeDataset({ '00081030': text('LO', 'a\\b') }, 'explicit')).toThrow(/contains a backslash/);
    expect(() => encodeDataset({ '00080060': text('CS', 'KÖ') }, 'explicit')).toThrow(EncodeError);
    expect(() => encodeDataset({ '00100010': personName('X'.repeat(70_000)) }, 'explicit')).toThrow(/exceeds the 16-bit length/);
    expect(() => encodeDataset({ '7FE00010': { vr: 'OW', Value: [] } }, 'explicit')).toThrow(/VR OW is not supported/);
    expect(() => encodeDataset({ 'bad': text('CS', 'X') }, 'explicit')).toThrow(/not an 8-digit hexadecimal tag/);
  });
});
