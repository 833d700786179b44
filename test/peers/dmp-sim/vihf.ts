import type { X509Certificate } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { UntrustedCertificate, certificateFromBase64, checkIssuedBy, dnKey, oneLine } from './cert.js';
import { parseInsCx, type Ins } from './ins.js';
import { wsseFault } from './soap.js';
import { NS, attr, child, children, descendants, elementChildren, isNcName, parseXml, text } from './xml.js';

/** What the DMP learns from a verified VIHF (ci-sis-imaging.md §4, ans-reference-drimbox.md §3.2). */
export interface VihfClaims {
  nameId: string;
  structureId: string;
  resourceId: string;
  patient: Ins;
  authenticationMode: string;
  roles: { code: string; codeSystem: string }[];
  purposeOfUse: string;
  signerSubject: string;
  warnings: string[];
}

export interface VihfPolicy {
  ca: X509Certificate;
  now: Date;
  /** Accepted age of IssueInstant when the assertion has no Conditions. */
  maxAgeSeconds: number;
  clockSkewSeconds: number;
}

const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const SIGNATURE_ALGORITHMS = new Set([
  'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
]);
const AUTH_MODES = new Set(['DIRECTE', 'INDIRECTE', 'INDIRECTE_RENFORCEE']);
const PURPOSES = new Set(['normal', 'BRIS_DE_GLACE', 'CENTRE_DE_REGULATION']);
const REQUIRED_TEXT_ATTRIBUTES = ['Identifiant_Structure', 'urn:oasis:names:tc:xspa:1.0:subject:subject-id', 'LPS_ID', 'LPS_Nom', 'LPS_Version', 'LPS_ID_HOMOLOGATION_DMP'];

/**
 * Verifies the VIHF: one SAML 2.0 assertion in wsse:Security, enveloped XML-DSig (exclusive C14N)
 * by a certificate the DMP's CA issued, then its content. Everything read after the signature check
 * comes from the signed bytes xml-crypto returns, never from the original DOM (no wrapping attack).
 */
export function verifyVihf(envelopeXml: string, header: Element, policy: VihfPolicy): VihfClaims {
  const securities = children(header, NS.wsse, 'Security');
  if (securities.length !== 1) throw wsseFault('InvalidSecurity', `VIHF: expected one wsse:Security header, found ${securities.length}`);
  const assertions = children(securities[0]!, NS.saml2, 'Assertion');
  if (assertions.length !== 1) throw wsseFault('InvalidSecurity', `VIHF: expected one saml2:Assertion in wsse:Security, found ${assertions.length}`);
  const assertion = assertions[0]!;
  const warnings: string[] = [];
  const id = attr(assertion, 'ID') ?? '';
  if (!id) throw wsseFault('InvalidSecurityToken', 'VIHF: the assertion has no ID attribute');
  if (!isNcName(id)) warnings.push(`VIHF: assertion ID "${id}" is not an xs:ID (NCName); tolerated as the DMP test platform accepted it`);

  const signatures = children(assertion, NS.ds, 'Signature');
  if (signatures.length !== 1) throw wsseFault('FailedCheck', `VIHF: the assertion must carry one enveloped ds:Signature, found ${signatures.length}`);
  const signature = signatures[0]!;
  const certs = descendants(signature, NS.ds, 'X509Certificate');
  if (certs.length !== 1) throw wsseFault('InvalidSecurityToken', `VIHF signature: expected one ds:X509Certificate in KeyInfo, found ${certs.length}`);
  let cert: X509Certificate;
  try {
    cert = certificateFromBase64(text(certs[0]), 'VIHF signature');
    checkIssuedBy(cert, policy.ca, policy.now, 'VIHF signature');
  } catch (err) {
    if (err instanceof UntrustedCertificate) throw wsseFault('InvalidSecurityToken', err.message);
    throw err;
  }

  const signed = verifyEnveloped(envelopeXml, signature, cert, id);
  warnings.push(...signed.warnings);
  const verified = parseXml(signed.xml, 'VIHF signed assertion').documentElement;
  const claims = readClaims(verified, cert, policy);
  return { ...claims, signerSubject: oneLine(cert.subject), warnings: [...warnings, ...claims.warnings] };
}

