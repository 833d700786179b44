import type { ContextCall, Sex } from './context-call.js';
import type { RegistryTraits } from './exams.js';
import type { Ins } from './ins.js';

/**
 * A patient opened in a portal session, and their INS traits as the INS rules ask them shown (ci-sis-imaging.md
 * §3.4: birth name, first birth given name, birth date, sex, birth place code; INS matricule and OID).
 */

export interface PatientTraits {
  birthName?: string;
  /** The list of birth given names, as received. */
  birthGivenNames?: string;
  firstGivenName?: string;
  sex?: Sex | string;
  /** YYYY-MM-DD. */
  birthDate?: string;
  birthPlaceCode?: string;
  /** Where the traits come from: the RIS's contextual call, or the DMP's metadata after a search by INS. */
  source: 'contexte' | 'dmp' | 'aucune';
}

export interface OpenedPatient {
  handle: string;
  ins: Ins;
  traits: PatientTraits;
  localId?: string;
  localIdIssuer?: string;
  situation?: string;
  consent?: boolean;
  origin: 'contexte' | 'recherche';
}

/** INS "premier prénom de naissance": the first of the space-separated birth given names. */
export function firstGivenName(givenNames: string): string {
  return givenNames.trim().split(/\s+/)[0] ?? '';
}

export function traitsFromContext(call: ContextCall): PatientTraits {
  return {
    birthName: call.birthName,
    birthGivenNames: call.birthGivenNames,
    firstGivenName: firstGivenName(call.birthGivenNames),
    sex: call.sex,
    birthDate: call.birthDate,
    birthPlaceCode: call.birthPlaceCode,
    source: 'contexte',
  };
}

export function traitsFromRegistry(t: RegistryTraits): PatientTraits {
  if (!t.birthName && !t.birthDate && !t.sex) return { source: 'aucune' };
  return {
    ...(t.birthName ? { birthName: t.birthName } : {}),
    ...(t.firstGivenName ? { firstGivenName: t.firstGivenName } : {}),
    ...(t.sex ? { sex: t.sex } : {}),
    ...(t.birthDate ? { birthDate: t.birthDate } : {}),
    source: 'dmp',
  };
}
