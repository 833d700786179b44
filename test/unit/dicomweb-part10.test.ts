import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeStudy, type SynthResult } from '../../appliance/src/dicom/synth/index.js';
import { instanceToDicomJson } from '../../appliance/src/dicomweb/dicom-json.js';
import { locateFrames } from '../../appliance/src/dicomweb/frames.js';
import { rewriteLittleEndian } from '../../appliance/src/dicomweb/le-rewrite.js';
import { peekPart10Meta } from '../../appliance/src/dicomweb/part10-peek.js';
import { Part10Error, scanPart10 } from '../../appliance/src/dicom/dataset/part10-scan.js';
import { REAL_WORLD_DIR } from '../fixtures/real-world.js';

// ------------------------------------------------------------------ a hand-made Explicit VR LE Part-10 writer
const LONG = new Set(['OB', 'OW', 'SQ', 'UN', 'UT', 'OD', 'OF', 'OL', 'OV', 'UC', 'UR']);
const UNDEFINED = 0xffffffff;

function tagBytes(tag: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(tag >>> 16, 0);
  b.writeUInt16LE(tag & 0xffff, 2);
  return b;
}

function element(tag: number, vr: string, value: Buffer, length = value.length): Buffer {
  const padded = value.length % 2 ? Buffer.concat([value, Buffer.from([vr === 'UI' || vr === 'OB' ? 0 : 0x20])]) : value;
  const len = length === UNDEFINED ? UNDEFINED : padded.length;
  if (LONG.has(vr)) {
    const h = Buffer.alloc(8);
    h.write(vr, 0, 'latin1');
    h.writeUInt32LE(len, 4);
    return Buffer.concat([tagBytes(tag), h, padded]);
  }
  const h = Buffer.alloc(4);
  h.write(vr, 0, 'latin1');
  h.writeUInt16LE(len, 2);
  return Buffer.concat([tagBytes(tag), h, padded]);
}

function item(value: Buffer, undefinedLength = false): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32LE(undefinedLength ? UNDEFINED : value.length, 0);
  const body = Buffer.concat([tagBytes(0xfffee000), h, value]);
  return undefinedLength ? Buffer.concat([body, tagBytes(0xfffee00d), Buffer.alloc(4)]) : body;
}

function implicitElement(tag: number, value: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(value.length);
  return Buffer.concat([tagBytes(tag), len, value]);
}

const SEQ_END = Buffer.concat([tagBytes(0xfffee0dd), Buffer.alloc(4)]);
const us = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};

function part10(ts: string, dataset: Buffer[]): Buffer {
  const metaBody = Buffer.concat([
    element(0x00020001, 'OB', Buffer.from([0, 1])),
    element(0x00020002, 'UI', Buffer.from('1.2.840.10008.5.1.4.1.1.7')),
    element(0x00020003, 'UI', Buffer.from('2.25.42')),
    element(0x00020010, 'UI', Buffer.from(ts)),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(metaBody.length);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), element(0x00020000, 'UL', groupLength), metaBody, ...dataset]);
}

