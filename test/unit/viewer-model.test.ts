import { describe, expect, it } from 'vitest';
import { dicomwebHeaders } from '../../ui/viewer/auth.js';
import type { DicomJsonDataset } from '../../ui/viewer/dicom-json.js';
import { formatDate, formatMillimetres, formatPersonName, formatSex } from '../../ui/viewer/format.js';
import { DEFAULT_DICOMWEB_BASE, isUid, parseViewerRequest, safeDicomwebBase, withoutToken } from '../../ui/viewer/params.js';
import { PRESET_ORDER, WINDOW_PRESETS, voiRange, windowOf } from '../../ui/viewer/presets.js';
import { STRINGS } from '../../ui/strings/viewer.js';
import { bannerOf, initialIndex, seriesSummaries, stackFrames } from '../../ui/viewer/study-model.js';
import { renderThumbnail, valueRange } from '../../ui/viewer/thumbnail-render.js';

const STUDY = '2.25.1234567890';

describe('viewer link parameters', () => {
  it('reads study, series, base and token', () => {
    expect(parseViewerRequest(`?study=${STUDY}&series=1.2.3&base=/portal/dicom-web/&token=eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.sig-_~`)).toEqual({
      ok: true,
      studyInstanceUid: STUDY,
      seriesInstanceUid: '1.2.3',
      dicomwebBase: '/portal/dicom-web',
      token: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.sig-_~',
    });
    expect(parseViewerRequest(`?study=${STUDY}`)).toEqual({ ok: true, studyInstanceUid: STUDY, dicomwebBase: DEFAULT_DICOMWEB_BASE });
    expect(parseViewerRequest(`?study=${STUDY}&kos=1.2.9`)).toMatchObject({ ok: true, kosSopInstanceUid: '1.2.9' });
    expect(parseViewerRequest(`?study=${STUDY}&kos=1.2.x`)).toEqual({ ok: false, reason: 'badStudy' });
  });

  it('refuses a missing or malformed study UID', () => {
    expect(parseViewerRequest('?base=/dicom-web')).toEqual({ ok: false, reason: 'missingStudy' });
    for (const bad of ['1.2.abc', '01.2', '1..2', '1', `1.${'2'.repeat(64)}`, '1.2.3<script>']) {
      expect(parseViewerRequest(`?study=${encodeURIComponent(bad)}`), bad).toEqual({ ok: false, reason: 'badStudy' });
    }
    expect(parseViewerRequest(`?study=${STUDY}&series=x`)).toEqual({ ok: false, reason: 'badStudy' });
    expect(isUid('1.2.840.10008.1.2.1')).toBe(true);
    expect(isUid('0.0')).toBe(true);
  });

  it('keeps the DICOMweb base on this origin: the bearer token is sent there', () => {
    expect(safeDicomwebBase(null)).toBe('/dicom-web');
    expect(safeDicomwebBase('/dicom-web')).toBe('/dicom-web');
    expect(safeDicomwebBase('/portal/dicom-web/')).toBe('/portal/dicom-web');
    for (const bad of [
      'https://evil.example/dicom-web',
      '//evil.example/dicom-web',
      '/\\evil.example',
      'dicom-web',
      '/dicom-web/../admin',
      '/./dicom-web',
      '/dicom-web?x=1',
      '/dicom-web#x',
      '/dicom web',
      'javascript:alert(1)',
      '/a//b',
      '/',
    ]) {
      expect(safeDicomwebBase(bad), bad).toBeUndefined();
      expect(parseViewerRequest(`?study=${STUDY}&base=${encodeURIComponent(bad)}`), bad).toEqual({ ok: false, reason: 'badBase' });
    }
  });

  it('builds the DICOMweb headers: bearer token, KOS-SOPInstanceUID', () => {
    expect(dicomwebHeaders('t0k', '1.2.9')).toEqual({ Authorization: 'Bearer t0k', 'KOS-SOPInstanceUID': '1.2.9' });
    expect(dicomwebHeaders(undefined)).toEqual({});
  });

  it('drops the token from the address, and only it', () => {
    expect(withoutToken(`https://box/viewer/?study=${STUDY}&token=secret&base=/dicom-web`)).toBe(`https://box/viewer/?study=${STUDY}&base=%2Fdicom-web`);
    expect(withoutToken(`https://box/viewer/?study=${STUDY}`)).toBe(`https://box/viewer/?study=${STUDY}`);
    expect(withoutToken(`https://box/viewer/?study=${STUDY}&base=/dicom-web#token=secret`)).toBe(`https://box/viewer/?study=${STUDY}&base=/dicom-web`);
  });

  it('reads the token from the fragment, where the report link puts it (never sent to a server)', () => {
    expect(parseViewerRequest(`?study=${STUDY}&kos=1.2.3`, '#token=abc.def-_~')).toMatchObject({ ok: true, token: 'abc.def-_~', kosSopInstanceUid: '1.2.3' });
  });
});