function verifyEnveloped(envelopeXml: string, signature: Element, cert: X509Certificate, id: string): { xml: string; warnings: string[] } {
  const sig = new SignedXml({ publicCert: cert.toString(), getCertFromKeyInfo: () => null });
  // SAML's identifier attribute is ID; looking up Id and id too triples the XPath scans of the whole envelope.
  sig.idAttributes = ['ID'];
  const warnings: string[] = [];
  try {
    sig.loadSignature(signature as never);
    if (sig.canonicalizationAlgorithm !== EXC_C14N) throw new Error(`canonicalization ${sig.canonicalizationAlgorithm} is not exclusive C14N`);
    if (!SIGNATURE_ALGORITHMS.has(sig.signatureAlgorithm ?? '')) throw new Error(`signature algorithm ${sig.signatureAlgorithm} is not RSA-SHA1/256/512`);
    if (!sig.checkSignature(envelopeXml)) {
      const reasons = sig.getReferences().map((r) => r.validationError?.message).filter(Boolean);
      throw new Error(reasons.join('; ') || 'a reference does not verify');
    }
  } catch (err) {
    throw wsseFault('FailedCheck', `VIHF signature does not verify: ${(err as Error).message}`);
  }
  const refs = sig.getReferences();
  const ref = refs[0];
  if (refs.length !== 1 || !ref || ref.uri !== `#${id}`) throw wsseFault('FailedCheck', `VIHF signature: it must sign exactly the assertion (Reference URI="#${id}")`);
  const transforms = [...ref.transforms];
  if (transforms.length !== 2 || transforms[0] !== ENVELOPED || transforms[1] !== EXC_C14N) {
    throw wsseFault('FailedCheck', `VIHF signature: transforms must be enveloped-signature then exclusive C14N, found ${transforms.join(', ')}`);
  }
  if (sig.signatureAlgorithm === 'http://www.w3.org/2000/09/xmldsig#rsa-sha1') warnings.push('VIHF signed with RSA-SHA1 (accepted by the DMP test platform; prefer RSA-SHA256)');
  const xml = sig.getSignedReferences()[0];
  if (!xml) throw wsseFault('FailedCheck', 'VIHF signature: no signed content');
  return { xml, warnings };
}

function readClaims(assertion: Element, cert: X509Certificate, policy: VihfPolicy): Omit<VihfClaims, 'signerSubject'> {
  const problems: string[] = [];
  const warnings: string[] = [];
  if (assertion.namespaceURI !== NS.saml2 || assertion.localName !== 'Assertion') throw wsseFault('FailedCheck', 'VIHF signature does not cover a saml2:Assertion');
  if (attr(assertion, 'Version') !== '2.0') problems.push(`Version is "${attr(assertion, 'Version') ?? ''}", not 2.0`);
  const issueInstant = parseDateTime(attr(assertion, 'IssueInstant'));
  if (!issueInstant) problems.push('IssueInstant is missing or not an xs:dateTime');

  const issuer = child(assertion, NS.saml2, 'Issuer');
  if (!issuer) problems.push('saml2:Issuer is missing');
  else {
    if (attr(issuer, 'Format') !== 'urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName') problems.push('Issuer Format must be urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName');
    if (dnKey(text(issuer)) !== dnKey(cert.subject)) problems.push(`Issuer "${text(issuer)}" is not the signing certificate's subject "${oneLine(cert.subject)}"`);
  }
  const nameId = text(child(child(assertion, NS.saml2, 'Subject') ?? assertion, NS.saml2, 'NameID'));
  if (!nameId) problems.push('Subject/NameID is missing');

  checkTime(assertion, issueInstant, policy, problems);

  const authn = child(assertion, NS.saml2, 'AuthnStatement');
  const classRef = authn ? text(descendants(authn, NS.saml2, 'AuthnContextClassRef')[0]) : '';
  if (classRef !== 'urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient') problems.push(`AuthnStatement AuthnContextClassRef is "${classRef}", expected urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient`);

  const attributes = new Map<string, Element[]>();
  for (const statement of children(assertion, NS.saml2, 'AttributeStatement')) {
    for (const a of children(statement, NS.saml2, 'Attribute')) {
      const name = attr(a, 'Name') ?? '';
      if (attributes.has(name)) problems.push(`attribute ${name} appears twice`);
      attributes.set(name, children(a, NS.saml2, 'AttributeValue'));
    }
  }
  const read = new Map<string, string>();
  const single = (name: string): string => {
    const known = read.get(name);
    if (known !== undefined) return known;
    const values = attributes.get(name);
    const value = values && values.length === 1 ? text(values[0]) : '';
    if (!value) problems.push(`attribute ${name} is missing, empty or multi-valued`);
    read.set(name, value);
    return value;
  };
  const version = single('VIHF_Version');
  if (version && version !== '3.0') problems.push(`VIHF_Version is "${version}", expected 3.0`);
  for (const name of REQUIRED_TEXT_ATTRIBUTES) single(name);
  const structureId = single('Identifiant_Structure');
  const sector = single('Secteur_Activite');
  if (sector && !/^SA\d{2}\^1\.2\.250\.1\.71\.4\.2\.4$/.test(sector)) problems.push(`Secteur_Activite "${sector}" is not SAxx^1.2.250.1.71.4.2.4 (TRE_R02)`);
  const urn = single('Ressource_URN');
  if (urn && urn !== 'urn:dmp') problems.push(`Ressource_URN is "${urn}", expected urn:dmp`);
  const resourceId = single('urn:oasis:names:tc:xacml:2.0:resource:resource-id');
  const patient = resourceId ? parseInsCx(resourceId) : 'missing';
  if (resourceId && typeof patient === 'string') problems.push(`resource-id ${patient}`);
  const mode = single('Authentification_Mode');
  if (mode && !AUTH_MODES.has(mode)) problems.push(`Authentification_Mode "${mode}" is not one of ${[...AUTH_MODES].join(', ')}`);

  const purpose = codedValues(attributes.get('urn:oasis:names:tc:xspa:1.0:subject:purposeofuse'), 'PurposeOfUse');
  const purposeOk = purpose.length === 1 && PURPOSES.has(purpose[0]!.code) && purpose[0]!.codeSystem === '1.2.250.1.213.1.1.4.248';
  if (!purposeOk) problems.push('purposeofuse must be one hl7:PurposeOfUse (xsi:type CE) with code normal/BRIS_DE_GLACE/CENTRE_DE_REGULATION in codeSystem 1.2.250.1.213.1.1.4.248');
  const roles = codedValues(attributes.get('urn:oasis:names:tc:xacml:2.0:subject:role'), 'Role');
  const profession = roles.find((r) => r.codeSystem === '1.2.250.1.71.1.2.7');
  if (!profession || !/^\d{2}$/.test(profession.code)) problems.push('role must include an hl7:Role (xsi:type CE) with a profession code (2 digits, TRE_G15) in codeSystem 1.2.250.1.71.1.2.7');
  for (const r of roles) if (!['1.2.250.1.71.1.2.7', '1.2.250.1.71.4.2.5'].includes(r.codeSystem)) problems.push(`role codeSystem ${r.codeSystem} is neither 1.2.250.1.71.1.2.7 (profession) nor 1.2.250.1.71.4.2.5 (speciality)`);

  if (problems.length > 0) throw wsseFault('InvalidSecurityToken', `VIHF content refused: ${problems.join('; ')}`);
  return { nameId, structureId, resourceId, patient: patient as Ins, authenticationMode: mode, roles, purposeOfUse: purpose[0]!.code, warnings };
}