/** An encapsulated (JPEG-LS) 3-frame instance; frame 2 is split over two fragments. */
function encapsulated(options: { offsetTable: boolean; fragments: Buffer[] }): Buffer {
  const items = options.fragments.map((f) => item(f));
  let bot = Buffer.alloc(0);
  if (options.offsetTable) {
    // frame starts: fragment 0, fragment 1, fragment 3 (relative to the first fragment item)
    const starts = [0, items[0]!.length, items[0]!.length + items[1]!.length + items[2]!.length];
    bot = Buffer.alloc(12);
    starts.forEach((s, i) => bot.writeUInt32LE(s, i * 4));
  }
  const nestedSequence = element(
    0x00081115,
    'SQ',
    Buffer.concat([item(Buffer.concat([element(0x00081150, 'UI', Buffer.from('1.2.3')), element(0x00081155, 'UI', Buffer.from('1.2.3.4'))]), true), SEQ_END]),
    UNDEFINED,
  );
  return part10('1.2.840.10008.1.2.4.80', [
    element(0x00080005, 'CS', Buffer.from('ISO_IR 100')),
    element(0x00080016, 'UI', Buffer.from('1.2.840.10008.5.1.4.1.1.7')),
    element(0x00080018, 'UI', Buffer.from('2.25.42')),
    nestedSequence,
    element(0x00100010, 'PN', Buffer.from('NUÑEZ^Hélène', 'latin1')),
    element(0x0020000d, 'UI', Buffer.from('2.25.1')),
    element(0x0020000e, 'UI', Buffer.from('2.25.2')),
    element(0x00280002, 'US', us(1)),
    element(0x00280008, 'IS', Buffer.from('3')),
    element(0x00280010, 'US', us(4)),
    element(0x00280011, 'US', us(4)),
    element(0x00280100, 'US', us(8)),
    element(0x00420011, 'OB', Buffer.alloc(2000, 7)),
    // A private sequence of unknown VR: UN, undefined length, its items in implicit VR LE (PS3.5 §6.2.2).
    element(0x00431001, 'UN', Buffer.concat([item(implicitElement(0x00431002, Buffer.from('AB')), true), SEQ_END]), UNDEFINED),
    element(0x7fe00010, 'OB', Buffer.concat([item(bot), ...items, SEQ_END]), UNDEFINED),
  ]);
}

const frame1 = Buffer.from([0xff, 0xd8, 1, 1, 1, 1]);
const frame2a = Buffer.from([0xff, 0xd8, 2, 2]);
const frame2b = Buffer.from([2, 2, 2, 2]);
const frame3 = Buffer.from([0xff, 0xd8, 3, 3, 3, 3, 3, 3]);

