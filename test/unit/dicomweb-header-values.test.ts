import { describe, expect, it } from 'vitest';
import { INDEXED_TAGS } from '../../appliance/src/consumer/cache/attributes.js';
import { instanceToDicomJson } from '../../appliance/src/dicomweb/dicom-json.js';
import { headerValues } from '../../appliance/src/dicomweb/header-values.js';
import { scanPart10 } from '../../appliance/src/dicom/dataset/part10-scan.js';

/**
 * The consumer cache indexes each received instance from its bytes directly (header-values.ts); the reference is
 * the general header reading (dcmjs, dicom-json.ts). Same DICOM JSON on hand-made headers that stress what a
 * direct reading can get wrong: padding, several values, empty values, numbers, character sets, implicit VR; and
 * no answer (the caller then reads the general way) where it would have to guess.
 */

const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const IMPLICIT_LE = '1.2.840.10008.1.2';
const LONG_VRS = new Set(['OB', 'OW', 'SQ', 'UN', 'UT', 'UC', 'UR']);

type Value = string | Buffer;
interface El {
  tag: number;
  vr: string;
  value: Value;
}

function valueBytes(vr: string, value: Value, charset: BufferEncoding = 'latin1'): Buffer {
  const raw = Buffer.isBuffer(value) ? value : Buffer.from(value, charset);
  return raw.length % 2 ? Buffer.concat([raw, Buffer.from(vr === 'UI' ? [0] : [0x20])]) : raw;
}

function element(el: El, implicit: boolean, charset?: BufferEncoding): Buffer {
  const value = valueBytes(el.vr, el.value, charset);
  const tag = Buffer.alloc(4);
  tag.writeUInt16LE(el.tag >>> 16, 0);
  tag.writeUInt16LE(el.tag & 0xffff, 2);
  if (implicit) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(value.length);
    return Buffer.concat([tag, len, value]);
  }
  if (LONG_VRS.has(el.vr)) {
    const len = Buffer.alloc(8);
    len.write(el.vr, 0, 'latin1');
    len.writeUInt32LE(value.length, 4);
    return Buffer.concat([tag, len, value]);
  }
  const len = Buffer.alloc(4);
  len.write(el.vr, 0, 'latin1');
  len.writeUInt16LE(value.length, 2);
  return Buffer.concat([tag, len, value]);
}

function part10(elements: El[], transferSyntax = EXPLICIT_LE, charset?: BufferEncoding): Buffer {
  const ts = element({ tag: 0x00020010, vr: 'UI', value: transferSyntax }, false);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(ts.length);
  const meta = Buffer.concat([element({ tag: 0x00020000, vr: 'UL', value: groupLength }, false), ts]);
  const implicit = transferSyntax === IMPLICIT_LE;
  const sorted = [...elements].sort((a, b) => a.tag - b.tag);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), meta, ...sorted.map((e) => element(e, implicit, charset))]);
}

const us = (...n: number[]) => {
  const b = Buffer.alloc(2 * n.length);
  n.forEach((v, i) => b.writeUInt16LE(v, 2 * i));
  return b;
};

