import { createHash, randomUUID } from 'node:crypto';
import { buildMtom } from '../mime.js';
import { newUid } from './kos.js';
import { buildSignatureDocument, signVihf, subjectDn, type Signer } from './signing.js';

/**
 * A minimal builder of the requests a DRIMbox sends to the DMP, for the simulator's own tests. It
 * is deliberately independent of appliance/src/xds: the two implementations check each other.
 */

export interface Patient {
  ins: string;
  insOid: string;
}

export interface Caller {
  signer: Signer;
  structureId: string;
  patient: Patient;
  /** VIHF attribute overrides (value '' removes the attribute). */
  vihf?: Record<string, string>;
  /** When the VIHF is issued (default: now). */
  at?: Date;
}

const RIM = 'urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0';
const ACTIONS = {
  iti41: 'urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b',
  iti43: 'urn:ihe:iti:2007:RetrieveDocumentSet',
  iti18: 'urn:ihe:iti:2007:RegistryStoredQuery',
  iti57: 'urn:ihe:iti:2010:UpdateDocumentSet',
} as const;

export const cx = (p: Patient) => `${p.ins}^^^&amp;${p.insOid}&amp;ISO^NH`;

export interface HttpBody {
  contentType: string;
  body: Buffer;
}

function assertion(caller: Caller): string {
  const now = caller.at ?? new Date();
  const attributes: Record<string, string> = {
    VIHF_Version: '3.0',
    Identifiant_Structure: caller.structureId,
    Secteur_Activite: 'SA07^1.2.250.1.71.4.2.4',
    Ressource_URN: 'urn:dmp',
    'urn:oasis:names:tc:xspa:1.0:subject:subject-id': 'Claire RADIOLOGUE',
    LPS_ID: 'DRIMBOX-TEST',
    LPS_Nom: 'DRIMbox',
    LPS_Version: '0.1.0',
    LPS_ID_HOMOLOGATION_DMP: 'TEST-HOMOLOGATION',
    'urn:oasis:names:tc:xacml:2.0:resource:resource-id': cx(caller.patient),
    Authentification_Mode: 'INDIRECTE',
    ...caller.vihf,
  };
  const simple = Object.entries(attributes)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `<saml2:Attribute Name="${k}"><saml2:AttributeValue>${v}</saml2:AttributeValue></saml2:Attribute>`)
    .join('');
  const coded = (name: string, element: string, code: string, system: string) =>
    `<saml2:Attribute Name="${name}"><saml2:AttributeValue><${element} xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CE" code="${code}" codeSystem="${system}" displayName="x"/></saml2:AttributeValue></saml2:Attribute>`;
  return (
    `<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="_${randomUUID()}" IssueInstant="${now.toISOString()}" Version="2.0">` +
    `<saml2:Issuer Format="urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName">${subjectDn(caller.signer.certPem)}</saml2:Issuer>` +
    `<saml2:Subject><saml2:NameID>810001234567</saml2:NameID></saml2:Subject>` +
    `<saml2:Conditions NotBefore="${new Date(now.getTime() - 60_000).toISOString()}" NotOnOrAfter="${new Date(now.getTime() + 300_000).toISOString()}"/>` +
    `<saml2:AuthnStatement AuthnInstant="${now.toISOString()}"><saml2:AuthnContext><saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement>` +
    `<saml2:AttributeStatement>${simple}` +
    coded('urn:oasis:names:tc:xspa:1.0:subject:purposeofuse', 'PurposeOfUse', 'normal', '1.2.250.1.213.1.1.4.248') +
    `<saml2:Attribute Name="urn:oasis:names:tc:xacml:2.0:subject:role"><saml2:AttributeValue><Role xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CE" code="10" codeSystem="1.2.250.1.71.1.2.7" displayName="Medecin"/></saml2:AttributeValue>` +
    `<saml2:AttributeValue><Role xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CE" code="SM44" codeSystem="1.2.250.1.71.4.2.5" displayName="Radiodiagnostic et imagerie medicale"/></saml2:AttributeValue></saml2:Attribute>` +
    `</saml2:AttributeStatement></saml2:Assertion>`
  );
}

/** A signed SOAP 1.2 envelope with WS-Addressing and the VIHF. */
export function envelope(action: string, to: string, caller: Caller, body: string): string {
  const unsigned =
    `<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing"><soap:Header>` +
    `<wsa:Action soap:mustUnderstand="true">${action}</wsa:Action><wsa:MessageID>urn:uuid:${randomUUID()}</wsa:MessageID><wsa:To>${to}</wsa:To>` +
    `<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">${assertion(caller)}</wsse:Security>` +
    `</soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`;
  return signVihf(unsigned, caller.signer);
}