describe('viewer formatting', () => {
  it('shows names, dates and sex the French way, accents intact', () => {
    expect(formatPersonName('DURAND-LÉGER^Hélène')).toBe('DURAND-LÉGER Hélène');
    expect(formatPersonName('BERNARD^Jean^Paul^Dr^')).toBe('BERNARD Jean Paul');
    expect(formatPersonName('BERNARD^Jean=ベルナール')).toBe('BERNARD Jean');
    expect(formatPersonName(undefined)).toBe(STRINGS.unknown);
    expect(formatDate('19790312')).toBe('12/03/1979');
    expect(formatDate('1979')).toBe('1979');
    expect(formatSex('F')).toBe('Féminin');
    expect(formatSex('M')).toBe('Masculin');
    expect(formatSex('X')).toBe('X');
    expect(formatMillimetres(81.649)).toBe('81,6 mm');
  });
});

describe('window presets', () => {
  it('has the four presets with the usual CT values', () => {
    expect(PRESET_ORDER).toEqual(['cerveau', 'os', 'poumon', 'abdomen']);
    expect(WINDOW_PRESETS.cerveau).toEqual({ center: 40, width: 80 });
    expect(WINDOW_PRESETS.os).toEqual({ center: 600, width: 2800 });
    expect(WINDOW_PRESETS.poumon).toEqual({ center: -600, width: 1500 });
    expect(WINDOW_PRESETS.abdomen).toEqual({ center: 40, width: 400 });
    for (const name of PRESET_ORDER) expect(STRINGS.presets[name]).toBeTruthy();
  });

  it('converts centre/width to the PS3.3 C.11.2.1.2.1 range and back', () => {
    expect(voiRange({ center: 40, width: 80 })).toEqual({ lower: 0, upper: 79 });
    for (const p of Object.values(WINDOW_PRESETS)) expect(windowOf(voiRange(p))).toEqual(p);
  });
});

const attr = (vr: string, ...Value: unknown[]) => ({ vr, Value });

function instance(sop: string, n: number | undefined, z: number, extra: DicomJsonDataset = {}): DicomJsonDataset {
  return {
    '00080018': attr('UI', sop),
    ...(n === undefined ? {} : { '00200013': attr('IS', n) }),
    '00200032': attr('DS', 0, 0, z),
    '00200037': attr('DS', 1, 0, 0, 0, 1, 0),
    '00280010': attr('US', 4),
    ...extra,
  };
}

