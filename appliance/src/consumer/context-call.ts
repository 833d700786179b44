import { insMatriculeProblem, normaliseInsOid, type Ins } from './ins.js';

/**
 * The contextual call ("appel contextuel", ci-sis-imaging.md §3.4): a RIS/LPS opens the consumer portal on one
 * patient with a form POST (application/x-www-form-urlencoded). Parameter names are those of the current DRIMbox
 * specification as the ANS test server accepts them (ans-reference-drimbox.md §1.4): all mandatory but `Situation`;
 * an unknown, repeated or empty parameter is refused, and so is a value that cannot be what it claims to be.
 */

export const CONTEXT_PARAMETERS = {
  insValue: 'Patient.identifier.value',
  insSystem: 'Patient.identifier.system',
  family: 'Patient.name.family',
  given: 'Patient.name.given',
  gender: 'Patient.gender',
  birthDate: 'Patient.birthDate',
  birthPlace: 'Address.district',
  consent: 'InformationEtConsentement',
  localId: 'PatientID',
  localIdIssuer: 'PatientIDIssuer',
  situation: 'Situation',
} as const;

const MANDATORY: readonly string[] = Object.values(CONTEXT_PARAMETERS).filter((n) => n !== CONTEXT_PARAMETERS.situation);
const KNOWN = new Set<string>(Object.values(CONTEXT_PARAMETERS));

export type Sex = 'M' | 'F' | 'I' | 'U';

/** The patient and the calling context, validated. Traits are the INS traits as the RIS holds them. */
export interface ContextCall {
  ins: Ins;
  /** Nom de naissance. */
  birthName: string;
  /** Prénom(s) de naissance, as sent (space-separated list). */
  birthGivenNames: string;
  sex: Sex;
  /** YYYY-MM-DD; "00" for an unknown day or month, as INS allows. */
  birthDate: string;
  /** INSEE code of the birth place (commune, or 99xxx country). */
  birthPlaceCode: string;
  /** The patient was informed and consents to the consultation of their imaging. */
  consent: boolean;
  /** IPP in the calling practice, and its issuer (ANS recommends the full CX-4 of PID-3: `name&OID&ISO`). */
  localId: string;
  localIdIssuer: string;
  situation?: string;
}

export type ContextCallResult = { ok: true; call: ContextCall } | { ok: false; reason: string };

const refuse = (reason: string): ContextCallResult => ({ ok: false, reason });

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function sexOf(value: string): Sex | undefined {
  // HL7 v2 / INS letters, or FHIR AdministrativeGender.
  const table: Record<string, Sex> = { m: 'M', f: 'F', i: 'I', u: 'U', male: 'M', female: 'F', other: 'I', unknown: 'U' };
  return Object.hasOwn(table, value.toLowerCase()) ? table[value.toLowerCase()] : undefined;
}

function consentOf(value: string): boolean | undefined {
  const v = value.toLowerCase();
  if (['true', 'oui', '1', 'o', 'y', 'yes'].includes(v)) return true;
  if (['false', 'non', '0', 'n', 'no'].includes(v)) return false;
  return undefined;
}

/** FHIR date (YYYY-MM-DD) or YYYYMMDD; day, or day and month, may be 00 (INS partial dates). */
function birthDateOf(value: string): string | undefined {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 1850 || y > new Date().getUTCFullYear()) return undefined;
  if (mo === 0 && d !== 0) return undefined;
  if (mo > 12) return undefined;
  if (mo !== 0 && d !== 0) {
    const date = new Date(Date.UTC(y, mo - 1, d));
    if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return undefined;
  }
  return `${m[1]}-${m[2]}-${m[3]}`;
}

function textProblem(value: string, max: number): string | undefined {
  if ([...value].length > max) return `plus de ${max} caractères`;
  if (CONTROL.test(value)) return 'caractère de contrôle';
  return undefined;
}

/**
 * Validates the body of a contextual call. Refusals name every offending parameter of the first kind of problem met,
 * in this order: unknown, repeated, empty, missing, invalid.
 */
export function parseContextCall(body: string): ContextCallResult {
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(body);
  } catch {
    return refuse('corps de requête illisible (application/x-www-form-urlencoded attendu)');
  }
  const names = [...params.keys()];
  const unknown = [...new Set(names.filter((n) => !KNOWN.has(n)))];
  if (unknown.length) return refuse(`paramètre inconnu : ${unknown.join(', ')}`);
  const repeated = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
  if (repeated.length) return refuse(`paramètre répété : ${repeated.join(', ')}`);
  const empty = names.filter((n) => (params.get(n) ?? '').trim() === '');
  if (empty.length) return refuse(`paramètre sans valeur : ${empty.join(', ')}`);
  const missing = MANDATORY.filter((n) => !params.has(n));
  if (missing.length) return refuse(`paramètre obligatoire manquant : ${missing.join(', ')}`);

  const get = (n: string) => params.get(n)!.trim();
  const P = CONTEXT_PARAMETERS;
  const invalid = (n: string, why: string) => refuse(`valeur invalide pour ${n} : ${why}`);

  const insValue = get(P.insValue).toUpperCase();
  const insProblem = insMatriculeProblem(insValue);
  if (insProblem) return invalid(P.insValue, insProblem);
  const oid = normaliseInsOid(get(P.insSystem));
  if (!oid) return invalid(P.insSystem, "OID d'INS attendu (1.2.250.1.213.1.4.8, .9, .10 ou .11)");
  for (const n of [P.family, P.given]) {
    const problem = textProblem(get(n), 100);
    if (problem) return invalid(n, problem);
  }
  const sex = sexOf(get(P.gender));
  if (!sex) return invalid(P.gender, 'M, F, I, U (ou male, female, other, unknown) attendu');
  const birthDate = birthDateOf(get(P.birthDate));
  if (!birthDate) return invalid(P.birthDate, 'date AAAA-MM-JJ attendue');
  const birthPlaceCode = get(P.birthPlace).toUpperCase();
  if (!/^(?:[0-9]{2}|2A|2B)[0-9]{3}$/.test(birthPlaceCode)) return invalid(P.birthPlace, 'code INSEE du lieu de naissance (5 caractères) attendu');
  const consent = consentOf(get(P.consent));
  if (consent === undefined) return invalid(P.consent, 'true ou false attendu');
  // The IPP ends up in DICOM Patient ID (LO) when images are imported: printable ASCII, no backslash, 64 at most.
  const localId = get(P.localId);
  if (!/^[\x20-\x5b\x5d-\x7e]{1,64}$/.test(localId)) return invalid(P.localId, '1 à 64 caractères ASCII imprimables, sans barre oblique inverse');
  const localIdIssuer = get(P.localIdIssuer);
  if (!/^[\x20-\x5b\x5d-\x7e]{1,199}$/.test(localIdIssuer)) return invalid(P.localIdIssuer, '1 à 199 caractères ASCII imprimables');
  const call: ContextCall = {
    ins: { value: insValue, oid },
    birthName: get(P.family),
    birthGivenNames: get(P.given),
    sex,
    birthDate,
    birthPlaceCode,
    consent,
    localId,
    localIdIssuer,
  };
  if (params.has(P.situation)) {
    const situation = get(P.situation);
    const problem = textProblem(situation, 256);
    if (problem) return invalid(P.situation, problem);
    call.situation = situation;
  }
  return { ok: true, call };
}
