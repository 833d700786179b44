import { randomUUID } from 'node:crypto';
import { ASSOCIATION, EI_NAME, NS, SCHEME, SLOT_REFERENCE_ID_LIST, type Code } from './codes.js';
import { esc } from './xml.js';

/**
 * ebRIM 3.0 builders for XDS.b metadata (IHE ITI TF-3 §4.2.3, §4.3). Everything inside a RegistryObject is written in
 * the order rim.xsd requires: Slot*, Name, Description, Classification*, ExternalIdentifier* (the ANS samples put
 * referenceIdList after the Classifications, which schema validation rejects). Default namespace: rim.
 */

export interface Slot {
  name: string;
  values: string[];
}

export const newEntryUuid = (): string => `urn:uuid:${randomUUID()}`;

export function slotXml(slot: Slot): string {
  if (slot.values.length === 0) return '';
  return `<Slot name="${esc(slot.name)}"><ValueList>${slot.values.map((v) => `<Value>${esc(v)}</Value>`).join('')}</ValueList></Slot>`;
}

function localized(element: 'Name' | 'Description', value: string | undefined): string {
  if (value === undefined || value === '') return '';
  return `<${element}><LocalizedString xml:lang="fr-FR" charset="UTF-8" value="${esc(value)}"/></${element}>`;
}

export function codedClassification(scheme: string, objectId: string, code: Code): string {
  return (
    `<Classification classificationScheme="${scheme}" classifiedObject="${esc(objectId)}" id="${newEntryUuid()}" nodeRepresentation="${esc(code.code)}">` +
    slotXml({ name: 'codingScheme', values: [code.scheme] }) +
    localized('Name', code.display) +
    `</Classification>`
  );
}

export interface AuthorValue {
  person?: string;
  institutions: string[];
  roles?: string[];
  specialties?: string[];
}

export function authorClassification(scheme: string, objectId: string, author: AuthorValue): string {
  return (
    `<Classification classificationScheme="${scheme}" classifiedObject="${esc(objectId)}" id="${newEntryUuid()}" nodeRepresentation="">` +
    (author.person ? slotXml({ name: 'authorPerson', values: [author.person] }) : '') +
    slotXml({ name: 'authorInstitution', values: author.institutions }) +
    slotXml({ name: 'authorRole', values: author.roles ?? [] }) +
    slotXml({ name: 'authorSpecialty', values: author.specialties ?? [] }) +
    `</Classification>`
  );
}

export function externalIdentifier(scheme: string, objectId: string, value: string, name: string): string {
  return (
    `<ExternalIdentifier id="${newEntryUuid()}" identificationScheme="${scheme}" registryObject="${esc(objectId)}" value="${esc(value)}">` +
    localized('Name', name) +
    `</ExternalIdentifier>`
  );
}

export interface DocumentEntryMetadata {
  entryUUID: string;
  mimeType: string;
  uniqueId: string;
  patientId: string;
  title: string;
  comments?: string;
  creationTime: string;
  languageCode: string;
  serviceStartTime?: string;
  serviceStopTime?: string;
  hash: string;
  size: number;
  legalAuthenticator?: string;
  sourcePatientId: string;
  sourcePatientInfo: string[];
  referenceIds: string[];
  author: AuthorValue;
  classCode: Code;
  typeCode: Code;
  formatCode: Code;
  confidentialityCodes: Code[];
  eventCodes: Code[];
  healthcareFacilityTypeCode: Code;
  practiceSettingCode: Code;
}

