import { describe, expect, it } from 'vitest';
import { framesPerSecond } from '../../ui/viewer/cine.js';
import type { DicomJsonDataset } from '../../ui/viewer/dicom-json.js';
import { rgb16ToRgb8, rleRgb16, rleSegments, uncompressedRgb16, ybrFull422ToRgb } from '../../ui/viewer/frame-convert.js';
import { keyImageUids } from '../../ui/viewer/key-images.js';
import { errorText, LoadTimeout, withTimeout } from '../../ui/viewer/load-errors.js';
import { conversionOf, firstPart, prepareForLoader, wordsOf } from '../../ui/viewer/loader-metadata.js';
import { angleTextLines, ellipseTextLines, lengthTextLines } from '../../ui/viewer/measure-text.js';
import { directionLetters, edgeLetters } from '../../ui/viewer/orientation.js';
import { parseViewerRequest } from '../../ui/viewer/params.js';
import { PRESET_ORDER, presetsFor } from '../../ui/viewer/presets.js';
import { sliceText } from '../../ui/viewer/slice-text.js';
import { syncedIndex } from '../../ui/viewer/synced-index.js';
import { filterRows, tagRows } from '../../ui/viewer/tag-rows.js';
import { renderThumbnail } from '../../ui/viewer/thumbnail-render.js';
import { STRINGS } from '../../ui/strings/viewer.js';

const v = (vr: string, ...Value: unknown[]) => ({ vr, Value });

describe('what the loader is handed', () => {
  it('gives a series without Modality "OT" (the loader threw on it) and leaves the page its own copy', async () => {
    const ds: DicomJsonDataset = { '00280004': v('CS', 'MONOCHROME2') };
    const out = await prepareForLoader(ds, async () => new Uint8Array());
    expect(out['00080060']).toEqual(v('CS', 'OT'));
    expect(ds['00080060']).toBeUndefined();
    const ct = await prepareForLoader({ '00080060': v('CS', 'CT') }, async () => new Uint8Array());
    expect(ct['00080060']).toEqual(v('CS', 'CT'));
  });

  it('turns palette LUT data given inline or by BulkDataURI into the numbers the loader reads', async () => {
    const lut = new Uint8Array([0x00, 0x00, 0xff, 0x00, 0x34, 0x12]);
    const asked: string[] = [];
    const out = await prepareForLoader(
      {
        '00280004': v('CS', 'PALETTE COLOR'),
        '00281201': { vr: 'OW', InlineBinary: Buffer.from(lut).toString('base64') },
        '00281202': { vr: 'OW', BulkDataURI: 'https://box.example/dicom-web/studies/1/series/2/instances/3/bulk/00281202' },
        '00281203': v('OW', 1, 2, 3),
      },
      async (uri) => {
        asked.push(uri);
        return lut;
      },
    );
    expect(out['00281201']!.Value).toEqual([0, 255, 0x1234]);
    expect(out['00281202']!.Value).toEqual([0, 255, 0x1234]);
    expect(out['00281203']!.Value).toEqual([1, 2, 3]);
    expect(asked).toHaveLength(1);
    expect(wordsOf(new Uint8Array([1, 2, 3]))).toEqual([0x0201]);
  });

  it('sends YBR_FULL_422 and colour above 8 bits through the converting loader, as 8-bit RGB', async () => {
    expect(conversionOf({ '00280004': v('CS', 'YBR_FULL_422'), '00280002': v('US', 3) })).toBe('ybr422');
    expect(conversionOf({ '00280004': v('CS', 'RGB'), '00280002': v('US', 3), '00280100': v('US', 16) })).toBe('rgb16');
    expect(conversionOf({ '00280004': v('CS', 'RGB'), '00280002': v('US', 3), '00280100': v('US', 8) })).toBeUndefined();
    expect(conversionOf({ '00280004': v('CS', 'MONOCHROME2'), '00280100': v('US', 16) })).toBeUndefined();
    const out = await prepareForLoader({ '00280004': v('CS', 'YBR_FULL_422'), '00280002': v('US', 3), '00080060': v('CS', 'US') }, async () => new Uint8Array());
    expect(out['00280004']).toEqual(v('CS', 'RGB'));
    expect(out['00280100']).toEqual(v('US', 8));
  });
});

