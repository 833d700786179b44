import type { PscUserInfo } from '../psc/userinfo.js';

/**
 * The logged-in professional as the portal keeps them: identity for display and audit, and the practice situations
 * (PSC activities) among which the VIHF's structure is chosen (ci-sis-imaging.md §6 "Userinfo claims").
 */
export interface PortalUser {
  sub: string;
  /** National identifier (RPPS-based): VIHF Subject/NameID and audit trail. */
  subjectNameId: string;
  givenName: string;
  familyName: string;
  /** TRE_G15 profession code of the first exercice ("10": médecin). */
  profession?: string;
  /** TRE_R38 speciality of the first exercice ("SM44": radio-diagnostic). */
  speciality?: string;
  situations: PracticeSituation[];
  /** How the professional proved who they are; absent: Pro Santé Connect (the session then holds PSC tokens). */
  authentication?: CardAuthentication;
}

/** A CPS card: in the box's reader (PIN typed on the touch screen), or in a workstation's reader (TLS client certificate). */
export type CardAuthentication = { method: 'cps-card'; cardSerial: string } | { method: 'cps-certificate'; certificateSha256: string };

/** What a CPS certificate says of its holder (auth/pkcs11/holder.ts CardHolder, structurally). */
export interface CertifiedHolder {
  nationalId: string;
  surname: string;
  givenName: string;
  profession: string;
}

/**
 * The portal user a CPS card names: the same national identifier as PSC's SubjectNameID (8 + RPPS), hence the same
 * user for audit and DMP access. No PSC situations: the VIHF takes the box's structure (xds.structure).
 */
export function portalUserFromCard(holder: CertifiedHolder, authentication: CardAuthentication): PortalUser {
  return {
    sub: `cps:${holder.nationalId}`,
    subjectNameId: holder.nationalId,
    givenName: holder.givenName,
    familyName: holder.surname,
    // TRE_G15 code of the one profession label read with certainty here (the card's title); others: the box's default.
    ...(holder.profession.normalize('NFC').toLowerCase() === 'médecin' ? { profession: '10' } : {}),
    situations: [],
    authentication,
  };
}

export interface PracticeSituation {
  name: string;
  /** identifiantTechniqueDeLaStructure. */
  structureId?: string;
  /** ancienIdentifiantDeLaStructure ("1" + FINESS, "3" + SIRET...): the id the DMP knows, used first. */
  legacyStructureId?: string;
  /** TRE_R02 sector code, e.g. SA07. */
  sector?: string;
  finess?: string;
  siret?: string;
}

const nonEmpty = (v: string | undefined): string | undefined => (v && v.trim() ? v.trim() : undefined);

export function portalUserFrom(info: PscUserInfo): PortalUser {
  const exercices = info.SubjectRefPro?.exercices ?? [];
  const first = exercices[0];
  return {
    sub: info.sub,
    subjectNameId: info.SubjectNameID,
    givenName: nonEmpty(info.given_name) ?? nonEmpty(first?.prenomDexercice) ?? '',
    familyName: nonEmpty(info.family_name) ?? nonEmpty(first?.nomDexercice) ?? '',
    ...(nonEmpty(first?.codeProfession) ? { profession: nonEmpty(first?.codeProfession) } : {}),
    ...(nonEmpty(first?.codeSavoirFaire) ? { speciality: nonEmpty(first?.codeSavoirFaire) } : {}),
    situations: exercices.flatMap((e) =>
      e.activities.map((a) => {
        const s: PracticeSituation = { name: nonEmpty(a.raisonSocialeSite) ?? '' };
        const set = (key: Exclude<keyof PracticeSituation, 'name'>, v: unknown) => {
          const t = typeof v === 'string' ? nonEmpty(v) : undefined;
          if (t) s[key] = t;
        };
        set('structureId', a.identifiantTechniqueDeLaStructure);
        set('legacyStructureId', a.ancienIdentifiantDeLaStructure);
        set('sector', a.codeSecteurDactivite);
        set('finess', a.numeroFinessSite);
        set('siret', a.numeroSiretSite);
        return s;
      }),
    ),
  };
}

/**
 * The situation a contextual call names (`Situation`: a structure id, FINESS or SIRET), else the first one. Undefined
 * when the professional has none.
 */
export function chooseSituation(user: PortalUser, wanted?: string): PracticeSituation | undefined {
  const w = wanted?.trim();
  if (w) {
    const match = user.situations.find((s) => [s.legacyStructureId, s.structureId, s.finess, s.siret].includes(w));
    if (match) return match;
  }
  return user.situations[0];
}

export function displayName(user: Pick<PortalUser, 'givenName' | 'familyName'>): string {
  return [user.givenName, user.familyName.toUpperCase()].filter(Boolean).join(' ');
}
