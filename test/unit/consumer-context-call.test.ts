import { describe, expect, it } from 'vitest';
import { CONTEXT_PARAMETERS, insKey, insMatriculeProblem, parseContextCall } from '../../appliance/src/consumer/index.js';
import { contextBody } from './consumer-helpers.js';

const ALL = Object.values(CONTEXT_PARAMETERS);
const MANDATORY = ALL.filter((n) => n !== 'Situation');

function reasonOf(body: string): string {
  const r = parseContextCall(body);
  if (r.ok) throw new Error(`accepted: ${body}`);
  return r.reason;
}

describe('contextual call: parameters (ci-sis-imaging.md §3.4)', () => {
  it('accepts the complete call and normalises its values', () => {
    const r = parseContextCall(contextBody());
    expect(r).toEqual({
      ok: true,
      call: {
        ins: { value: '279035121518989', oid: '1.2.250.1.213.1.4.10' },
        birthName: 'BERNARD',
        birthGivenNames: 'JEAN PIERRE',
        sex: 'M',
        birthDate: '1979-03-12',
        birthPlaceCode: '97416',
        consent: true,
        localId: 'IPP-0042',
        localIdIssuer: 'CABINET-STRAS&1.2.250.1.999.42.1&ISO',
        situation: '311111111100011',
      },
    });
  });

  it('Situation is optional', () => {
    const r = parseContextCall(contextBody({ Situation: null }));
    expect(r.ok && r.call.situation).toBe(undefined);
    expect(r.ok).toBe(true);
  });

  it.each(MANDATORY)('a call without %s is refused, naming it', (name) => {
    expect(reasonOf(contextBody({ [name]: null }))).toBe(`paramètre obligatoire manquant : ${name}`);
  });

  it('names every missing parameter at once', () => {
    expect(reasonOf(contextBody({ PatientID: null, 'Patient.gender': null }))).toBe('paramètre obligatoire manquant : Patient.gender, PatientID');
  });

  it.each(ALL)('an empty %s is refused, naming it', (name) => {
    expect(reasonOf(contextBody({ [name]: '' }))).toBe(`paramètre sans valeur : ${name}`);
    expect(reasonOf(contextBody({ [name]: '   ' }))).toBe(`paramètre sans valeur : ${name}`);
  });

  it.each([
    'StudyInstanceUID',
    'InformationEtOppositionConsultation', // the demonstrator's old name
    'patient.identifier.value', // names are case-sensitive
    'ins',
    'Modality',
  ])('an unknown parameter (%s) is refused, naming it', (name) => {
    expect(reasonOf(`${contextBody()}&${encodeURIComponent(name)}=x`)).toBe(`paramètre inconnu : ${name}`);
  });

  it('a repeated parameter is refused', () => {
    expect(reasonOf(`${contextBody()}&PatientID=OTHER`)).toBe('paramètre répété : PatientID');
  });

  it('an unknown parameter is reported before a missing one', () => {
    expect(reasonOf(contextBody({ PatientID: null, Foo: 'bar' }))).toBe('paramètre inconnu : Foo');
  });

  it.each([
    ['Patient.identifier.value', '279035121518988', 'clé'],
    ['Patient.identifier.value', '27903512151898', '15 caractères'],
    ['Patient.identifier.value', 'ABCDEFGHIJKLMNO', '15 caractères'],
    ['Patient.identifier.system', '1.2.250.1.213.1.4.2', "OID d'INS"],
    ['Patient.gender', 'X', 'M, F'],
    ['Patient.birthDate', '1979-02-30', 'AAAA-MM-JJ'],
    ['Patient.birthDate', '12/03/1979', 'AAAA-MM-JJ'],
    ['Patient.birthDate', '2999-01-01', 'AAAA-MM-JJ'],
    ['Address.district', '9741', 'INSEE'],
    ['InformationEtConsentement', 'peut-être', 'true ou false'],
    ['PatientID', 'IPP\\42', 'barre oblique'],
    ['PatientID', 'x'.repeat(65), '64'],
    ['Patient.name.family', 'BER\u0007NARD', 'contrôle'],
  ])('a malformed %s ("%s") is refused', (name, value, words) => {
    const reason = reasonOf(contextBody({ [name]: value }));
    expect(reason.startsWith(`valeur invalide pour ${name} : `)).toBe(true);
    expect(reason).toContain(words);
  });

  it('takes FHIR forms: urn:oid system, male/female, YYYYMMDD dates, INS partial dates', () => {
    const r = parseContextCall(contextBody({ 'Patient.identifier.system': 'urn:oid:1.2.250.1.213.1.4.8', 'Patient.gender': 'female', 'Patient.birthDate': '19790300' }));
    expect(r.ok && [r.call.ins.oid, r.call.sex, r.call.birthDate]).toEqual(['1.2.250.1.213.1.4.8', 'F', '1979-03-00']);
    const refused = parseContextCall(contextBody({ 'Patient.birthDate': '1979-00-12' }));
    expect(refused.ok).toBe(false);
    const consent = parseContextCall(contextBody({ InformationEtConsentement: 'NON' }));
    expect(consent.ok && consent.call.consent).toBe(false);
  });

  it('decodes form encoding (the ANS demonstrator did not)', () => {
    const r = parseContextCall(contextBody({ 'Patient.name.family': 'LEFÈVRE-NOËL', 'Patient.name.given': 'HÉLÈNE MARIE' }).replace(/%20/g, '+'));
    expect(r.ok && [r.call.birthName, r.call.birthGivenNames]).toEqual(['LEFÈVRE-NOËL', 'HÉLÈNE MARIE']);
  });
});

describe('INS matricule', () => {
  it('checks the key, Corsica included', () => {
    expect(insMatriculeProblem('279035121518989')).toBeUndefined();
    expect(insMatriculeProblem('162018885045327')).toBeUndefined();
    // 2A counts as 19 in the key (INSEE rule): 1 80 12 2A 123 456 is keyed as 1801219123456.
    const body = '180122A123456';
    const key = insKey(body)!;
    expect(key).toBe(String(97n - (1801219123456n % 97n)).padStart(2, '0'));
    expect(insMatriculeProblem(body + key)).toBeUndefined();
    expect(insMatriculeProblem(body + (key === '01' ? '02' : '01'))).toMatch(/clé/);
  });
});
