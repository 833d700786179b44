import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeIso2022, redecode, specificCharacterSetOf, usesCodeExtensions } from '../../appliance/src/dicom/dataset/iso2022.js';
import { toDicomJson } from '../../appliance/src/dimse/dicom-json.js';
import { RawDataset } from '../../appliance/src/dimse/receive.js';
import { instanceToDicomJson } from '../../appliance/src/dicomweb/dicom-json.js';
import { scanPart10 } from '../../appliance/src/dicom/dataset/part10-scan.js';
import { REAL_WORLD_DIR } from '../fixtures/real-world.js';

// Public files with ISO 2022 code extensions (pydicom's charset test set, test/fixtures/real-world/README.md); the
// expected names are the examples of PS3.5 Annex H (Japanese) and Annex I (Korean).
const file = (name: string) => join(REAL_WORLD_DIR, 'charsets', `${name}.dcm`);
const patientName = async (name: string) => (await instanceToDicomJson(await scanPart10(file(name))))['00100010']?.Value?.[0];

describe('DICOM JSON of text under ISO 2022 code extensions', () => {
  it('decodes Japanese (JIS X 0208, and JIS X 0201 katakana as the first set) per PS3.5 Annex H', async () => {
    expect(await patientName('chrH31')).toEqual({ Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' });
    expect(await patientName('chrH32')).toEqual({ Alphabetic: 'ﾔﾏﾀﾞ^ﾀﾛｳ', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' });
    expect(await patientName('chrJapMulti')).toEqual({ Alphabetic: 'やまだ^たろう' });
  });

  it('decodes Korean (KS X 1001 in G1) per PS3.5 Annex I', async () => {
    expect(await patientName('chrI2')).toEqual({ Alphabetic: 'Hong^Gildong', Ideographic: '洪^吉洞', Phonetic: '홍^길동' });
    expect(await patientName('chrKoreanMulti')).toEqual({ Alphabetic: '김희중' });
  });

  it('decodes a C-FIND identifier the same way (QIDO over DIMSE): the set is read from the received bytes', async () => {
    const layout = await scanPart10(file('chrI2'));
    const bytes = readFileSync(file('chrI2')).subarray(layout.datasetOffset);
    expect(specificCharacterSetOf(bytes, false)).toEqual(['', 'ISO 2022 IR 149']);
    const json = toDicomJson(new RawDataset(bytes, layout.transferSyntaxUid));
    expect(json['00100010']?.Value?.[0]).toEqual({ Alphabetic: 'Hong^Gildong', Ideographic: '洪^吉洞', Phonetic: '홍^길동' });
    expect(specificCharacterSetOf(Buffer.from([0x10, 0x00, 0x10, 0x00, 0x50, 0x4e, 0x00, 0x00]), false)).toEqual([]);
  });

  it('leaves single character sets to the reader (Greek ISO_IR 126) and says UTF-8 in the answer', async () => {
    const json = await instanceToDicomJson(await scanPart10(file('chrGreek')));
    expect(json['00100010']?.Value?.[0]).toEqual({ Alphabetic: 'Διονυσιος' });
    expect(json['00080005']?.Value).toEqual(['ISO_IR 192']);
  });

  it('switches sets at each escape and returns to the initial ones at delimiters', () => {
    const bytes = (...parts: (string | number[])[]) => Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));
    // G1 Greek designated by ESC - F: 0xE1 is alpha; after the CR the initial (empty) G1 is back.
    expect(decodeIso2022(bytes([0x1b, 0x2d, 0x46, 0xe1], '\r', [0xe1]), ['', 'ISO 2022 IR 126'])).toBe('α\r\u00e1');
    expect(decodeIso2022(bytes([0x1b, 0x24, 0x42], ';3ED', [0x1b, 0x28, 0x42], '^x'), ['', 'ISO 2022 IR 87'], true)).toBe('山田^x');
    expect(usesCodeExtensions(['ISO_IR 100'])).toBe(false);
    expect(usesCodeExtensions(['', 'ISO 2022 IR 87'])).toBe(true);
    // A string with no escape and no high character is left alone.
    expect(redecode('DUPONT^Jean', ['', 'ISO 2022 IR 87'], true)).toBe('DUPONT^Jean');
  });
});