describe('frame conversions', () => {
  it('converts YBR_FULL_422 pairs (Y1 Y2 Cb Cr) to RGB per PS3.3 C.7.6.3.1.2', () => {
    // Grey (Cb = Cr = 128) stays grey; pure red's YCbCr (76, 85, 255) comes back red.
    const rgb = ybrFull422ToRgb(new Uint8Array([10, 200, 128, 128, 76, 76, 85, 255]), 4, 1);
    expect(Array.from(rgb.subarray(0, 6))).toEqual([10, 10, 10, 200, 200, 200]);
    const [r, g, b] = Array.from(rgb.subarray(6, 9));
    expect(r).toBeGreaterThan(250);
    expect(g).toBeLessThan(5);
    expect(b).toBeLessThan(5);
    expect(() => ybrFull422ToRgb(new Uint8Array(6), 4, 1)).toThrow(/8 expected/);
  });

  it('decodes DICOM RLE segments (PackBits: literal runs and replicate runs)', () => {
    const header = new Uint8Array(64);
    const view = new DataView(header.buffer);
    view.setUint32(0, 1, true);
    view.setUint32(4, 64, true);
    // literal 3 bytes (1, 2, 3), then 4 × 9 (header -3), then a no-op (-128)
    const body = new Uint8Array([2, 1, 2, 3, 0xfd, 9, 0x80]);
    const frame = new Uint8Array([...header, ...body]);
    expect(Array.from(rleSegments(frame, 7)[0]!)).toEqual([1, 2, 3, 9, 9, 9, 9]);
    expect(() => rleSegments(new Uint8Array(10), 1)).toThrow(/header/);
  });

  it('brings 16-bit RGB to 8 bits from interleaved, planar and RLE layouts', () => {
    const words = [0xff00, 0x8000, 0x0100, 0x0000, 0xffff, 0x7f00];
    const bytes = new Uint8Array(words.flatMap((w) => [w & 0xff, w >> 8]));
    expect(Array.from(rgb16ToRgb8(2, uncompressedRgb16(bytes, 2, false), 16))).toEqual([255, 128, 1, 0, 255, 127]);
    expect(Array.from(rgb16ToRgb8(2, uncompressedRgb16(bytes, 2, true), 16))).toEqual([255, 1, 255, 128, 0, 127]);
    // RLE: six segments R-high R-low G-high G-low B-high B-low, one pixel, literal runs.
    const header = new Uint8Array(64);
    const dv = new DataView(header.buffer);
    dv.setUint32(0, 6, true);
    const segments = [[0xff], [0x00], [0x80], [0x00], [0x01], [0x00]];
    segments.forEach((_, i) => dv.setUint32(4 + i * 4, 64 + i * 2, true));
    const frame = new Uint8Array([...header, ...segments.flatMap((s) => [0, ...s])]);
    expect(Array.from(rgb16ToRgb8(1, rleRgb16(frame, 1), 16))).toEqual([255, 128, 1]);
  });

  it('reads the first part of a multipart answer and its transfer syntax', () => {
    const body = new TextEncoder().encode('--b1\r\nContent-Type: application/octet-stream; transfer-syntax=1.2.840.10008.1.2.5\r\n\r\nABC\r\n--b1--\r\n');
    const part = firstPart(body, 'multipart/related; type="application/octet-stream"; boundary=b1');
    expect(new TextDecoder().decode(part.bytes)).toBe('ABC');
    expect(part.transferSyntax).toBe('1.2.840.10008.1.2.5');
    expect(() => firstPart(body, 'application/json')).toThrow(/not a multipart/);
  });
});

describe('what the page says when something fails', () => {
  it('tells an expired session from a study not shared, a refused format, a dead server and a timeout', async () => {
    expect(errorText({ status: 401 }, 'study')).toBe(STRINGS.errors.sessionExpired);
    expect(errorText({ status: 403 }, 'study')).toBe(STRINGS.errors.forbidden);
    expect(errorText({ status: 404 }, 'study')).toBe(STRINGS.errors.notFound);
    expect(errorText({ status: 404 }, 'image')).toBe(STRINGS.errors.imageNotFound);
    expect(errorText({ status: 422 }, 'image')).toBe(STRINGS.errors.formatRefused(422));
    expect(errorText({ status: 0 }, 'image')).toBe(STRINGS.errors.unavailable);
    expect(errorText({ status: 503 }, 'image')).toBe(STRINGS.errors.unavailable);
    expect(errorText(new Error('decoder'), 'image')).toBe(STRINGS.errors.image);
    await expect(withTimeout(new Promise(() => undefined), 5, 'x')).rejects.toBeInstanceOf(LoadTimeout);
    expect(errorText(new LoadTimeout('x', 5), 'image')).toBe(STRINGS.errors.timeout);
    await expect(withTimeout(Promise.resolve(7), 1000, 'x')).resolves.toBe(7);
  });
});

