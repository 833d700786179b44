import type { SynthPatient } from './types.js';

/** Issuer of Patient ID for an INS (ci-sis-imaging.md §1.2, ANS samples). */
export const INS_NIR_ISSUER = 'ASIP-SANTE-INS-NIR';
/** INS-NIR test OID (ci-sis-imaging.md §1.2: .8 production, .10 test): synthetic patients are never real. */
export const INS_NIR_TEST_OID = '1.2.250.1.213.1.4.10';

/** NIR control key: 97 − (the 13-digit number mod 97), two digits. */
export function nirKey(first13: string): string {
  if (!/^[0-9]{13}$/.test(first13)) throw new RangeError(`NIR body "${first13}" must be 13 digits`);
  return String(97 - Number(BigInt(first13) % 97n)).padStart(2, '0');
}

/** A 15-character NIR-like INS: sex, birth year and month, département, commune, order number, key. */
export function nir(body: { sex: 1 | 2; yy: string; mm: string; departement: string; commune: string; order: string }): string {
  const first13 = `${body.sex}${body.yy}${body.mm}${body.departement}${body.commune}${body.order}`;
  return first13 + nirKey(first13);
}

export type ResolvedPatient = Required<Pick<SynthPatient, 'name' | 'id'>> & SynthPatient;

export const DEFAULT_PATIENT: Readonly<Required<SynthPatient>> = {
  name: 'DURAND-LÉGER^Hélène',
  id: nir({ sex: 2, yy: '79', mm: '03', departement: '75', commune: '112', order: '047' }),
  issuer: INS_NIR_ISSUER,
  insOid: INS_NIR_TEST_OID,
  birthDate: '19790312',
  sex: 'F',
};

/** The caller's fields over the defaults; a caller's own `id` brings its own issuer (or none). */
export function resolvePatient(patient: SynthPatient | undefined): ResolvedPatient {
  const p = patient ?? {};
  const identity =
    p.id !== undefined
      ? { id: p.id, ...(p.issuer !== undefined && { issuer: p.issuer }), ...(p.insOid !== undefined && { insOid: p.insOid }) }
      : { id: DEFAULT_PATIENT.id, issuer: p.issuer ?? DEFAULT_PATIENT.issuer, insOid: p.insOid ?? DEFAULT_PATIENT.insOid };
  return {
    name: p.name ?? DEFAULT_PATIENT.name,
    ...identity,
    birthDate: p.birthDate ?? DEFAULT_PATIENT.birthDate,
    sex: p.sex ?? DEFAULT_PATIENT.sex,
  };
}
