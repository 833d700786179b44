import { z } from 'zod';

// PSC userinfo (ci-sis-imaging.md §6 "Userinfo claims"). Parsed leniently (PSC adds fields over time) but
// the identity fields the box relies on are required.

const activitySchema = z.looseObject({
  codeModeExercice: z.string().optional(),
  codeSecteurDactivite: z.string().optional(),
  numeroFinessSite: z.string().optional(),
  numeroSiretSite: z.string().optional(),
  identifiantTechniqueDeLaStructure: z.string().optional(),
  ancienIdentifiantDeLaStructure: z.string().optional(),
  raisonSocialeSite: z.string().optional(),
  codePostal: z.string().optional(),
  bureauCedex: z.string().optional(),
});

const exerciceSchema = z.looseObject({
  codeProfession: z.string().optional(),
  codeCategorieProfessionnelle: z.string().optional(),
  codeSavoirFaire: z.string().optional(),
  codeTypeSavoirFaire: z.string().optional(),
  nomDexercice: z.string().optional(),
  prenomDexercice: z.string().optional(),
  activities: z.array(activitySchema).default([]),
});

export const pscUserInfoSchema = z.looseObject({
  sub: z.string().min(1),
  SubjectNameID: z.string().min(1),
  preferred_username: z.string().optional(),
  given_name: z.string().optional(),
  family_name: z.string().optional(),
  SubjectOrganization: z.string().optional(),
  SubjectRole: z.array(z.string()).optional(),
  Secteur_Activite: z.string().optional(),
  SubjectRefPro: z.looseObject({ exercices: z.array(exerciceSchema).default([]) }).optional(),
});

export type PscUserInfo = z.infer<typeof pscUserInfoSchema>;
export type PscExercice = z.infer<typeof exerciceSchema>;
export type PscActivity = z.infer<typeof activitySchema>;

export function parsePscUserInfo(raw: unknown): PscUserInfo {
  const parsed = pscUserInfoSchema.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
    throw new Error(`Pro Santé Connect userinfo is missing or has malformed fields: ${where}`);
  }
  return parsed.data;
}
