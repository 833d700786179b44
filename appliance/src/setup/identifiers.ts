/** Luhn (ISO/IEC 7812-1) over a digit string, the key of FINESS, SIRET and RPPS numbers. */
export function luhnValid(digits: string): boolean {
  if (!/^[0-9]+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export type StructureIdCheck = { ok: true; structureId: string; kind: 'finess' | 'siret' | 'rpps-rang' } | { ok: false; why: 'format' | 'check-digit' };

/**
 * A practice's identifier as the technician types it: a FINESS (9 digits, Luhn key; Corsica's 2A/2B taken as is),
 * or a national structure identifier — type prefix then number, as Pro Santé Connect's `ancienIdentifiantDeLaStructure`
 * and the VIHF's `Identifiant_Structure` carry it (ans-reference-drimbox.md, VIHF table): 1 + FINESS, 3 + SIRET
 * (14 digits, Luhn), 4 + the cabinet's RPPS number and rank (11 digits with their Luhn key, then 3). A bare FINESS
 * becomes `1` + FINESS.
 */
export function checkStructureId(input: string): StructureIdCheck {
  const v = input.replace(/\s+/g, '').toUpperCase();
  const finess = (f: string) => /^2[AB][0-9]{7}$/.test(f) || (/^[0-9]{9}$/.test(f) && luhnValid(f));
  if (/^(?:[0-9]{9}|2[AB][0-9]{7})$/.test(v)) return finess(v) ? { ok: true, structureId: `1${v}`, kind: 'finess' } : { ok: false, why: 'check-digit' };
  if (/^1(?:[0-9]{9}|2[AB][0-9]{7})$/.test(v)) return finess(v.slice(1)) ? { ok: true, structureId: v, kind: 'finess' } : { ok: false, why: 'check-digit' };
  if (/^3[0-9]{14}$/.test(v)) return luhnValid(v.slice(1)) ? { ok: true, structureId: v, kind: 'siret' } : { ok: false, why: 'check-digit' };
  if (/^4[0-9]{14}$/.test(v)) return luhnValid(v.slice(1, 12)) ? { ok: true, structureId: v, kind: 'rpps-rang' } : { ok: false, why: 'check-digit' };
  return { ok: false, why: 'format' };
}