const slot = (name: string, ...values: string[]) => `<Slot name="${name}"><ValueList>${values.map((v) => `<Value>${v}</Value>`).join('')}</ValueList></Slot>`;
const name = (v: string) => `<Name><LocalizedString value="${v}"/></Name>`;
const classification = (scheme: string, object: string, code: string, codingScheme: string, display: string) =>
  `<Classification id="cl-${randomUUID()}" classificationScheme="urn:uuid:${scheme}" classifiedObject="${object}" nodeRepresentation="${code}">${slot('codingScheme', codingScheme)}${name(display)}</Classification>`;
const identifier = (scheme: string, object: string, value: string, label: string) =>
  `<ExternalIdentifier id="ei-${randomUUID()}" identificationScheme="urn:uuid:${scheme}" registryObject="${object}" value="${value}">${name(label)}</ExternalIdentifier>`;
const author = (scheme: string, object: string, structureId: string) =>
  `<Classification id="cl-${randomUUID()}" classificationScheme="urn:uuid:${scheme}" classifiedObject="${object}" nodeRepresentation="">` +
  slot('authorInstitution', `CABINET TEST^^^^^&amp;1.2.250.1.71.4.2.2&amp;ISO^IDNST^^^${structureId}`) +
  slot('authorPerson', '810001234567^RADIOLOGUE^Claire^^^^^^&amp;1.2.250.1.71.4.2.1&amp;ISO^D^^^IDNPS') +
  '</Classification>';
const utc = (d = new Date()) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
const association = (type: string, source: string, target: string, status = true) =>
  `<Association id="as-${randomUUID()}" associationType="${type}" sourceObject="${source}" targetObject="${target}">${status ? slot('SubmissionSetStatus', 'Original') : ''}</Association>`;

function submissionSet(caller: Caller, uniqueId: string): string {
  return (
    `<RegistryPackage id="SubmissionSet01">${slot('submissionTime', utc())}${name('DRIMbox KOS')}` +
    author('a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d', 'SubmissionSet01', caller.structureId) +
    classification('aa543740-bdda-424e-8c96-df4873be8500', 'SubmissionSet01', '04', '1.2.250.1.213.2.2', 'Hospitalisation de jour') +
    identifier('6b5aea1a-874d-4603-a4bc-96a0a7b38446', 'SubmissionSet01', cx(caller.patient), 'XDSSubmissionSet.patientId') +
    identifier('554ac39e-e3fe-47fe-b233-965d2a147832', 'SubmissionSet01', '1.2.250.1.999.1.1', 'XDSSubmissionSet.sourceId') +
    identifier('96fdda7c-d067-4183-912e-bf5ee74998a8', 'SubmissionSet01', uniqueId, 'XDSSubmissionSet.uniqueId') +
    `</RegistryPackage><Classification id="cl-ss" classifiedObject="SubmissionSet01" classificationNode="urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"/>`
  );
}

export interface KosSubmission {
  kos: Buffer;
  kosUid: string;
  studyUid: string;
  accession: string;
  accessionIssuer: string;
  replaces?: string;
  /** Edits the RegistryObjectList XML before signing (negative tests). */
  tweak?: (xml: string) => string;
  /** Bytes attached instead of the KOS (hash, size and the signature manifest stay those of `kos`). */
  attach?: Buffer;
  /** Bytes the signature manifest digests instead of the KOS. */
  signatureFor?: Buffer;
}

