import type { PortalUser, PracticeSituation } from '../auth/session/index.js';
import type { VihfSubject, XdsSubmissionContext } from '../xds/index.js';
import { cx } from '../xds/hl7-types.js';
import type { Ins } from './ins.js';

// VIHF role code systems (ci-sis-imaging.md §4 VIHF row): profession TRE_G15, speciality TRE_R38.
const PROFESSION_OID = '1.2.250.1.71.1.2.7';
const SPECIALTY_OID = '1.2.250.1.71.4.2.5';

/**
 * The VIHF subject of a consumer transaction (ITI-18, ITI-43): the professional logged in through Pro Santé
 * Connect, in the practice situation of the call, for this patient — never the box's configured radiologist.
 */
export function consumerVihfSubject(user: PortalUser, situation: PracticeSituation | undefined, ins: Ins, context: XdsSubmissionContext): VihfSubject {
  const profession = user.profession && /^\d{2}$/.test(user.profession) ? user.profession : undefined;
  return {
    nameId: user.subjectNameId,
    subjectName: [user.givenName, user.familyName].filter(Boolean).join(' ') || user.subjectNameId,
    structureId: situation?.legacyStructureId ?? situation?.structureId ?? context.structure.id,
    facilityTypeCode: situation?.sector && /^SA\d{2}$/.test(situation.sector) ? situation.sector : context.facilityType.code,
    roles: [
      profession
        ? { code: profession, scheme: PROFESSION_OID, display: profession === context.authorRole.profession.code ? context.authorRole.profession.display : profession }
        : context.authorRole.profession,
      ...(user.speciality
        ? [{ code: user.speciality, scheme: SPECIALTY_OID, display: user.speciality === context.authorRole.specialty.code ? context.authorRole.specialty.display : user.speciality }]
        : []),
    ],
    // XDS patientId and VIHF resource-id: the INS as CX ^NH (ci-sis-imaging.md §2.1).
    patientId: cx(ins.value, ins.oid, 'NH'),
    mode: context.vihf.mode,
  };
}
