import { describe, expect, it } from 'vitest';
import { SynthOptionsError, planStudy, seriesSizes } from '../../appliance/src/dicom/synth/options.js';
import { DEFAULT_PATIENT, INS_NIR_TEST_OID, nirKey, resolvePatient } from '../../appliance/src/dicom/synth/patient.js';
import { formatAge, formatDecimal, isValidDate } from '../../appliance/src/dicom/synth/format.js';
import { denaturalize, encodeElements, withLatin1Text } from '../../appliance/src/dicom/synth/dcmjs.js';
import type { SynthOptions } from '../../appliance/src/dicom/synth/types.js';

const base: SynthOptions = { modality: 'CT', instances: 10, outDir: '/tmp/unused' };

describe('INS / NIR', () => {
  it('computes the NIR key (97 − n mod 97), checked on the ANS sample INS 279035121518989', () => {
    expect(nirKey('2790351215189')).toBe('89');
  });

  it('gives the default patient a 15-digit INS with a valid key, the ANS issuer and the INS-NIR test OID', () => {
    expect(DEFAULT_PATIENT.id).toMatch(/^[12][0-9]{14}$/);
    expect(DEFAULT_PATIENT.id.slice(13)).toBe(nirKey(DEFAULT_PATIENT.id.slice(0, 13)));
    expect(DEFAULT_PATIENT.issuer).toBe('ASIP-SANTE-INS-NIR');
    expect(DEFAULT_PATIENT.insOid).toBe('1.2.250.1.213.1.4.10');
    expect(DEFAULT_PATIENT.name).toBe('DURAND-LÉGER^Hélène');
  });

  it('keeps the default INS when only the name changes, and no INS issuer for a caller-supplied ID', () => {
    expect(resolvePatient({ name: 'BERNARD^Jean' })).toMatchObject({ name: 'BERNARD^Jean', id: DEFAULT_PATIENT.id, insOid: INS_NIR_TEST_OID });
    const own = resolvePatient({ id: 'IPP-0042' });
    expect(own.id).toBe('IPP-0042');
    expect(own.issuer).toBeUndefined();
    expect(own.insOid).toBeUndefined();
    expect(resolvePatient({ id: '1', issuer: 'HOPITAL', insOid: '1.2.3' })).toMatchObject({ issuer: 'HOPITAL', insOid: '1.2.3' });
  });
});

describe('planStudy', () => {
  const refuse = (options: Partial<SynthOptions>, message: RegExp) =>
    expect(() => planStudy({ ...base, ...options } as SynthOptions)).toThrow(message);

  it('applies the modality defaults', () => {
    const ct = planStudy(base);
    expect([ct.rows, ct.columns, ct.charset, ct.transferSyntaxUid]).toEqual([512, 512, 'ISO_IR 192', '1.2.840.10008.1.2.1']);
    const mr = planStudy({ ...base, modality: 'MR', transferSyntax: 'implicit-le' });
    expect([mr.rows, mr.columns, mr.transferSyntaxUid]).toEqual([256, 256, '1.2.840.10008.1.2']);
    expect(planStudy({ ...base, modality: 'CR' }).profile.sopClassUid).toBe('1.2.840.10008.5.1.4.1.1.1');
  });

  it('is deterministic with a seed (UIDs, accession, date) and not without', () => {
    const a = planStudy({ ...base, seed: 7 });
    const b = planStudy({ ...base, seed: 7 });
    const c = planStudy({ ...base, seed: 8 });
    expect([a.studyInstanceUid, a.accessionNumber, a.studyDate.getTime()]).toEqual([b.studyInstanceUid, b.accessionNumber, b.studyDate.getTime()]);
    expect(c.studyInstanceUid).not.toBe(a.studyInstanceUid);
    expect(planStudy(base).studyInstanceUid).not.toBe(planStudy(base).studyInstanceUid);
  });

  it('refuses what would make an invalid file, saying which option and why', () => {
    refuse({ modality: 'US' as 'CT' }, /modality must be CT, MR or CR/);
    refuse({ modality: 'constructor' as 'CT' }, /modality must be CT, MR or CR/);
    refuse({ transferSyntax: 'toString' as 'implicit-le' }, /transferSyntax must be explicit-le or implicit-le/);
    refuse({ instances: 0 }, /instances must be an integer from 1/);
    refuse({ instances: 2.5 }, /instances must be an integer/);
    refuse({ seriesCount: 11 }, /seriesCount must be an integer from 1 to 10/);
    refuse({ rows: 5000 }, /rows must be an integer from 8 to 4096/);
    refuse({ outDir: '' }, /outDir is required/);
    refuse({ charset: 'GB18030' as 'ISO_IR 192' }, /charset must be/);
    refuse({ uidRoot: '1.02.3' }, /uidRoot "1.02.3" is not a valid UID/);
    refuse({ uidRoot: '1.2.' + '3'.repeat(44) }, /at least 16 are needed/);
    refuse({ studyInstanceUid: '1.2.3.abc' }, /studyInstanceUid "1.2.3.abc" is not a valid UID/);
    refuse({ accessionNumber: 'A'.repeat(17) }, /accessionNumber .* longer than 16/);
    refuse({ accessionNumber: 'A\\B' }, /backslash/);
    refuse({ patient: { name: 'A^B^C^D^E^F' } }, /not a DICOM person name/);
    refuse({ patient: { name: `${'X'.repeat(65)}^Y` } }, /longer than 64/);
    refuse({ patient: { birthDate: '19790231' } }, /birthDate "19790231" is not a date/);
    refuse({ patient: { insOid: '1.2.250.1.213.1.4.010' } }, /insOid/);
    refuse({ seed: 1.5 }, /seed must be an integer/);
    refuse({ patient: { name: 42 as unknown as string } }, /patient name must be a string, got number/);
  });

  it('refuses, before writing anything, text Latin-1 cannot hold when the charset is ISO_IR 100', () => {
    refuse({ charset: 'ISO_IR 100', patient: { name: 'ŁUKASZ^Ewa' } }, /"Ł", which ISO_IR 100 \(Latin-1\) cannot encode/);
    refuse({ charset: 'ISO_IR 100', studyDescription: 'Scanner – cerveau' }, /studyDescription .* "–"/);
    expect(planStudy({ ...base, charset: 'ISO_IR 192', patient: { name: 'ŁUKASZ^Ewa' } }).patient.name).toBe('ŁUKASZ^Ewa');
    expect(() => planStudy({ ...base, charset: 'ISO_IR 100' })).not.toThrow();
  });

  it('throws SynthOptionsError, which the CLI turns into a usage error', () => {
    expect(() => planStudy({ ...base, instances: -1 })).toThrow(SynthOptionsError);
  });
});