export function buildIti41(to: string, caller: Caller, s: KosSubmission): HttpBody & { submissionSetUniqueId: string } {
  const ssUid = newUid();
  const signatureUid = newUid();
  const signature = buildSignatureDocument(caller.signer, ssUid, [{ uniqueId: s.kosUid, bytes: s.signatureFor ?? s.kos }]);
  const common = (id: string) =>
    classification('f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1', id, 'SA07', '1.2.250.1.71.4.2.4', 'Cabinet individuel') +
    classification('cccf5598-8b07-4b77-a05e-ae952c785ead', id, 'AMBULATOIRE', '1.2.250.1.213.1.1.4.9', 'Ambulatoire');
  const entrySlots = (bytes: Buffer, language: string) =>
    slot('creationTime', utc(new Date(Date.now() - 60_000))) + slot('languageCode', language) +
    slot('sourcePatientId', `${caller.patient.ins}^^^&amp;${caller.patient.insOid}&amp;ISO^NH`) +
    slot('hash', createHash('sha1').update(bytes).digest('hex')) + slot('size', String(bytes.length));
  const kosEntry =
    `<ExtrinsicObject id="DocumentKOS" mimeType="application/dicom" objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1">` +
    entrySlots(s.kos, 'fr-FR') +
    slot('serviceStartTime', '20260115101500') +
    slot('legalAuthenticator', '810001234567^RADIOLOGUE^Claire^^^^^^&amp;1.2.250.1.71.4.2.1&amp;ISO^D^^^IDNPS') +
    slot('urn:ihe:iti:xds:2013:referenceIdList',
      `${s.accession}^^^&amp;${s.accessionIssuer}&amp;ISO^urn:ihe:iti:xds:2013:accession`,
      `${s.studyUid}^^^&amp;1.2.250.1.999.2&amp;ISO^urn:ihe:iti:xds:2016:studyInstanceUID`) +
    name("Reference d'Objets d'un Examen d'Imagerie") +
    author('93606bcf-9494-43ec-9b4e-a7748d1a838d', 'DocumentKOS', caller.structureId) +
    classification('41a5887f-8865-4c09-adf7-e362475b143a', 'DocumentKOS', '31', '1.2.250.1.213.1.1.4.1', 'Imagerie médicale') +
    classification('f0306f51-975f-434e-a61c-c59651d33983', 'DocumentKOS', 'IMG-KOS', '1.2.250.1.213.1.1.4.12', "Reference d'objets d'un examen d'imagerie") +
    classification('f4f85eac-e6cb-4883-b524-f2705394840f', 'DocumentKOS', 'N', '2.16.840.1.113883.5.25', 'Normal') +
    classification('a09d5840-386c-46f2-b5ad-9c3699a4309d', 'DocumentKOS', '1.2.840.10008.5.1.4.1.1.88.59', '1.2.840.10008.2.6.1', 'KOS') +
    common('DocumentKOS') +
    classification('2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4', 'DocumentKOS', 'MR', '1.2.250.1.213.1.1.5.618', 'Magnetic Resonance') +
    classification('2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4', 'DocumentKOS', '63337009', '2.16.840.1.113883.6.96', 'Abdomen + pelvis') +
    identifier('58a6f841-87b3-4a3e-92fd-a8ffeff98427', 'DocumentKOS', cx(caller.patient), 'XDSDocumentEntry.patientId') +
    identifier('2e82c1f6-a085-4c72-9da3-8640a32e42ab', 'DocumentKOS', s.kosUid, 'XDSDocumentEntry.uniqueId') +
    '</ExtrinsicObject>';
  const signatureEntry =
    `<ExtrinsicObject id="Signature01" mimeType="text/xml" objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1">` +
    entrySlots(signature, 'art') + name('Source') +
    author('93606bcf-9494-43ec-9b4e-a7748d1a838d', 'Signature01', caller.structureId) +
    classification('41a5887f-8865-4c09-adf7-e362475b143a', 'Signature01', 'urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1', 'URN', 'Digital Signature') +
    classification('f0306f51-975f-434e-a61c-c59651d33983', 'Signature01', 'E1762', 'ASTM', 'Full Document') +
    classification('f4f85eac-e6cb-4883-b524-f2705394840f', 'Signature01', 'N', '2.16.840.1.113883.5.25', 'Normal') +
    classification('a09d5840-386c-46f2-b5ad-9c3699a4309d', 'Signature01', 'http://www.w3.org/2000/09/xmldsig#', 'URN', 'Default Signature Style') +
    common('Signature01') +
    classification('2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4', 'Signature01', '1.2.840.10065.1.12.1.14', '1.2.840.10065.1.12', 'Source') +
    identifier('58a6f841-87b3-4a3e-92fd-a8ffeff98427', 'Signature01', cx(caller.patient), 'XDSDocumentEntry.patientId') +
    identifier('2e82c1f6-a085-4c72-9da3-8640a32e42ab', 'Signature01', signatureUid, 'XDSDocumentEntry.uniqueId') +
    '</ExtrinsicObject>';
  let objects =
    submissionSet(caller, ssUid) + kosEntry + signatureEntry +
    association('urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember', 'SubmissionSet01', 'DocumentKOS') +
    association('urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember', 'SubmissionSet01', 'Signature01') +
    association('urn:ihe:iti:2007:AssociationType:signs', 'Signature01', 'SubmissionSet01', false) +
    (s.replaces ? association('urn:ihe:iti:2007:AssociationType:RPLC', 'DocumentKOS', s.replaces, false) : '');
  if (s.tweak) objects = s.tweak(objects);
  const body =
    `<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007" xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns="${RIM}">` +
    `<lcm:SubmitObjectsRequest><RegistryObjectList>${objects}</RegistryObjectList></lcm:SubmitObjectsRequest>` +
    `<xdsb:Document id="DocumentKOS"><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:kos@test"/></xdsb:Document>` +
    `<xdsb:Document id="Signature01"><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:signature@test"/></xdsb:Document>` +
    '</xdsb:ProvideAndRegisterDocumentSetRequest>';
  const mtom = buildMtom(envelope(ACTIONS.iti41, to, caller, body), ACTIONS.iti41, [
    { contentId: 'kos@test', contentType: 'application/dicom', body: s.attach ?? s.kos },
    { contentId: 'signature@test', contentType: 'text/xml', body: signature },
  ]);
  return { ...mtom, submissionSetUniqueId: ssUid };
}

