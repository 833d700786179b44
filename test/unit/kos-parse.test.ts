import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildRejectionNote, parseKos, KosParseError, REJECTION_TITLES, type KosStudy, type RejectionReason } from '../../appliance/src/dicom/kos/index.js';
import { readPart10, readString, writePart10, text, IMPLICIT_VR_LE } from '../../appliance/src/dicom/dataset/index.js';
import { referencePath } from '../fixtures/reference.js';

const SAMPLES = [referencePath('spec/kos/bcom-test-kos.dcm'), referencePath('ansforge/DRIM-M_DRIMbox/test-resources/kos.dcm')];
const ROOT = '1.2.826.0.1.3680043.10.1558';
const CT = '1.2.840.10008.5.1.4.1.1.2';

describe('parseKos: other implementations (Implicit VR LE, ISO_IR 100, no template)', () => {
  for (const path of SAMPLES) {
    it(`reads the b<>com PoC KOS ${path.split('/fixtures/')[1]}`, () => {
      const bytes = readFileSync(path);
      expect(readPart10(bytes).transferSyntaxUid).toBe('1.2.840.10008.1.2');
      const m = parseKos(bytes);
      expect(m).toEqual({
        sopInstanceUid: '1.2.276.0.7230010.3.1.4.1332562220.14700.1670582576.438',
        sopClassUid: '1.2.840.10008.5.1.4.1.1.88.59',
        documentTitle: { code: '113030', scheme: 'DCM', meaning: 'Manifest' },
        patient: { id: '248039263001064', issuer: 'ASIP-SANTE-INS-NIR', issuerOid: '1.2.250.1.213.1.4.10', name: 'INCISIX' },
        studyInstanceUid: '2.16.840.1.113669.632.20.1211.10000231621',
        accession: { value: '0901160050', issuerOid: '1.2.3.4.5.6' },
        placerOrder: { value: '1298989898', issuerOid: '1.2.3.4.5.6' },
        contentDate: '20221209',
        series: [
          {
            seriesInstanceUid: '1.3.12.2.1107.5.1.4.54693.30000006053107175587500014744',
            studyInstanceUid: '2.16.840.1.113669.632.20.1211.10000231621',
            retrieveUrl:
              'http://localhost:8080/dcm4chee-arc/aets/AS_RECEIVED/rs/studies/2.16.840.1.113669.632.20.1211.10000231621/series/1.3.12.2.1107.5.1.4.54693.30000006053107175587500014744',
            instances: [{ sopClassUid: CT, sopInstanceUid: '1.2.276.0.7230010.3.1.4.8323329.4426.1666943459.930423' }],
          },
        ],
      });
    });
  }
});

function smallStudy(): KosStudy {
  return {
    studyInstanceUid: '1.2.3.4.100',
    studyDate: '20240301',
    series: [
      { seriesInstanceUid: '1.2.3.4.100.1', instances: [1, 2, 3].map((i) => ({ sopClassUid: CT, sopInstanceUid: `1.2.3.4.100.1.${i}`, instanceNumber: i })) },
      { seriesInstanceUid: '1.2.3.4.100.2', instances: [{ sopClassUid: CT, sopInstanceUid: '1.2.3.4.100.2.1' }] },
    ],
  };
}

describe('parseKos: IOCM rejection notes', () => {
  for (const reason of Object.keys(REJECTION_TITLES) as RejectionReason[]) {
    it(`recognises title ${reason} (${REJECTION_TITLES[reason].meaning}) and lists the rejected instances`, () => {
      const note = buildRejectionNote({
        study: smallStudy(),
        patient: { id: 'IPP42', issuer: 'HOPITAL', name: 'NOËL^Zoé', birthDate: '20010203', sex: 'F' },
        reason,
        uidRoot: ROOT,
      });
      expect(note.instanceCount).toBe(4);
      const m = parseKos(note.part10);
      expect(m.rejection).toBe(true);
      expect(m.documentTitle).toEqual({ code: reason, scheme: 'DCM', meaning: REJECTION_TITLES[reason].meaning });
      expect(m.patient).toEqual({ id: 'IPP42', issuer: 'HOPITAL', name: 'NOËL^Zoé', birthDate: '20010203', sex: 'F' });
      expect(m.studyInstanceUid).toBe('1.2.3.4.100');
      expect(m.accession).toBeUndefined();
      expect(m.series.map((s) => [s.seriesInstanceUid, s.retrieveUrl, s.instances.map((i) => i.sopInstanceUid)])).toEqual([
        ['1.2.3.4.100.1', undefined, ['1.2.3.4.100.1.1', '1.2.3.4.100.1.2', '1.2.3.4.100.1.3']],
        ['1.2.3.4.100.2', undefined, ['1.2.3.4.100.2.1']],
      ]);
    });
  }

  it('defaults to 113001 Rejected for Quality Reasons, and drops a malformed study date rather than failing', () => {
    const study = { ...smallStudy(), studyDate: '2024-03-01', studyTime: '10:30' };
    const note = buildRejectionNote({ study, patient: { id: 'P1', sex: 'U' }, uidRoot: ROOT });
    const { dataset } = readPart10(note.part10);
    expect('00080020' in dataset && readString(dataset, '00080020')).toBe(undefined); // present (Type 2), empty
    expect('00100040' in dataset && readString(dataset, '00100040')).toBe(undefined);
    const m = parseKos(note.part10);
    expect(m.documentTitle?.code).toBe('113001');
    expect(m.rejection).toBe(true);
  });
});

