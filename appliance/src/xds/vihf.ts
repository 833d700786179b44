import { randomUUID } from 'node:crypto';
import type { Signer } from '../auth/signer/signer.js';
import type { ReportEvent } from '../report/types.js';
import { FACILITY_TYPE_SCHEME, NS, OID, type Code } from './codes.js';
import { hl7Unescape, insPatientId, MetadataError } from './hl7-types.js';
import type { DocumentEntry, SubmissionSetInfo, VihfAuthMode, XdsSubmissionContext } from './types.js';
import { esc } from './xml.js';
import { DSIG, rfc4514, signXml } from './xmldsig.js';

/**
 * VIHF: the SAML 2.0 assertion the DMP reads to know who acts, for which patient, from which software
 * (ci-sis-imaging.md §4; attribute set of the ANS demonstrator, ans-reference-drimbox.md §3.2, minus its bugs:
 * subject-id is the professional, not the patient; roles come from configuration, not hard-coded).
 */
export interface VihfSubject {
  /** National identifier of the professional (Subject/NameID). */
  nameId: string;
  /** The professional's name, "Given FAMILY" (xspa subject-id). */
  subjectName: string;
  /** Identifiant_Structure. */
  structureId: string;
  /** TRE_R02 code of the sector (Secteur_Activite = code^1.2.250.1.71.4.2.4). */
  facilityTypeCode: string;
  /** Profession and speciality (xacml subject:role), as HL7v3 CE. */
  roles: Code[];
  /** INS as CX ^NH (xacml resource-id). */
  patientId: string;
  mode: VihfAuthMode;
}

/** The subject of a report-triggered transaction: the radiologist who validated the report, for its structure. */
export function vihfSubjectFromReport(report: ReportEvent, context: XdsSubmissionContext): VihfSubject {
  const person = report.legalAuthenticator;
  if (!person?.id?.value) throw new MetadataError('VIHF: the report names no validating radiologist with an RPPS identifier');
  return {
    nameId: person.id.value,
    subjectName: [person.given, person.family].filter(Boolean).join(' ') || person.id.value,
    structureId: report.organisation?.id?.value || context.structure.id,
    facilityTypeCode: context.facilityType.code,
    roles: [context.authorRole.profession, context.authorRole.specialty],
    patientId: insPatientId(report.patient.ins),
    mode: context.vihf.mode,
  };
}

/**
 * The subject of a PACS-triggered update, taken from the archived previous submission (FAQ 8801): the author
 * and structure of the published entry, whose name the DMP already holds.
 */
export function vihfSubjectFromPublished(
  entry: Pick<DocumentEntry, 'authors' | 'patientId' | 'healthcareFacilityTypeCode'> | Pick<SubmissionSetInfo, 'authors' | 'patientId'>,
  context: XdsSubmissionContext,
): VihfSubject {
  const author = entry.authors.find((a) => a.person);
  if (!author?.person) throw new MetadataError('VIHF: the published submission has no author person');
  const xcn = author.person.split('^');
  const nameId = hl7Unescape(xcn[0] ?? '');
  if (!nameId) throw new MetadataError('VIHF: the published author has no identifier');
  const institution = author.institutions[0]?.split('^');
  const facility = 'healthcareFacilityTypeCode' in entry ? entry.healthcareFacilityTypeCode?.code : undefined;
  if (!entry.patientId) throw new MetadataError('VIHF: the published submission has no patientId');
  return {
    nameId,
    subjectName: [hl7Unescape(xcn[2] ?? ''), hl7Unescape(xcn[1] ?? '')].filter(Boolean).join(' ') || nameId,
    structureId: hl7Unescape(institution?.[9] ?? '') || context.structure.id,
    facilityTypeCode: facility ?? context.facilityType.code,
    roles: [context.authorRole.profession, context.authorRole.specialty],
    patientId: entry.patientId,
    mode: context.vihf.mode,
  };
}