let dir: string;
let synthExplicit: SynthResult;
let synthImplicit: SynthResult;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dicomweb-part10-'));
  synthExplicit = await synthesizeStudy({ modality: 'CT', instances: 2, outDir: join(dir, 'explicit'), rows: 64, columns: 64, charset: 'ISO_IR 100', patient: { name: 'NUÑEZ^Hélène' }, seed: 1 });
  synthImplicit = await synthesizeStudy({ modality: 'CT', instances: 1, outDir: join(dir, 'implicit'), rows: 32, columns: 48, transferSyntax: 'implicit-le', seed: 2 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, bytes: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

describe('Part-10 scan', () => {
  it('finds Pixel Data and the image attributes of an explicit VR LE CT', async () => {
    const path = synthExplicit.files[0]!;
    const layout = await scanPart10(path);
    expect(layout.transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
    expect(layout).toMatchObject({ rows: 64, columns: 64, bitsAllocated: 16, samplesPerPixel: 1 });
    expect(layout.sopInstanceUid).toBe(synthExplicit.series[0]!.instances[0]!.sopInstanceUid);
    expect(layout.pixelData!.length).toBe(64 * 64 * 2);
    expect(layout.pixelData!.valueOffset + layout.pixelData!.length!).toBeLessThanOrEqual(readFileSync(path).length);
  });

  it('reads an implicit VR LE file too', async () => {
    const layout = await scanPart10(synthImplicit.files[0]!);
    expect(layout).toMatchObject({ transferSyntaxUid: '1.2.840.10008.1.2', rows: 32, columns: 48 });
    expect(layout.pixelData!.length).toBe(32 * 48 * 2);
    const [[range]] = (await locateFrames(layout)) as [[{ offset: number; length: number }]];
    expect(range.length).toBe(32 * 48 * 2);
  });

  it('cuts YBR_FULL_422 frames at two values a pixel (PS3.3 C.7.6.3.1.2), not three', async () => {
    // A public file (pydicom's test set, test/fixtures/real-world/README.md): 100×100, 8 bits, one frame.
    const layout = await scanPart10(join(REAL_WORLD_DIR, 'SC_ybr_full_422_uncompressed.dcm'));
    expect(layout).toMatchObject({ photometricInterpretation: 'YBR_FULL_422', samplesPerPixel: 3, rows: 100, columns: 100 });
    const [[range]] = (await locateFrames(layout)) as [[{ offset: number; length: number }]];
    expect(range.length).toBe(100 * 100 * 2);
  });

  it('skips undefined-length sequences (and a UN one, read as implicit VR) and locates fragments through the offset table', async () => {
    const path = write('encap-bot.dcm', encapsulated({ offsetTable: true, fragments: [frame1, frame2a, frame2b, frame3] }));
    const layout = await scanPart10(path);
    expect(layout.numberOfFrames).toBe(3);
    expect(layout.pixelData!.length).toBeUndefined();
    const frames = await locateFrames(layout);
    const bytes = readFileSync(path);
    const frameBytes = frames.map((ranges) => Buffer.concat(ranges.map((r) => bytes.subarray(r.offset, r.offset + r.length))));
    expect(frameBytes).toEqual([frame1, Buffer.concat([frame2a, frame2b]), frame3]);
  });

  it('tells frames apart without an offset table: one fragment per frame, or by JPEG start markers', async () => {
    const one = write('encap-one.dcm', encapsulated({ offsetTable: false, fragments: [frame1, frame2a, frame3] }));
    let bytes = readFileSync(one);
    let frames = await locateFrames(await scanPart10(one));
    expect(frames.map((f) => bytes.subarray(f[0]!.offset, f[0]!.offset + f[0]!.length))).toEqual([frame1, frame2a, frame3]);

    const split = write('encap-split.dcm', encapsulated({ offsetTable: false, fragments: [frame1, frame2a, frame2b, frame3] }));
    bytes = readFileSync(split);
    frames = await locateFrames(await scanPart10(split));
    expect(frames.map((f) => f.length)).toEqual([1, 2, 1]);
    expect(bytes.subarray(frames[1]![1]!.offset, frames[1]![1]!.offset + 4)).toEqual(frame2b);
  });

  it('walks a header longer than its read window (a sequence of thousands of items), from the file and from a short head', async () => {
    // 5,000 undefined-length items of ~50 bytes: the sequence spans four 64 KiB windows of the file cursor.
    const items = Array.from({ length: 5000 }, (_, i) => item(Buffer.concat([element(0x00081150, 'UI', Buffer.from('1.2.3')), element(0x00081155, 'UI', Buffer.from(`2.25.${i}`))]), true));
    const before = part10('1.2.840.10008.1.2.1', [
      element(0x00080016, 'UI', Buffer.from('1.2.840.10008.5.1.4.1.1.7')),
      element(0x00080018, 'UI', Buffer.from('2.25.42')),
      element(0x00081115, 'SQ', Buffer.concat([...items, SEQ_END]), UNDEFINED),
      element(0x0020000d, 'UI', Buffer.from('2.25.1')),
      element(0x00280010, 'US', us(2)),
    ]);
    const bytes = Buffer.concat([before, element(0x7fe00010, 'OW', Buffer.alloc(8, 9))]);
    expect(before.length).toBeGreaterThan(3 * 64 * 1024);
    const path = write('long-header.dcm', bytes);
    const fromFile = await scanPart10(path);
    expect(fromFile.pixelData?.offset).toBe(before.length);
    expect(fromFile.pixelData?.length).toBe(8);
    expect([fromFile.studyInstanceUid, fromFile.rows]).toEqual(['2.25.1', 2]);
    expect(await scanPart10(path, { bytes: bytes.subarray(0, 1000), size: bytes.length })).toEqual(fromFile);
    // Cut inside the sequence, and inside the 12-byte header of a long VR: refused as truncated.
    const cutInSequence = write('long-header-cut.dcm', bytes.subarray(0, 100_000));
    await expect(scanPart10(cutInSequence)).rejects.toThrow(Part10Error);
    const cutInHeader = write('long-vr-cut.dcm', bytes.subarray(0, before.length + 10));
    await expect(scanPart10(cutInHeader)).rejects.toThrow(/truncated at byte/);
  });

  it('refuses a truncated file and a file that is not Part-10', async () => {
    const full = encapsulated({ offsetTable: true, fragments: [frame1, frame2a, frame2b, frame3] });
    await expect(scanPart10(write('cut.dcm', full.subarray(0, full.length - 20))).then(locateFrames)).rejects.toBeInstanceOf(Part10Error);
    await expect(scanPart10(write('junk.dcm', Buffer.alloc(400, 1)))).rejects.toThrow(/not a DICOM Part-10/);
  });
});

describe('DICOM JSON from a stored instance', () => {
  it('decodes ISO_IR 100 to UTF-8, says ISO_IR 192, and points big binaries and Pixel Data at our bulk URLs', async () => {
    const path = write('encap-json.dcm', encapsulated({ offsetTable: true, fragments: [frame1, frame2a, frame2b, frame3] }));
    const json = await instanceToDicomJson(await scanPart10(path), { bulkDataUri: (tag) => `https://box/bulk/${tag}` });
    expect(json['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'NUÑEZ^Hélène' }] });
    expect(json['00080005']).toEqual({ vr: 'CS', Value: ['ISO_IR 192'] });
    expect(json['7FE00010']).toEqual({ vr: 'OB', BulkDataURI: 'https://box/bulk/7FE00010' });
    expect(json['00420011']).toEqual({ vr: 'OB', BulkDataURI: 'https://box/bulk/00420011' });
    expect(json['00280010']).toEqual({ vr: 'US', Value: [4] });
    expect(json['00280008']).toEqual({ vr: 'IS', Value: [3] });
    const ref = json['00081115']!.Value![0] as Record<string, { Value?: unknown[] }>;
    expect(ref['00081155']!.Value).toEqual(['1.2.3.4']);
    expect(Object.keys(json).some((t) => t.endsWith('0000') || t.startsWith('0002'))).toBe(false);
    expect(json['00431001']).toBeUndefined(); // the undefined-length UN sequence is dropped, not mis-parsed
  });

  it('converts a synthetic Latin-1 CT header, Pixel Data as BulkDataURI', async () => {
    const json = await instanceToDicomJson(await scanPart10(synthExplicit.files[0]!), { bulkDataUri: (t) => `u/${t}` });
    expect(json['00100010']!.Value).toEqual([{ Alphabetic: 'NUÑEZ^Hélène' }]);
    expect(json['7FE00010']).toEqual({ vr: 'OW', BulkDataURI: 'u/7FE00010' });
    expect(json['0020000D']!.Value).toEqual([synthExplicit.studyInstanceUid]);
    expect(JSON.stringify(json)).not.toContain('InlineBinary":"' + 'A'.repeat(100));
  });
});

describe('instance rewriting and stream peeking', () => {
  it('rewrites Implicit VR LE as Explicit VR LE with the same pixel bytes and attributes', async () => {
    const src = readFileSync(synthImplicit.files[0]!);
    const before = await scanPart10(synthImplicit.files[0]!);
    const out = rewriteLittleEndian(src, '1.2.840.10008.1.2', '1.2.840.10008.1.2.1');
    const path = write('rewritten.dcm', out);
    const after = await scanPart10(path);
    expect(after.transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
    expect(after.sopInstanceUid).toBe(before.sopInstanceUid);
    const px = (b: Buffer, l: typeof before) => b.subarray(l.pixelData!.valueOffset, l.pixelData!.valueOffset + l.pixelData!.length!);
    expect(px(out, after).equals(px(src, before))).toBe(true);
    expect(() => rewriteLittleEndian(src, '1.2.840.10008.1.2', '1.2.840.10008.1.2.4.80')).toThrow(/cannot rewrite/);
  });

  it('reads the file meta of a chunked stream and replays every byte', async () => {
    const bytes = readFileSync(synthExplicit.files[1]!);
    async function* chunks() {
      for (let i = 0; i < bytes.length; i += 37) yield bytes.subarray(i, i + 37);
    }
    const { meta, body } = await peekPart10Meta(chunks());
    expect(meta.transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
    expect(meta.sopInstanceUid).toBe(synthExplicit.series[0]!.instances[1]!.sopInstanceUid);
    const back: Buffer[] = [];
    for await (const c of body) back.push(Buffer.from(c));
    expect(Buffer.concat(back).equals(bytes)).toBe(true);
    await expect(peekPart10Meta((async function* () { yield Buffer.alloc(200); })())).rejects.toThrow(/not a DICOM/);
  });
});
