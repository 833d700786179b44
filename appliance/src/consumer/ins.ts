/**
 * The INS (Identifiant National de Santé): a 15-character matricule (NIR or NIA: 13 characters and a 2-digit key)
 * under one of the INS OIDs (ci-sis-imaging.md §1.2). The DMP is indexed by INS only.
 */

/** INS assigning authorities (ci-sis-imaging.md §1.2: fr-core / ANS CDA stylesheets). */
export const INS_OIDS: Readonly<Record<string, string>> = {
  '1.2.250.1.213.1.4.8': 'INS-NIR',
  '1.2.250.1.213.1.4.9': 'INS-NIA',
  '1.2.250.1.213.1.4.10': 'INS-NIR de test',
  '1.2.250.1.213.1.4.11': 'INS-NIR de démonstration',
};

export interface Ins {
  value: string;
  oid: string;
}

const MATRICULE = /^([1-8][0-9]{4})([0-9]{2}|2A|2B)([0-9]{6})([0-9]{2})$/;

/** NIR/NIA key: 97 − (number mod 97), Corsica's 2A and 2B counted as 19 and 18 (INSEE rule). */
export function insKey(first13: string): string | undefined {
  const m = /^([1-8][0-9]{4})([0-9]{2}|2A|2B)([0-9]{6})$/.exec(first13);
  if (!m) return undefined;
  const dept = m[2] === '2A' ? '19' : m[2] === '2B' ? '18' : m[2]!;
  const n = BigInt(`${m[1]}${dept}${m[3]}`);
  return String(97n - (n % 97n)).padStart(2, '0');
}

/** Why a matricule is not an INS, or undefined when it is one (format and key). */
export function insMatriculeProblem(value: string): string | undefined {
  const m = MATRICULE.exec(value);
  if (!m) return 'le matricule INS compte 15 caractères : 13 chiffres (2A/2B pour la Corse) et une clé de 2 chiffres';
  if (insKey(value.slice(0, 13)) !== m[4]) return 'la clé du matricule INS ne correspond pas';
  return undefined;
}

/** An INS OID, given bare or as `urn:oid:…` (the FHIR form), or undefined when it is not one. */
export function normaliseInsOid(system: string): string | undefined {
  const oid = system.trim().replace(/^urn:oid:/i, '');
  return Object.hasOwn(INS_OIDS, oid) ? oid : undefined;
}

export function insLabel(oid: string): string {
  return INS_OIDS[oid] ?? oid;
}