function attribute(name: string, values: string[]): string {
  return `<saml2:Attribute Name="${esc(name)}">${values.map((v) => `<saml2:AttributeValue>${v}</saml2:AttributeValue>`).join('')}</saml2:Attribute>`;
}

function text(value: string): string {
  return esc(value);
}

function ce(element: 'Role' | 'PurposeOfUse', code: Code, codeSystemName?: string): string {
  const name = codeSystemName ? ` codeSystemName="${esc(codeSystemName)}"` : '';
  return `<${element} xmlns="${NS.hl7}" xsi:type="CE" code="${esc(code.code)}" codeSystem="${esc(code.scheme)}"${name} displayName="${esc(code.display)}"/>`;
}

const PURPOSE_OF_USE: Code = { code: 'normal', scheme: OID.purposeOfUseVihf, display: 'Acces normal' };

/** The unsigned assertion. `id` must be an xs:ID (NCName), hence the leading underscore. */
export function vihfAssertionXml(subject: VihfSubject, context: XdsSubmissionContext, issuerDn: string, now: Date, id: string): string {
  const instant = now.toISOString();
  const attributes = [
    attribute('VIHF_Version', [text('3.0')]),
    attribute('Secteur_Activite', [text(`${subject.facilityTypeCode}^${FACILITY_TYPE_SCHEME}`)]),
    attribute('Ressource_URN', [text('urn:dmp')]),
    attribute('urn:oasis:names:tc:xspa:1.0:subject:subject-id', [text(subject.subjectName)]),
    attribute('Identifiant_Structure', [text(subject.structureId)]),
    attribute('LPS_ID', [text(context.lps.id)]),
    attribute('LPS_Nom', [text(context.lps.name)]),
    attribute('LPS_ID_HOMOLOGATION_DMP', [text(context.lps.homologationId)]),
    attribute('LPS_Version', [text(context.lps.version)]),
    attribute('urn:oasis:names:tc:xacml:2.0:resource:resource-id', [text(subject.patientId)]),
    attribute('Authentification_Mode', [text(subject.mode)]),
    attribute('urn:oasis:names:tc:xspa:1.0:subject:purposeofuse', [ce('PurposeOfUse', PURPOSE_OF_USE, 'mode acces VIHF 1.0')]),
    attribute('urn:oasis:names:tc:xacml:2.0:subject:role', subject.roles.map((r) => ce('Role', r))),
  ];
  return (
    `<saml2:Assertion xmlns:saml2="${NS.saml}" xmlns:xsi="${NS.xsi}" ID="${esc(id)}" IssueInstant="${instant}" Version="2.0">` +
    `<saml2:Issuer Format="urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName">${esc(issuerDn)}</saml2:Issuer>` +
    `<saml2:Subject><saml2:NameID>${esc(subject.nameId)}</saml2:NameID></saml2:Subject>` +
    `<saml2:AuthnStatement AuthnInstant="${instant}"><saml2:AuthnContext>` +
    `<saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient</saml2:AuthnContextClassRef>` +
    `</saml2:AuthnContext></saml2:AuthnStatement>` +
    `<saml2:AttributeStatement>${attributes.join('')}</saml2:AttributeStatement>` +
    `</saml2:Assertion>`
  );
}

/**
 * Builds and signs the VIHF: enveloped XML-DSig right after Issuer (SAML schema order), exclusive C14N,
 * RSA-SHA256 unless the context asks for legacy SHA-1. The returned string is embedded as is.
 */
export async function signedVihf(subject: VihfSubject, context: XdsSubmissionContext, signer: Signer, now = new Date()): Promise<string> {
  const id = `_${randomUUID()}`;
  const xml = vihfAssertionXml(subject, context, rfc4514(signer.certificate().subject), now, id);
  const { signedXml } = await signXml(xml, signer, {
    algorithm: context.signatureAlgorithm,
    references: [{ xpath: '/*', transforms: [DSIG.envelopedSignature, DSIG.excC14n] }],
    location: { reference: "/*/*[local-name(.)='Issuer']", action: 'after' },
  });
  return signedXml;
}