const BASE: El[] = [
  { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
  { tag: 0x00080018, vr: 'UI', value: '1.2.3.4.5' },
  { tag: 0x0020000d, vr: 'UI', value: '1.2.3' },
  { tag: 0x0020000e, vr: 'UI', value: '1.2.3.4' },
];

async function both(bytes: Buffer, tags: ReadonlySet<number>) {
  const layout = await scanPart10('/never/opened.dcm', { bytes, size: bytes.length });
  const direct = headerValues(layout, bytes, tags);
  const general = await instanceToDicomJson(layout, { bulkDataUri: () => 'not-indexed' }, { onlyTags: tags, head: bytes });
  for (const tag of Object.keys(general)) if (!tags.has(parseInt(tag, 16))) delete general[tag];
  return { direct, general };
}

const tagsOf = (elements: El[]) => new Set([...elements.map((e) => e.tag), 0x00080005]);

describe('headerValues (indexed attributes read straight from the received bytes)', () => {
  it('agrees with the general reading on padding, several values, empty values, numbers and names', async () => {
    const elements: El[] = [
      ...BASE,
      { tag: 0x00080008, vr: 'CS', value: 'ORIGINAL\\PRIMARY\\AXIAL ' },
      { tag: 0x00080020, vr: 'DA', value: '20261206' },
      { tag: 0x00080030, vr: 'TM', value: '101500.25 ' },
      { tag: 0x00080050, vr: 'SH', value: '' },
      { tag: 0x00080060, vr: 'CS', value: ' CT ' },
      { tag: 0x00080090, vr: 'PN', value: 'MARTIN^CLAIRE^^DR' },
      { tag: 0x00081030, vr: 'LO', value: '  Scanner thorax injecté ' },
      { tag: 0x00180015, vr: 'CS', value: 'CHEST\\ABDOMEN ' },
      { tag: 0x00100010, vr: 'PN', value: 'DUPONT^JEAN=^=' },
      { tag: 0x00100020, vr: 'LO', value: 'IPP-0042' },
      { tag: 0x00200013, vr: 'IS', value: ' 12 ' },
      { tag: 0x00200011, vr: 'IS', value: '3\\\\-4' },
      { tag: 0x00280030, vr: 'DS', value: '0.48828125\\4.5E-1' },
      { tag: 0x00280010, vr: 'US', value: us(512) },
      { tag: 0x00280011, vr: 'US', value: us(512) },
      { tag: 0x00280100, vr: 'US', value: us(16) },
      { tag: 0x00400000, vr: 'UL', value: Buffer.from([4, 0, 0, 0]) },
      { tag: 0x0040a160, vr: 'UT', value: '  texte libre\r\n' },
    ];
    const { direct, general } = await both(part10(elements), tagsOf(elements));
    expect(direct).toBeDefined();
    expect(direct).toEqual(general);
    expect(direct!['00200013']).toEqual({ vr: 'IS', Value: [12] });
    expect(direct!['00080050']).toEqual({ vr: 'SH' });
    expect(direct!['00400000'], 'group lengths are not attributes').toBeUndefined();
  });

  it('trims each of several values, as PS3.5 Table 6.2-1 has leading and trailing spaces of each value insignificant', async () => {
    // dcmjs trims the whole string before splitting it: " b" would keep its space there.
    const elements: El[] = [...BASE, { tag: 0x00081030, vr: 'LO', value: ' Scanner thorax \\ injecté ' }];
    const { direct } = await both(part10(elements), tagsOf(elements));
    expect(direct!['00081030']).toEqual({ vr: 'LO', Value: ['Scanner thorax', 'injecté'] });
  });

  it('decodes texts in the declared single-byte or UTF-8 character set, and says ISO_IR 192 once in JSON', async () => {
    for (const [charset, encoding, name] of [
      ['ISO_IR 100', 'latin1', 'LÉVÊQUE^Cécile'],
      ['ISO_IR 192', 'utf8', 'ΚΩΝΣΤΑΝΤΊΝΟΣ^Ζωή'],
      ['', 'latin1', 'DURAND^Zoë'],
    ] as const) {
      const elements: El[] = [...BASE, ...(charset ? [{ tag: 0x00080005, vr: 'CS', value: charset }] : []), { tag: 0x00100010, vr: 'PN', value: name }, { tag: 0x00081030, vr: 'LO', value: `${name} étude` }];
      const { direct, general } = await both(part10(elements, EXPLICIT_LE, encoding), INDEXED_TAGS);
      expect(direct, charset).toEqual(general);
      expect(direct!['00100010']!.Value, charset).toEqual([{ Alphabetic: name }]);
      if (charset) expect(direct!['00080005'], charset).toEqual({ vr: 'CS', Value: ['ISO_IR 192'] });
    }
  });

  it('reads implicit VR Little Endian with the data dictionary', async () => {
    const elements: El[] = [...BASE, { tag: 0x00080060, vr: 'CS', value: 'MR' }, { tag: 0x00200013, vr: 'IS', value: '7' }, { tag: 0x00280010, vr: 'US', value: us(256) }];
    const { direct, general } = await both(part10(elements, IMPLICIT_LE), INDEXED_TAGS);
    expect(direct).toEqual(general);
    expect(direct!['00280010']).toEqual({ vr: 'US', Value: [256] });
  });

  it('gives no answer where it would have to guess: code extensions, an unknown charset, a sequence, big endian', async () => {
    const cases: [string, El[], string][] = [
      ['ISO 2022 code extensions', [...BASE, { tag: 0x00080005, vr: 'CS', value: '\\ISO 2022 IR 87' }], EXPLICIT_LE],
      ['an unknown character set', [...BASE, { tag: 0x00080005, vr: 'CS', value: 'ISO_IR 999' }], EXPLICIT_LE],
      ['a sequence asked for', [...BASE, { tag: 0x00081110, vr: 'SQ', value: Buffer.alloc(0) }], EXPLICIT_LE],
    ];
    for (const [what, elements, ts] of cases) {
      const bytes = part10(elements, ts);
      const layout = await scanPart10('/never/opened.dcm', { bytes, size: bytes.length });
      expect(headerValues(layout, bytes, tagsOf(elements)), what).toBeUndefined();
    }
    const bytes = part10(BASE);
    const layout = await scanPart10('/never/opened.dcm', { bytes, size: bytes.length });
    expect(headerValues({ ...layout, transferSyntaxUid: '1.2.840.10008.1.2.2' }, bytes, INDEXED_TAGS), 'big endian').toBeUndefined();
    expect(headerValues(layout, bytes.subarray(0, bytes.length - 4), INDEXED_TAGS), 'a value past the bytes given').toBeUndefined();
    expect(headerValues(layout, bytes, INDEXED_TAGS)).toEqual({
      '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] },
      '00080018': { vr: 'UI', Value: ['1.2.3.4.5'] },
      '0020000D': { vr: 'UI', Value: ['1.2.3'] },
      '0020000E': { vr: 'UI', Value: ['1.2.3.4'] },
    });
  });
});