describe('what a radiologist reads on the image', () => {
  it('puts the patient directions on the edges (PS3.3 C.7.6.1.1.1)', () => {
    expect(edgeLetters([1, 0, 0, 0, 1, 0])).toEqual({ left: 'R', right: 'L', top: 'A', bottom: 'P' }); // axial
    expect(edgeLetters([0, 1, 0, 0, 0, -1])).toEqual({ left: 'A', right: 'P', top: 'H', bottom: 'F' }); // sagittal
    expect(directionLetters([0.8, 0, -0.6])).toBe('LF'); // oblique
    expect(edgeLetters(undefined)).toBeUndefined();
    expect(edgeLetters([1, 0, 0])).toBeUndefined();
  });

  it('writes slice position and thickness in French', () => {
    expect(sliceText({ '00201041': v('DS', '-12.5'), '00180050': v('DS', '5') })).toBe(`${STRINGS.slicePosition('-12,5 mm')} · ${STRINGS.sliceThickness('5,0 mm')}`);
    expect(sliceText({})).toBe('');
  });

  it('offers Hounsfield presets on CT only', () => {
    expect(presetsFor('CT')).toEqual(PRESET_ORDER);
    for (const m of ['MR', 'US', 'CR', 'OT', undefined]) expect(presetsFor(m)).toEqual([]);
  });

  it('labels distance, angle and region in French', () => {
    expect(lengthTextLines({ cachedStats: { t: { length: 12.34, unit: 'mm' } } }, 't')).toEqual(['12,3 mm']);
    expect(angleTextLines({ cachedStats: { t: { angle: 45.04 } } }, 't')).toEqual(['45,0°']);
    expect(ellipseTextLines({ cachedStats: { t: { area: 120.5, areaUnit: 'mm²', mean: 35.27, stdDev: 4.1, min: 10, max: 60, modalityUnit: 'HU' } } }, 't')).toEqual([
      'Surface 120,5 mm²',
      'Moyenne 35,3 HU ± 4,1',
      'Min 10,0 / Max 60,0 HU',
    ]);
    expect(ellipseTextLines({}, 't')).toEqual([]);
  });

  it('plays cine at the rate the modality recorded', () => {
    expect(framesPerSecond({ '00082144': v('IS', '25') })).toBe(25);
    expect(framesPerSecond({ '00181063': v('DS', '33.3') })).toBe(30);
    expect(framesPerSecond({ '00180040': v('IS', '500') })).toBe(60);
    expect(framesPerSecond(undefined)).toBe(10);
  });

  it('finds key images in Key Object Selections, not in the DRIM-M manifest nor in rejection notes', () => {
    const kos = (title: string, ...uids: string[]): DicomJsonDataset => ({
      '0040A043': v('SQ', { '00080100': v('SH', title) }),
      '0040A730': v('SQ', ...uids.map((u) => ({ '00081199': v('SQ', { '00081155': v('UI', u) }) }))),
    });
    expect([...keyImageUids([kos('113000', '1.1', '1.2'), kos('113030', '1.3'), kos('113001', '1.4')])].sort()).toEqual(['1.1', '1.2']);
    expect(keyImageUids([{}]).size).toBe(0);
  });

  it('lists every attribute with its name, sequences indented, binary summarised; filters by name, number or value', () => {
    const rows = tagRows(
      {
        '00100010': v('PN', { Alphabetic: 'REEL^Series' }),
        '00081115': v('SQ', { '0020000E': v('UI', '1.2.3') }),
        '7FE00010': { vr: 'OW', BulkDataURI: 'x' },
        bogus: v('LO', 'x'),
      },
      (tag) => ({ '(0010,0010)': 'PatientName', '(0020,000E)': 'SeriesInstanceUID' })[tag],
    );
    expect(rows.map((r) => [r.tag, r.name, r.value, r.depth])).toEqual([
      ['(0008,1115)', '', STRINGS.tagsSequence(1), 0],
      ['(0020,000E)', 'SeriesInstanceUID', '1.2.3', 1],
      ['(0010,0010)', 'PatientName', 'REEL^Series', 0],
      ['(7FE0,0010)', '', STRINGS.tagsBinary(undefined), 0],
    ]);
    expect(filterRows(rows, '0010,0010').map((r) => r.name)).toEqual(['PatientName']);
    expect(filterRows(rows, 'reel').map((r) => r.tag)).toEqual(['(0010,0010)']);
    expect(filterRows(rows, '')).toHaveLength(4);
  });

  it('draws colour thumbnails in colour, scaled from their bit depth', () => {
    const img = { pixels: [65535, 0, 0], width: 1, height: 1, slope: 1, intercept: 0, samplesPerPixel: 3, bitsStored: 16 };
    const out = renderThumbnail(img, undefined, 1);
    expect(Array.from(out.data)).toEqual([255, 0, 0, 255]);
  });
});

describe('comparison with an earlier exam', () => {
  it('follows by position along the normal when both stacks have one, else by place in the stack', () => {
    expect(syncedIndex([0, 5, 10, 15], 2, [1, 4, 8, 11, 14])).toBe(3);
    expect(syncedIndex([0, 5, 10, 15], 3, [undefined, 4])).toBe(1);
    expect(syncedIndex([undefined, undefined, undefined], 1, [1, 2, 3, 4, 5])).toBe(2);
    expect(syncedIndex([1], 0, [])).toBe(0);
  });

  it('reads the earlier exam from the link, never the same study twice', () => {
    expect(parseViewerRequest('?study=1.2.3&prior=1.2.4')).toMatchObject({ ok: true, priorStudyInstanceUid: '1.2.4' });
    expect(parseViewerRequest('?study=1.2.3&prior=1.2.3')).toEqual({ ok: false, reason: 'badStudy' });
    expect(parseViewerRequest('?study=1.2.3&prior=x')).toEqual({ ok: false, reason: 'badStudy' });
  });
});
