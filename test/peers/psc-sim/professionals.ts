// Test health professionals of the Pro Santé Connect simulator, with the claims PSC's userinfo carries
// (ci-sis-imaging.md §6 "Userinfo claims"). Identifiers are synthetic and RPPS-shaped: SubjectNameID is
// "8" + an 11-digit RPPS number, as PSC builds it for RPPS-registered professionals.

/** One password for every test professional (the simulator is test-only, loopback-only). */
export const TEST_PASSWORD = 'psc-sim-2026';

// Code systems (ci-sis-imaging.md §6, ans-reference-drimbox.md §3.2):
// profession TRE_G15 (1.2.250.1.71.1.2.7): 10 = Médecin; speciality TRE_R38 (1.2.250.1.213.2.28):
// SM44 = Radio-diagnostic, SM26 = Qualifié en médecine générale; sector TRE_R02 (1.2.250.1.71.4.2.4):
// SA07 = Cabinet individuel, SA08 = Cabinet de groupe.
const ROLE_OID = '1.2.250.1.213.1.1.5.5';
const SECTOR_OID = '1.2.250.1.71.4.2.4';

export interface PscActivity {
  codeModeExercice: string;
  codeSecteurDactivite: string;
  codeSectionPharmacie: string;
  codeRole: string;
  numeroSiretSite: string;
  numeroSirenSite: string;
  numeroFinessSite: string;
  numeroFinessetablissementJuridique: string;
  identifiantTechniqueDeLaStructure: string;
  ancienIdentifiantDeLaStructure: string;
  raisonSocialeSite: string;
  enseigneCommercialeSite: string;
  complementDestinataire: string;
  complementPointGeographique: string;
  numeroVoie: string;
  indiceRepetitionVoie: string;
  codeTypeDeVoie: string;
  libelleTypeDeVoie: string;
  libelleVoie: string;
  mentionDistribution: string;
  bureauCedex: string;
  codePostal: string;
  codeCommune: string;
  codePays: string;
  libellePays: string;
  telephone: string;
  telephone2: string;
  telecopie: string;
  adresseEMail: string;
  codeDepartement: string;
  ancienIdentifiantDeLaStructureDuSiteSiAncienSite: string;
}

export interface PscExercice {
  codeProfession: string;
  codeCategorieProfessionnelle: string;
  codeCiviliteDexercice: string;
  nomDexercice: string;
  prenomDexercice: string;
  codeTypeSavoirFaire: string;
  codeSavoirFaire: string;
  activities: PscActivity[];
}

export interface TestProfessional {
  /** Login name on the simulator's page and key for `mintToken`. */
  id: string;
  /** OIDC `sub`: PSC's technical identifier (opaque to relying parties). */
  sub: string;
  /** National identifier of the professional (RPPS-based). */
  subjectNameId: string;
  /** Label shown on the login page. */
  label: string;
  claims: Record<string, unknown>;
}

interface Practice {
  name: string;
  structureId: string;
  siret: string;
  street: string;
  postcode: string;
  communeCode: string;
  city: string;
  department: string;
  sector: 'SA07' | 'SA08';
}

function activity(p: Practice): PscActivity {
  return {
    codeModeExercice: 'L',
    codeSecteurDactivite: p.sector,
    codeSectionPharmacie: '',
    codeRole: '',
    numeroSiretSite: p.siret,
    numeroSirenSite: p.siret.slice(0, 9),
    numeroFinessSite: '',
    numeroFinessetablissementJuridique: '',
    identifiantTechniqueDeLaStructure: p.structureId,
    ancienIdentifiantDeLaStructure: `3${p.siret}`,
    raisonSocialeSite: p.name,
    enseigneCommercialeSite: '',
    complementDestinataire: '',
    complementPointGeographique: '',
    numeroVoie: '',
    indiceRepetitionVoie: '',
    codeTypeDeVoie: '',
    libelleTypeDeVoie: '',
    libelleVoie: p.street,
    mentionDistribution: '',
    bureauCedex: `${p.postcode} ${p.city.toUpperCase()}`,
    codePostal: p.postcode,
    codeCommune: p.communeCode,
    codePays: '',
    libellePays: '',
    telephone: '',
    telephone2: '',
    telecopie: '',
    adresseEMail: '',
    codeDepartement: p.department,
    ancienIdentifiantDeLaStructureDuSiteSiAncienSite: '',
  };
}