function codedValues(values: Element[] | undefined, local: string): { code: string; codeSystem: string }[] {
  const out: { code: string; codeSystem: string }[] = [];
  for (const v of values ?? []) {
    for (const e of elementChildren(v)) {
      if (e.namespaceURI !== NS.hl7 || e.localName !== local) continue;
      const type = e.getAttributeNS(NS.xsi, 'type') ?? '';
      if (!/^(?:[A-Za-z_][\w.-]*:)?CE$/.test(type)) continue;
      out.push({ code: attr(e, 'code') ?? '', codeSystem: attr(e, 'codeSystem') ?? '' });
    }
  }
  return out;
}

function checkTime(assertion: Element, issueInstant: Date | undefined, policy: VihfPolicy, problems: string[]): void {
  const skew = policy.clockSkewSeconds * 1000;
  const now = policy.now.getTime();
  const conditions = child(assertion, NS.saml2, 'Conditions');
  if (conditions) {
    const notBefore = parseDateTime(attr(conditions, 'NotBefore'));
    const notOnOrAfter = parseDateTime(attr(conditions, 'NotOnOrAfter'));
    if (attr(conditions, 'NotBefore') !== undefined && !notBefore) problems.push('Conditions NotBefore is not an xs:dateTime');
    if (attr(conditions, 'NotOnOrAfter') !== undefined && !notOnOrAfter) problems.push('Conditions NotOnOrAfter is not an xs:dateTime');
    if (notBefore && now + skew < notBefore.getTime()) problems.push(`the assertion is not valid before ${notBefore.toISOString()}`);
    if (notOnOrAfter && now - skew >= notOnOrAfter.getTime()) problems.push(`the assertion expired at ${notOnOrAfter.toISOString()}`);
  }
  if (issueInstant) {
    if (issueInstant.getTime() > now + skew) problems.push(`IssueInstant ${issueInstant.toISOString()} is in the future`);
    if (!conditions && now - issueInstant.getTime() > policy.maxAgeSeconds * 1000 + skew) {
      problems.push(`IssueInstant ${issueInstant.toISOString()} is older than ${policy.maxAgeSeconds} s and the assertion has no Conditions`);
    }
  }
}

function parseDateTime(value: string | undefined): Date | undefined {
  if (!value || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