function soap(action: string, to: string, caller: Caller, body: string): HttpBody {
  return { contentType: `application/soap+xml; charset=UTF-8; action="${action}"`, body: Buffer.from(envelope(action, to, caller, body), 'utf8') };
}

export function buildFindDocuments(to: string, caller: Caller, statuses: string[], returnType: 'LeafClass' | 'ObjectRef' = 'LeafClass'): HttpBody {
  const list = statuses.map((s) => `'urn:oasis:names:tc:ebxml-regrep:StatusType:${s}'`).join(',');
  return soap(ACTIONS.iti18, to, caller,
    `<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns="${RIM}"><query:ResponseOption returnComposedObjects="true" returnType="${returnType}"/>` +
    `<AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d">${slot('$XDSDocumentEntryPatientId', `'${cx(caller.patient)}'`)}` +
    `${slot('$XDSDocumentEntryStatus', `(${list})`)}${slot('$XDSDocumentEntryTypeCode', "('IMG-KOS^^1.2.250.1.213.1.1.4.12')")}</AdhocQuery></query:AdhocQueryRequest>`);
}

export function buildGetDocuments(to: string, caller: Caller, uniqueId: string): HttpBody {
  return soap(ACTIONS.iti18, to, caller,
    `<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns="${RIM}"><query:ResponseOption returnComposedObjects="true" returnType="ObjectRef"/>` +
    `<AdhocQuery id="urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4">${slot('$XDSDocumentEntryUniqueId', `('${uniqueId}')`)}</AdhocQuery></query:AdhocQueryRequest>`);
}

export function buildGetAssociations(to: string, caller: Caller, entryUuid: string): HttpBody {
  return soap(ACTIONS.iti18, to, caller,
    `<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns="${RIM}"><query:ResponseOption returnComposedObjects="true" returnType="LeafClass"/>` +
    `<AdhocQuery id="urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155">${slot('$uuid', `('${entryUuid}')`)}</AdhocQuery></query:AdhocQueryRequest>`);
}

export function buildRetrieve(to: string, caller: Caller, repositoryUniqueId: string, documentUniqueId: string): HttpBody {
  return soap(ACTIONS.iti43, to, caller,
    `<xdsb:RetrieveDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007"><xdsb:DocumentRequest><xdsb:RepositoryUniqueId>${repositoryUniqueId}</xdsb:RepositoryUniqueId>` +
    `<xdsb:DocumentUniqueId>${documentUniqueId}</xdsb:DocumentUniqueId></xdsb:DocumentRequest></xdsb:RetrieveDocumentSetRequest>`);
}

/** ITI-57: an availability-status change of one entry (Deprecated, or the DMP's Deleted). */
export function buildStatusUpdate(to: string, caller: Caller, entryUuid: string, from: string, to_: string): HttpBody {
  const status = (s: string) => (s === 'Deleted' ? 'urn:asip:ci-sis:2010:StatusType:Deleted' : `urn:oasis:names:tc:ebxml-regrep:StatusType:${s}`);
  return soap(ACTIONS.iti57, to, caller,
    `<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns="${RIM}"><RegistryObjectList>${submissionSet(caller, newUid())}` +
    `<Association id="as-${randomUUID()}" associationType="urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus" sourceObject="SubmissionSet01" targetObject="${entryUuid}">` +
    `${slot('OriginalStatus', status(from))}${slot('NewStatus', status(to_))}</Association></RegistryObjectList></lcm:SubmitObjectsRequest>`);
}
