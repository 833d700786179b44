import { describe, expect, it } from 'vitest';
import { buildKos, parseKos, KosBuildError, type KosStudy } from '../../appliance/src/dicom/kos/index.js';
import { readPart10, readItems, readString, readStrings, readInteger, readCode } from '../../appliance/src/dicom/dataset/index.js';
import type { ReportEvent } from '../../appliance/src/report/types.js';

const STUDY_UID = '1.2.250.1.213.4.5.2.1.101';
const ROOT = '1.2.826.0.1.3680043.10.1558';
const CT = '1.2.840.10008.5.1.4.1.1.2';
const ENHANCED_SR = '1.2.840.10008.5.1.4.1.1.88.22';
const NOW = new Date(2024, 0, 2, 14, 5, 9); // local time, as the box would stamp it

function report(overrides: Partial<ReportEvent> = {}): ReportEvent {
  return {
    action: 'publish',
    trigger: 'ORU^R01',
    patient: {
      ins: { value: '279035121518989', issuerOid: '1.2.250.1.213.1.4.10', issuerName: 'ASIP-SANTE-INS-NIR' },
      ipp: { value: 'IPP42', issuerOid: '1.2.250.1.999.1' },
      birthName: 'DÉSIRÉ-LEFÈVRE',
      firstGivenName: 'Hélène',
      givenNames: 'Hélène Françoise',
      usedName: 'MARTIN',
      usedGivenName: 'Héloïse',
      birthDate: '19790328',
      sex: 'F',
      birthPlaceCode: '63220',
    },
    studyInstanceUid: STUDY_UID,
    accession: { value: 'ACN101', issuerOid: '1.2.250.1.213.4.5.2.5' },
    placerOrder: { value: 'OPN101', issuerOid: '1.2.250.1.213.4.5.2.6' },
    fillerOrder: { value: 'FON7', issuerOid: '1.2.250.1.213.4.5.2.7' },
    modalities: [{ code: 'CT', scheme: 'DCM' }],
    regions: [],
    examDescription: 'Scanner thoraco-abdomino-pelvien avec injection',
    examStart: '20240102103000+0100',
    document: { id: '1.2.250.1.999.2^CR-1', effectiveTime: '20240102120000+0100' },
    organisation: { name: 'Centre de radiologie Ambroise Paré', id: { value: '101235555', issuerOid: '1.2.250.1.71.4.2.2' } },
    dmp: { sendToDmp: true, maskedFromProfessionals: false, invisibleToPatient: false, invisibleToLegalRepresentatives: false },
    ...overrides,
  };
}

/** 3 series, 2,000 instances: two CT series of 999 images (given in reverse order) and one SR. */
function study(): KosStudy {
  const ct = (n: number) => ({
    seriesInstanceUid: `${STUDY_UID}.${n}`,
    modality: 'CT',
    seriesNumber: n,
    seriesDescription: `Thorax ${n} – coupes fines`,
    instances: Array.from({ length: 999 }, (_, i) => ({ sopClassUid: CT, sopInstanceUid: `${STUDY_UID}.${n}.${999 - i}`, instanceNumber: 999 - i })),
  });
  return {
    studyInstanceUid: STUDY_UID,
    studyDate: '20240102',
    studyTime: '103012.5',
    studyDescription: 'TDM TAP',
    studyId: 'E101',
    referringPhysicianName: 'GÉRARD^Jean-François',
    series: [
      ct(1),
      ct(2),
      { seriesInstanceUid: `${STUDY_UID}.3`, modality: 'SR', seriesNumber: 3, seriesDescription: 'Dose', instances: [{ sopClassUid: ENHANCED_SR, sopInstanceUid: `${STUDY_UID}.3.1` }] },
    ],
  };
}

const build = (over: Partial<Parameters<typeof buildKos>[0]> = {}) =>
  buildKos({ report: report(), study: study(), retrieveBaseUrl: 'https://db1.example.fr/dicom-web/', uidRoot: ROOT, now: NOW, ...over });

