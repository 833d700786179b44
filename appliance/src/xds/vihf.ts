import { randomUUID } from 'node:crypto';
import type { Signer } from '../auth/signer/signer.js';
import type { ReportEvent } from '../report/types.js';
import { FACILITY_TYPE_SCHEME, NS, OID, type Code } from './codes.js';
import { hl7Unescape, insPatientId, MetadataError } from './hl7-types.js';
import type { DocumentEntry, SubmissionSetInfo, VihfAuthMode, XdsSubmissionContext } from './types.js';
import { el, serialize, type XmlElement } from './c14n.js';
import { c14nDigest, DSIG, rfc4514, signatureElement } from './xmldsig.js';

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

function attribute(name: string, values: (string | XmlElement)[]): XmlElement {
  return el('saml2:Attribute', { Name: name }, values.map((v) => el('saml2:AttributeValue', {}, [v])));
}

function ce(element: 'Role' | 'PurposeOfUse', code: Code, codeSystemName?: string): XmlElement {
  const name: Record<string, string> = codeSystemName ? { codeSystemName } : {};
  return el(element, { 'xsi:type': 'CE', code: code.code, codeSystem: code.scheme, ...name, displayName: code.display }, [], { '': NS.hl7 });
}

const PURPOSE_OF_USE: Code = { code: 'normal', scheme: OID.purposeOfUseVihf, display: 'Acces normal' };

/** The unsigned assertion. `id` must be an xs:ID (NCName), hence the leading underscore. */
export function vihfAssertion(subject: VihfSubject, context: XdsSubmissionContext, issuerDn: string, now: Date, id: string): XmlElement {
  const instant = now.toISOString();
  const attributes = [
    attribute('VIHF_Version', ['3.0']),
    attribute('Secteur_Activite', [`${subject.facilityTypeCode}^${FACILITY_TYPE_SCHEME}`]),
    attribute('Ressource_URN', ['urn:dmp']),
    attribute('urn:oasis:names:tc:xspa:1.0:subject:subject-id', [subject.subjectName]),
    attribute('Identifiant_Structure', [subject.structureId]),
    attribute('LPS_ID', [context.lps.id]),
    attribute('LPS_Nom', [context.lps.name]),
    attribute('LPS_ID_HOMOLOGATION_DMP', [context.lps.homologationId]),
    attribute('LPS_Version', [context.lps.version]),
    attribute('urn:oasis:names:tc:xacml:2.0:resource:resource-id', [subject.patientId]),
    attribute('Authentification_Mode', [subject.mode]),
    attribute('urn:oasis:names:tc:xspa:1.0:subject:purposeofuse', [ce('PurposeOfUse', PURPOSE_OF_USE, 'mode acces VIHF 1.0')]),
    attribute('urn:oasis:names:tc:xacml:2.0:subject:role', subject.roles.map((r) => ce('Role', r))),
  ];
  return el(
    'saml2:Assertion',
    { ID: id, IssueInstant: instant, Version: '2.0' },
    [
      el('saml2:Issuer', { Format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName' }, [issuerDn]),
      el('saml2:Subject', {}, [el('saml2:NameID', {}, [subject.nameId])]),
      el('saml2:AuthnStatement', { AuthnInstant: instant }, [
        el('saml2:AuthnContext', {}, [el('saml2:AuthnContextClassRef', {}, ['urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient'])]),
      ]),
      el('saml2:AttributeStatement', {}, attributes),
    ],
    { saml2: NS.saml, xsi: NS.xsi },
  );
}

/** The unsigned assertion as XML text. */
export function vihfAssertionXml(subject: VihfSubject, context: XdsSubmissionContext, issuerDn: string, now: Date, id: string): string {
  return serialize(vihfAssertion(subject, context, issuerDn, now, id));
}

/**
 * Builds and signs the VIHF: enveloped XML-DSig right after Issuer (SAML schema order), exclusive C14N,
 * RSA-SHA256 unless the context asks for legacy SHA-1. The returned string is embedded as is.
 */
export async function signedVihf(subject: VihfSubject, context: XdsSubmissionContext, signer: Signer, now = new Date(), id = `_${randomUUID()}`): Promise<string> {
  const assertion = vihfAssertion(subject, context, rfc4514(signer.certificate().subject), now, id);
  const signature = await signatureElement(signer, {
    algorithm: context.signatureAlgorithm,
    // Digest of the assertion before the signature goes in: what the enveloped-signature transform gives back.
    references: [{ uri: `#${id}`, transforms: [DSIG.envelopedSignature, DSIG.excC14n], digest: c14nDigest(assertion, context.signatureAlgorithm) }],
  });
  const children = assertion.children!;
  children.splice(children.findIndex((c) => typeof c !== 'string' && c.name === 'saml2:Issuer') + 1, 0, signature);
  return serialize(assertion);
}