describe('study model', () => {
  it('reads the banner from an instance, PN as its Alphabetic group', () => {
    const ds: DicomJsonDataset = {
      '00100010': attr('PN', { Alphabetic: 'BERNARD^Jean' }),
      '00100030': attr('DA', '19580214'),
      '00100040': attr('CS', 'M'),
      '00080020': attr('DA', '20260115'),
      '00081030': attr('LO', 'Scanner cérébral'),
      '00080080': attr('LO', 'Clinique de Saint-Pierre'),
    };
    expect(bannerOf(ds)).toEqual({
      patientName: 'BERNARD^Jean',
      birthDate: '19580214',
      sex: 'M',
      studyDate: '20260115',
      studyDescription: 'Scanner cérébral',
      institution: 'Clinique de Saint-Pierre',
    });
    expect(bannerOf(undefined)).toEqual({});
  });

  it('lists image series by number, leaving out reports and key objects', () => {
    const series = seriesSummaries([
      { '0020000E': attr('UI', '1.2.3'), '00200011': attr('IS', 2), '00080060': attr('CS', 'CT'), '0008103E': attr('LO', 'Os') },
      { '0020000E': attr('UI', '1.2.9'), '00080060': attr('CS', 'SR') },
      { '0020000E': attr('UI', '1.2.8'), '00080060': attr('CS', 'KO') },
      { '0020000E': attr('UI', '1.2.1'), '00200011': attr('IS', 1), '00080060': attr('CS', 'CT'), '00201209': attr('IS', 20) },
      { '00200011': attr('IS', 3) },
    ]);
    expect(series.map((s) => s.seriesInstanceUid)).toEqual(['1.2.1', '1.2.3']);
    expect(series[0]).toEqual({ seriesInstanceUid: '1.2.1', seriesNumber: 1, description: undefined, modality: 'CT', instanceCount: 20 });
  });

  it('orders frames by instance number, then position, then UID, and expands multi-frame instances', () => {
    const frames = stackFrames([
      instance('1.9', 3, 10),
      instance('1.8', undefined, 0),
      instance('1.7', 1, 5),
      instance('1.6', 1, -5),
      instance('1.5', 2, 0, { '00280008': attr('IS', 3) }),
      { '00080018': attr('UI', '1.4') }, // no Rows: not an image
    ]);
    expect(frames.map((f) => `${f.sopInstanceUid}#${f.frame}`)).toEqual(['1.6#1', '1.7#1', '1.5#1', '1.5#2', '1.5#3', '1.9#1', '1.8#1']);
    expect(initialIndex(20)).toBe(9);
    expect(initialIndex(1)).toBe(0);
    expect(initialIndex(0)).toBe(0);
  });
});

describe('thumbnail rendering', () => {
  it('applies slope, intercept and the linear window, letterboxed', () => {
    // 4×2 stored values; HU = stored − 1024. Window 40/80 → HU 0 black, HU 79 white.
    const img = { pixels: [1024, 1064, 1103, 2024, 0, 1044, 1084, 1024], width: 4, height: 2, slope: 1, intercept: -1024 };
    const out = renderThumbnail(img, { center: 40, width: 80 }, 4);
    const grey = (x: number, y: number) => out.data[(y * 4 + x) * 4]!;
    // Image 4×2 scaled to 4×2, centred vertically in 4×4: rows 1 and 2.
    expect([grey(0, 1), grey(1, 1), grey(2, 1), grey(3, 1)]).toEqual([0, 129, 255, 255]);
    expect([grey(0, 2), grey(1, 2), grey(2, 2), grey(3, 2)]).toEqual([0, 65, 194, 0]);
    expect(grey(0, 0)).toBe(0);
    expect(out.data[3]).toBe(255);
  });

  it('falls back to the value range, and inverts MONOCHROME1', () => {
    const img = { pixels: [0, 100, 200, 300], width: 2, height: 2, slope: 2, intercept: 10 };
    expect(valueRange(img)).toEqual({ min: 10, max: 610 });
    const plain = renderThumbnail(img, undefined, 2);
    expect(plain.data[0]).toBe(0);
    expect(plain.data[12]).toBe(255);
    const inverted = renderThumbnail({ ...img, invert: true }, undefined, 2);
    expect(inverted.data[0]).toBe(255);
    expect(inverted.data[12]).toBe(0);
  });
});