describe('buildKos: IMG-KOS manifest', () => {
  const kos = build({ manufacturer: 'DRIMbox test' });
  const { dataset: ds, meta, transferSyntaxUid } = readPart10(kos.part10);

  it('returns the UIDs it wrote, under the UID root, and counts every instance', () => {
    expect(kos.instanceCount).toBe(1999);
    expect(kos.studyInstanceUid).toBe(STUDY_UID);
    expect(kos.sopInstanceUid.startsWith(ROOT + '.')).toBe(true);
    expect(kos.seriesInstanceUid.startsWith(ROOT + '.')).toBe(true);
    expect(kos.sopInstanceUid).not.toBe(kos.seriesInstanceUid);
    expect(readString(ds, '00080018')).toBe(kos.sopInstanceUid);
    expect(readString(ds, '0020000E')).toBe(kos.seriesInstanceUid);
  });

  it('is a Part-10 file in Explicit VR Little Endian, SOP class KOS, UTF-8', () => {
    expect(kos.part10.subarray(128, 132).toString('latin1')).toBe('DICM');
    expect(transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
    expect(readString(meta, '00020002')).toBe('1.2.840.10008.5.1.4.1.1.88.59');
    expect(readString(meta, '00020003')).toBe(kos.sopInstanceUid);
    expect(readString(ds, '00080016')).toBe('1.2.840.10008.5.1.4.1.1.88.59');
    expect(readString(ds, '00080005')).toBe('ISO_IR 192');
    // UTF-8 bytes of the accented name are in the file, not Latin-1 ones.
    expect(kos.part10.includes(Buffer.from('DÉSIRÉ-LEFÈVRE^Hélène', 'utf8'))).toBe(true);
  });

  it('identifies the patient by the INS with its issuer, qualifiers and other-patient-ids', () => {
    expect(readString(ds, '00100020')).toBe('279035121518989');
    expect(readString(ds, '00100021')).toBe('ASIP-SANTE-INS-NIR');
    const qualifiers = readItems(ds, '00100024');
    expect(qualifiers).toHaveLength(1);
    expect(readString(qualifiers[0], '00400032')).toBe('1.2.250.1.213.1.4.10');
    expect(readString(qualifiers[0], '00400033')).toBe('ISO');
    expect(readString(ds, '00100010')).toBe('DÉSIRÉ-LEFÈVRE^Hélène');
    expect(readStrings(ds, '00101001')).toEqual(['MARTIN^Héloïse', 'DÉSIRÉ-LEFÈVRE^Hélène Françoise']);
    expect(readString(ds, '00100030')).toBe('19790328');
    expect(readString(ds, '00100040')).toBe('F');
    expect(readString(ds, '00104000')).toBe('63220');
    const other = readItems(ds, '00101002');
    expect(other).toHaveLength(1);
    expect(readString(other[0], '00100020')).toBe('279035121518989');
    expect(readString(other[0], '00100021')).toBe('ASIP-SANTE-INS-NIR');
    expect(readString(other[0], '00100022')).toBe('TEXT');
    expect(readString(readItems(other[0], '00100024')[0], '00400032')).toBe('1.2.250.1.213.1.4.10');
    // The IPP is local to the producer: it stays out of a document published nationally.
    expect(kos.part10.includes(Buffer.from('IPP42'))).toBe(false);
  });

  it('carries study, series, equipment and document attributes', () => {
    expect(readString(ds, '0020000D')).toBe(STUDY_UID);
    expect(readString(ds, '00080020')).toBe('20240102');
    expect(readString(ds, '00080030')).toBe('103012.5');
    expect(readString(ds, '00081030')).toBe('TDM TAP');
    expect(readString(ds, '00200010')).toBe('E101');
    expect(readString(ds, '00080090')).toBe('GÉRARD^Jean-François');
    expect('00080050' in ds && readString(ds, '00080050')).toBe(undefined); // present, empty, as in the ANS samples
    expect(readString(ds, '00080060')).toBe('KO');
    expect(readInteger(ds, '00200011')).toBe(59);
    expect(readInteger(ds, '00200013')).toBe(1);
    expect(readItems(ds, '00081111')).toEqual([]);
    expect('00081111' in ds).toBe(true);
    expect(readString(ds, '00080070')).toBe('DRIMbox test');
    expect(readString(ds, '00080080')).toBe('Centre de radiologie Ambroise Paré');
    const pad = (n: number) => String(n).padStart(2, '0');
    const offset = -NOW.getTimezoneOffset();
    const tz = `${offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offset) / 60))}${pad(Math.abs(offset) % 60)}`;
    for (const [date, time] of [['00080012', '00080013'], ['00080023', '00080033'], ['00080021', '00080031']] as const) {
      expect(readString(ds, date)).toBe('20240102');
      expect(readString(ds, time)).toBe('140509');
    }
    expect(readString(ds, '00080201')).toBe(tz);
  });

  it('links the request: accession + issuer, orders + issuers, study, empty Type 2 sequences', () => {
    const requests = readItems(ds, '0040A370');
    expect(requests).toHaveLength(1);
    const r = requests[0];
    expect(readString(r, '00080050')).toBe('ACN101');
    expect(readString(readItems(r, '00080051')[0], '00400032')).toBe('1.2.250.1.213.4.5.2.5');
    expect(readString(readItems(r, '00080051')[0], '00400033')).toBe('ISO');
    expect(readString(r, '0020000D')).toBe(STUDY_UID);
    expect(readString(r, '00402016')).toBe('OPN101');
    expect(readString(readItems(r, '00400026')[0], '00400032')).toBe('1.2.250.1.213.4.5.2.6');
    expect(readString(r, '00402017')).toBe('FON7');
    expect(readString(readItems(r, '00400027')[0], '00400032')).toBe('1.2.250.1.213.4.5.2.7');
    expect(readString(r, '00321060')).toBe('Scanner thoraco-abdomino-pelvien avec injection');
    for (const emptySequence of ['00081110', '00321064']) {
      expect(emptySequence in r!).toBe(true);
      expect(readItems(r, emptySequence)).toEqual([]);
    }
    expect('00401001' in r!).toBe(true);
  });

  it('lists every series with one Retrieve URL on this box and its instances, ordered by Instance Number', () => {
    const evidence = readItems(ds, '0040A375');
    expect(evidence).toHaveLength(1);
    expect(readString(evidence[0], '0020000D')).toBe(STUDY_UID);
    const series = readItems(evidence[0], '00081115');
    expect(series.map((s) => readString(s, '0020000E'))).toEqual([`${STUDY_UID}.1`, `${STUDY_UID}.2`, `${STUDY_UID}.3`]);
    expect(series.map((s) => readStrings(s, '00081190'))).toEqual(
      [1, 2, 3].map((n) => [`https://db1.example.fr/dicom-web/studies/${STUDY_UID}/series/${STUDY_UID}.${n}`]),
    );
    const first = readItems(series[0], '00081199');
    expect(first).toHaveLength(999);
    expect(readString(first[0], '00081155')).toBe(`${STUDY_UID}.1.1`);
    expect(readString(first[998], '00081155')).toBe(`${STUDY_UID}.1.999`);
    expect(readString(first[0], '00081150')).toBe(CT);
  });

  it('has TID 2010 content: Manifest title, template, description, one item per instance', () => {
    expect(readString(ds, '0040A040')).toBe('CONTAINER');
    expect(readCode(readItems(ds, '0040A043')[0])).toEqual({ code: '113030', scheme: 'DCM', meaning: 'Manifest' });
    expect(readString(ds, '0040A050')).toBe('SEPARATE');
    const template = readItems(ds, '0040A504');
    expect(template).toHaveLength(1);
    expect(readString(template[0], '0040DB00')).toBe('2010');
    expect(readString(template[0], '00080105')).toBe('DCMR');
    const content = readItems(ds, '0040A730');
    expect(content).toHaveLength(2000);
    const [text, ...refs] = content;
    expect(readString(text, '0040A010')).toBe('CONTAINS');
    expect(readString(text, '0040A040')).toBe('TEXT');
    expect(readCode(readItems(text, '0040A043')[0])).toEqual({ code: '113012', scheme: 'DCM', meaning: 'Key Object Description' });
    expect(readString(text, '0040A160')).toBe(
      'Examen : TDM TAP\nActe = Scanner thoraco-abdomino-pelvien avec injection\n' +
        `Série-${STUDY_UID}.1 : CT @ : Thorax 1 – coupes fines\n` +
        `Série-${STUDY_UID}.2 : CT @ : Thorax 2 – coupes fines\n` +
        `Série-${STUDY_UID}.3 : SR @ : Dose`,
    );
    expect(refs.filter((i) => readString(i, '0040A040') === 'IMAGE')).toHaveLength(1998);
    const last = refs[refs.length - 1];
    expect(readString(last, '0040A040')).toBe('COMPOSITE');
    expect(readString(last, '0040A010')).toBe('CONTAINS');
    expect(readString(readItems(last, '00081199')[0], '00081150')).toBe(ENHANCED_SR);
    expect(readString(readItems(last, '00081199')[0], '00081155')).toBe(`${STUDY_UID}.3.1`);
    expect(readString(readItems(refs[0], '00081199')[0], '00081155')).toBe(`${STUDY_UID}.1.1`);
  });

  it('round-trips through parseKos with every value', () => {
    const m = parseKos(kos.part10);
    expect(m.sopInstanceUid).toBe(kos.sopInstanceUid);
    expect(m.sopClassUid).toBe('1.2.840.10008.5.1.4.1.1.88.59');
    expect(m.documentTitle).toEqual({ code: '113030', scheme: 'DCM', meaning: 'Manifest' });
    expect(m.rejection).toBeUndefined();
    expect(m.patient).toEqual({
      id: '279035121518989',
      issuer: 'ASIP-SANTE-INS-NIR',
      issuerOid: '1.2.250.1.213.1.4.10',
      name: 'DÉSIRÉ-LEFÈVRE^Hélène',
      birthDate: '19790328',
      sex: 'F',
    });
    expect(m.studyInstanceUid).toBe(STUDY_UID);
    expect(m.accession).toEqual({ value: 'ACN101', issuerOid: '1.2.250.1.213.4.5.2.5' });
    expect(m.placerOrder).toEqual({ value: 'OPN101', issuerOid: '1.2.250.1.213.4.5.2.6' });
    expect(m.contentDate).toBe('20240102');
    expect(m.series.map((s) => [s.seriesInstanceUid, s.studyInstanceUid, s.retrieveUrl, s.instances.length])).toEqual([
      [`${STUDY_UID}.1`, STUDY_UID, `https://db1.example.fr/dicom-web/studies/${STUDY_UID}/series/${STUDY_UID}.1`, 999],
      [`${STUDY_UID}.2`, STUDY_UID, `https://db1.example.fr/dicom-web/studies/${STUDY_UID}/series/${STUDY_UID}.2`, 999],
      [`${STUDY_UID}.3`, STUDY_UID, `https://db1.example.fr/dicom-web/studies/${STUDY_UID}/series/${STUDY_UID}.3`, 1],
    ]);
    expect(m.series[2]!.instances).toEqual([{ sopClassUid: ENHANCED_SR, sopInstanceUid: `${STUDY_UID}.3.1` }]);
    expect(m.series[1]!.instances[41]).toEqual({ sopClassUid: CT, sopInstanceUid: `${STUDY_UID}.2.42` });
    const all = new Set(m.series.flatMap((s) => s.instances.map((i) => i.sopInstanceUid)));
    expect(all.size).toBe(1999);
  });
});

describe('buildKos: choices on imperfect inputs', () => {
  it('keeps given UIDs and drops duplicate instances and empty series', () => {
    const s = study();
    s.series[0]!.instances.push({ sopClassUid: CT, sopInstanceUid: `${STUDY_UID}.1.5` });
    s.series.push({ seriesInstanceUid: `${STUDY_UID}.9`, instances: [] });
    const kos = build({ study: s, sopInstanceUid: `${ROOT}.7.1`, seriesInstanceUid: `${ROOT}.7.2` });
    expect(kos.instanceCount).toBe(1999);
    expect(kos.sopInstanceUid).toBe(`${ROOT}.7.1`);
    expect(kos.seriesInstanceUid).toBe(`${ROOT}.7.2`);
    expect(parseKos(kos.part10).series.map((x) => x.seriesInstanceUid)).not.toContain(`${STUDY_UID}.9`);
  });

  it('takes the study date from the report exam start when the PACS gave none, ignoring malformed values', () => {
    const s = { ...study(), studyDate: '2024-01-02', studyTime: undefined };
    const { dataset } = readPart10(build({ study: s }).part10);
    expect(readString(dataset, '00080020')).toBe('20240102');
    expect(readString(dataset, '00080030')).toBe('103000');
  });

  it('leaves an unknown INS sex empty rather than writing DICOM "O"', () => {
    const r = report();
    r.patient.sex = 'U';
    const { dataset } = readPart10(build({ report: r }).part10);
    expect('00100040' in dataset && readString(dataset, '00100040')).toBe(undefined);
  });

  it('cuts over-long descriptions but never identifiers', () => {
    const s = { ...study(), studyDescription: 'É'.repeat(80) };
    const { dataset } = readPart10(build({ study: s }).part10);
    expect(readString(dataset, '00081030')).toBe('É'.repeat(64));
    expect(() => build({ report: report({ accession: { value: 'A'.repeat(17), issuerOid: '1.2.3' } }) })).toThrow(
      /accession number "A{17}" is longer than the 16 characters/,
    );
  });

  it('refuses what would make an unusable KOS, saying why', () => {
    const noIns = report();
    delete noIns.patient.ins;
    expect(() => build({ report: noIns })).toThrow(KosBuildError);
    expect(() => build({ report: noIns })).toThrow(/no INS/);
    expect(() => build({ report: report({ patient: { ...report().patient, ins: { value: '279035121518989', issuerOid: '' } } }) })).toThrow(
      /has no OID/,
    );
    expect(() => build({ report: report({ studyInstanceUid: '1.2.3.4' }) })).toThrow(/report is for study 1\.2\.3\.4 but the images found are study/);
    const badUid = study();
    badUid.series[1]!.instances[3]!.sopInstanceUid = '1.2.03.4';
    expect(() => build({ study: badUid })).toThrow(/SOP Instance UID in series .*\.2 "1\.2\.03\.4" is not a valid DICOM UID/);
    expect(() => build({ study: { ...study(), series: [] } })).toThrow(/no instance to reference/);
    expect(() => build({ retrieveBaseUrl: 'db1.example.fr/dicom-web' })).toThrow(/is not a URL/);
    expect(() => build({ retrieveBaseUrl: 'ftp://db1.example.fr/x' })).toThrow(/must be http/);
    expect(() => build({ uidRoot: '1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24' })).toThrow(KosBuildError);
    expect(() => build({ report: report({ accession: { value: 'ACN101', issuerOid: 'not-an-oid' } }) })).toThrow(/not an ISO OID/);
  });
});

describe('TID 2010 value type of a reference', () => {
  it('is IMAGE for images, WAVEFORM for waveforms, COMPOSITE for documents, SR, RT plans and private classes', async () => {
    const { referenceValueType } = await import('../../appliance/src/dicom/kos/value-type.js');
    const cases: [string, string][] = [
      ['1.2.840.10008.5.1.4.1.1.2', 'IMAGE'], // CT
      ['1.2.840.10008.5.1.4.1.1.1.2', 'IMAGE'], // digital mammography
      ['1.2.840.10008.5.1.4.1.1.66.4', 'IMAGE'], // segmentation
      ['1.2.840.10008.5.1.4.1.1.9.1.1', 'WAVEFORM'], // 12-lead ECG
      ['1.2.840.10008.5.1.4.1.1.88.59', 'COMPOSITE'], // KOS
      ['1.2.840.10008.5.1.4.1.1.11.1', 'COMPOSITE'], // grayscale presentation state
      ['1.2.840.10008.5.1.4.1.1.104.1', 'COMPOSITE'], // encapsulated PDF
      ['1.2.840.10008.5.1.4.1.1.481.5', 'COMPOSITE'], // RT plan
      ['1.2.840.10008.5.1.4.1.1.481.1', 'IMAGE'], // RT image
      ['1.2.840.10008.5.1.4.1.1.66', 'COMPOSITE'], // raw data
      ['1.3.46.670589.2.5.1.1', 'COMPOSITE'], // private class
    ];
    expect(cases.map(([uid]) => referenceValueType(uid))).toEqual(cases.map(([, type]) => type));
  });
});