/** A stable DocumentEntry (ExtrinsicObject). */
export function documentEntryXml(d: DocumentEntryMetadata): string {
  const id = d.entryUUID;
  const slots: Slot[] = [
    { name: 'creationTime', values: [d.creationTime] },
    { name: 'hash', values: [d.hash] },
    { name: 'languageCode', values: [d.languageCode] },
    { name: 'legalAuthenticator', values: d.legalAuthenticator ? [d.legalAuthenticator] : [] },
    { name: 'serviceStartTime', values: d.serviceStartTime ? [d.serviceStartTime] : [] },
    { name: 'serviceStopTime', values: d.serviceStopTime ? [d.serviceStopTime] : [] },
    { name: 'size', values: [String(d.size)] },
    { name: 'sourcePatientId', values: [d.sourcePatientId] },
    { name: 'sourcePatientInfo', values: d.sourcePatientInfo },
    { name: SLOT_REFERENCE_ID_LIST, values: d.referenceIds },
  ];
  return (
    `<ExtrinsicObject id="${esc(id)}" mimeType="${esc(d.mimeType)}" objectType="${SCHEME.documentEntryStable}">` +
    slots.map(slotXml).join('') +
    localized('Name', d.title) +
    localized('Description', d.comments) +
    authorClassification(SCHEME.author, id, d.author) +
    codedClassification(SCHEME.classCode, id, d.classCode) +
    d.confidentialityCodes.map((c) => codedClassification(SCHEME.confidentialityCode, id, c)).join('') +
    d.eventCodes.map((c) => codedClassification(SCHEME.eventCodeList, id, c)).join('') +
    codedClassification(SCHEME.formatCode, id, d.formatCode) +
    codedClassification(SCHEME.healthcareFacilityTypeCode, id, d.healthcareFacilityTypeCode) +
    codedClassification(SCHEME.practiceSettingCode, id, d.practiceSettingCode) +
    codedClassification(SCHEME.typeCode, id, d.typeCode) +
    externalIdentifier(SCHEME.patientId, id, d.patientId, EI_NAME.dePatientId) +
    externalIdentifier(SCHEME.uniqueId, id, d.uniqueId, EI_NAME.deUniqueId) +
    `</ExtrinsicObject>`
  );
}

export interface SubmissionSetMetadata {
  entryUUID: string;
  uniqueId: string;
  sourceId: string;
  patientId: string;
  submissionTime: string;
  author: AuthorValue;
  contentTypeCode: Code;
  title?: string;
}

export function submissionSetXml(s: SubmissionSetMetadata): string {
  const id = s.entryUUID;
  return (
    `<RegistryPackage id="${esc(id)}">` +
    slotXml({ name: 'submissionTime', values: [s.submissionTime] }) +
    localized('Name', s.title) +
    authorClassification(SCHEME.submissionSetAuthor, id, s.author) +
    codedClassification(SCHEME.submissionSetContentType, id, s.contentTypeCode) +
    `<Classification classificationNode="${SCHEME.submissionSetNode}" classifiedObject="${esc(id)}" id="${newEntryUuid()}"/>` +
    externalIdentifier(SCHEME.submissionSetPatientId, id, s.patientId, EI_NAME.ssPatientId) +
    externalIdentifier(SCHEME.submissionSetSourceId, id, s.sourceId, EI_NAME.ssSourceId) +
    externalIdentifier(SCHEME.submissionSetUniqueId, id, s.uniqueId, EI_NAME.ssUniqueId) +
    `</RegistryPackage>`
  );
}

export function associationXml(type: string, source: string, target: string, slots: Slot[] = []): string {
  return (
    `<Association associationType="${type}" id="${newEntryUuid()}" sourceObject="${esc(source)}" targetObject="${esc(target)}">` +
    slots.map(slotXml).join('') +
    `</Association>`
  );
}

export const hasMember = (submissionSet: string, member: string): string =>
  associationXml(ASSOCIATION.hasMember, submissionSet, member, [{ name: 'SubmissionSetStatus', values: ['Original'] }]);

/** lcm:SubmitObjectsRequest around the registry objects (ITI-41 body part, ITI-57 body). */
export function submitObjectsRequestXml(registryObjects: string[]): string {
  return (
    `<lcm:SubmitObjectsRequest xmlns:lcm="${NS.lcm}" xmlns="${NS.rim}">` +
    `<RegistryObjectList>${registryObjects.join('')}</RegistryObjectList>` +
    `</lcm:SubmitObjectsRequest>`
  );
}