describe('parseKos: independent of the transfer syntax', () => {
  it('reads the same manifest from an Implicit VR rewrite of a KOS', () => {
    const note = buildRejectionNote({ study: smallStudy(), patient: { id: 'P1', name: 'ÉLODIE^Zoé' }, uidRoot: ROOT });
    const { dataset } = readPart10(note.part10);
    const implicit = writePart10(dataset, {
      sopClassUid: '1.2.840.10008.5.1.4.1.1.88.59',
      sopInstanceUid: note.sopInstanceUid,
      transferSyntaxUid: IMPLICIT_VR_LE,
    });
    expect(readPart10(implicit).transferSyntaxUid).toBe(IMPLICIT_VR_LE);
    expect(parseKos(implicit)).toEqual(parseKos(note.part10));
  });
});

describe('parseKos: refuses what is not a KOS', () => {
  const kos = buildRejectionNote({ study: smallStudy(), patient: { id: 'P1' }, uidRoot: ROOT }).part10;

  it('refuses bytes that are not DICOM', () => {
    expect(() => parseKos(Buffer.alloc(0))).toThrow(KosParseError);
    expect(() => parseKos(Buffer.alloc(0))).toThrow(/not a KOS: not a DICOM Part-10 file: 0 bytes/);
    expect(() => parseKos(Buffer.from('MSH|^~\\&|RIS|...'))).toThrow(/not a DICOM Part-10 file/);
    expect(() => parseKos(Buffer.alloc(4096, 0x41))).toThrow(/no "DICM" marker/);
  });

  it('refuses a DICOM instance of another SOP class, naming it', () => {
    const ct = writePart10(
      { '00080016': text('UI', CT), '00080018': text('UI', '1.2.3.9'), '0020000D': text('UI', '1.2.3') },
      { sopClassUid: CT, sopInstanceUid: '1.2.3.9' },
    );
    expect(() => parseKos(ct)).toThrow(new KosParseError(`not a KOS: SOP Class UID is ${CT}, expected 1.2.840.10008.5.1.4.1.1.88.59 (Key Object Selection Document)`));
  });

  it('refuses a KOS that references nothing', () => {
    const { dataset } = readPart10(kos);
    delete dataset['0040A375'];
    const empty = writePart10(dataset, { sopClassUid: '1.2.840.10008.5.1.4.1.1.88.59', sopInstanceUid: '1.2.3.10' });
    expect(() => parseKos(empty)).toThrow(/has no Current Requested Procedure Evidence Sequence \(0040,A375\)/);
  });

  it('refuses UIDs that could escape a WADO-RS path', () => {
    const { dataset } = readPart10(kos);
    const series = (dataset['0040A375']!.Value![0] as Record<string, { Value: Record<string, unknown>[] }>)['00081115']!.Value[0]!;
    series['0020000E'] = text('UI', '1.2.3/../../studies');
    const forged = writePart10(dataset, { sopClassUid: '1.2.840.10008.5.1.4.1.1.88.59', sopInstanceUid: '1.2.3.11' });
    expect(() => parseKos(forged)).toThrow(/Series Instance UID in the evidence of KOS [0-9.]+ "1\.2\.3\.+(studies)?" is not a UID/);
  });

  it('refuses a truncated KOS', () => {
    expect(() => parseKos(kos.subarray(0, Math.floor(kos.length / 2)))).toThrow(KosParseError);
  });

  it('only ever throws KosParseError on corrupted copies (300 seeded mutations)', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    let parsed = 0;
    let refused = 0;
    for (let n = 0; n < 300; n++) {
      const copy = Buffer.from(kos);
      const end = n % 3 === 0 ? 132 + Math.floor(rand() * (copy.length - 132)) : copy.length;
      for (let k = 0; k < 1 + (n % 5); k++) copy[132 + Math.floor(rand() * (copy.length - 132))] = Math.floor(rand() * 256);
      try {
        parseKos(copy.subarray(0, end));
        parsed++;
      } catch (err) {
        expect(err).toBeInstanceOf(KosParseError);
        refused++;
      }
    }
    expect(parsed + refused).toBe(300);
    expect(refused).toBeGreaterThan(0);
  });
});