interface Person {
  id: string;
  sub: string;
  rpps: string;
  civility: 'M' | 'MME';
  givenName: string;
  familyName: string;
  speciality: 'SM44' | 'SM26';
  practice: Practice;
}

function professional(p: Person): TestProfessional {
  const subjectNameId = `8${p.rpps}`;
  const exercice: PscExercice = {
    codeProfession: '10',
    codeCategorieProfessionnelle: 'C',
    codeCiviliteDexercice: 'DR',
    nomDexercice: p.familyName,
    prenomDexercice: p.givenName,
    codeTypeSavoirFaire: 'S',
    codeSavoirFaire: p.speciality,
    activities: [activity(p.practice)],
  };
  return {
    id: p.id,
    sub: p.sub,
    subjectNameId,
    label: `Dr ${p.givenName} ${p.familyName} — ${p.speciality === 'SM44' ? 'radiologue' : 'médecin généraliste'}, ${p.practice.city}`,
    claims: {
      SubjectNameID: subjectNameId,
      preferred_username: subjectNameId,
      given_name: p.givenName,
      family_name: p.familyName,
      codeCivilite: p.civility,
      SubjectOrganization: p.practice.name,
      SubjectOrganizationID: p.practice.structureId,
      SubjectRole: [`10^${ROLE_OID}`],
      Secteur_Activite: `${p.practice.sector}^${SECTOR_OID}`,
      Palier_Authentification: 'APPPRIP3^1.2.250.1.213.1.5.1.1.1',
      Mode_Acces_Raison: '',
      Acces_Regulation_Medicale: '',
      UITVersion: '1.0',
      PSI_Locale: '1.2.250.1.213.1.3.1.1',
      otherIds: [{ identifiant: subjectNameId, origine: 'RPPS', qualite: 1 }],
      SubjectRefPro: {
        codeCivilite: p.civility,
        exercices: [exercice],
      },
    },
  };
}

export const TEST_PROFESSIONALS: readonly TestProfessional[] = [
  professional({
    id: 'claire.martin',
    sub: 'f:psc-sim:810000000001',
    rpps: '10000000001',
    civility: 'MME',
    givenName: 'Claire',
    familyName: 'MARTIN',
    speciality: 'SM44',
    practice: {
      name: 'Cabinet de radiologie de Strasbourg',
      structureId: 'R10000000001',
      siret: '11111111100011',
      street: '12 rue de la Nuée Bleue',
      postcode: '67000',
      communeCode: '67482',
      city: 'Strasbourg',
      department: '67',
      sector: 'SA08',
    },
  }),
  professional({
    id: 'paul.durand',
    sub: 'f:psc-sim:810000000002',
    rpps: '10000000002',
    civility: 'M',
    givenName: 'Paul',
    familyName: 'DURAND',
    speciality: 'SM26',
    practice: {
      name: 'Cabinet du Dr Durand',
      structureId: 'R10000000002',
      siret: '22222222200022',
      street: '3 place de la Cathédrale',
      postcode: '67000',
      communeCode: '67482',
      city: 'Strasbourg',
      department: '67',
      sector: 'SA07',
    },
  }),
  professional({
    id: 'marie.hoarau',
    sub: 'f:psc-sim:810000000003',
    rpps: '10000000003',
    civility: 'MME',
    givenName: 'Marie',
    familyName: 'HOARAU',
    speciality: 'SM44',
    practice: {
      name: 'Imagerie médicale de Saint-Pierre',
      structureId: 'R10000000003',
      siret: '33333333300033',
      street: '45 rue des Bons Enfants',
      postcode: '97410',
      communeCode: '97416',
      city: 'Saint-Pierre',
      department: '974',
      sector: 'SA08',
    },
  }),
];

/** The claims scope_all releases (every key of a professional's claims, plus the OIDC profile ones). */
export const SCOPE_ALL_CLAIMS: readonly string[] = [
  ...new Set(TEST_PROFESSIONALS.flatMap((p) => Object.keys(p.claims))),
];

export function findProfessional(idOrSub: string): TestProfessional | undefined {
  return TEST_PROFESSIONALS.find((p) => p.id === idOrSub || p.sub === idOrSub);
}