describe('seriesSizes', () => {
  it('spreads instances evenly, the first series taking the remainder', () => {
    expect(seriesSizes(10, 3)).toEqual([4, 3, 3]);
    expect(seriesSizes(1300, 4)).toEqual([325, 325, 325, 325]);
    expect(seriesSizes(5, 5)).toEqual([1, 1, 1, 1, 1]);
  });
});

describe('DICOM value formatting', () => {
  it('writes DS in at most 16 characters without trailing zeros', () => {
    expect(formatDecimal(0.48828125)).toBe('0.488281');
    expect(formatDecimal(-124.755859375)).toBe('-124.755859');
    expect(formatDecimal(5)).toBe('5');
    expect(formatDecimal(-0.0000001)).toBe('0');
    expect(formatDecimal(123456789012.345678).length).toBeLessThanOrEqual(16);
    expect(() => formatDecimal(Number.NaN)).toThrow(/not finite/);
  });

  it('validates dates and computes ages', () => {
    expect(isValidDate('20240229')).toBe(true);
    expect(isValidDate('20230229')).toBe(false);
    expect(isValidDate('2024-02-29')).toBe(false);
    expect(formatAge('19790312', new Date(2025, 2, 11))).toBe('045Y');
    expect(formatAge('19790312', new Date(2025, 2, 12))).toBe('046Y');
  });
});

describe('Latin-1 text through dcmjs', () => {
  const name = 'DURAND-LÉGER^Hélène';
  const nameElement = () => denaturalize({ PatientName: name });

  it('writes UTF-8 by default and ISO 8859-1 bytes inside withLatin1Text', () => {
    const utf8 = Buffer.from(encodeElements(nameElement(), '1.2.840.10008.1.2.1'));
    const latin1 = Buffer.from(withLatin1Text(() => encodeElements(nameElement(), '1.2.840.10008.1.2.1')));
    expect(utf8.includes(Buffer.from(name, 'utf8'))).toBe(true);
    expect(latin1.includes(Buffer.from(name, 'latin1'))).toBe(true);
    expect(latin1.includes(Buffer.from(name, 'utf8'))).toBe(false);
    // Explicit VR LE element: tag, "PN", 16-bit length (19 bytes + 1 pad), value.
    expect(latin1.readUInt16LE(6)).toBe(20);
  });

  it('restores dcmjs afterwards, even when a value cannot be encoded', () => {
    expect(() => withLatin1Text(() => encodeElements(denaturalize({ PatientName: '王^小明' }), '1.2.840.10008.1.2.1'))).toThrow(/ISO_IR 100/);
    const after = Buffer.from(encodeElements(nameElement(), '1.2.840.10008.1.2.1'));
    expect(after.includes(Buffer.from(name, 'utf8'))).toBe(true);
  });
});
