import type { Element } from '@xmldom/xmldom';
import { EVENT_SCHEME, NS, SCHEME, SLOT_REFERENCE_ID_LIST, STATUS, type Code } from './codes.js';
import { hl7Unescape, parseCx } from './hl7-types.js';
import type { AssociationInfo, Author, DocumentEntry, ReferenceId, SubmissionSetInfo } from './types.js';
import { attr, childElements, firstChild } from './xml.js';

/** ebRIM 3.0 → typed XDS objects (IHE ITI TF-3 §4.2.3), from registry answers or from an archived submission. */

/** Region codes have been published under several schemes (SNOMED, the JDV, the CCAM OID of the ANS samples). */
const REGION_SCHEMES = new Set([EVENT_SCHEME.anatomicRegion, '2.16.840.1.113883.6.96', '1.2.250.1.213.2.5']);

export function slotsOf(el: Element): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const slot of childElements(el, NS.rim, 'Slot')) {
    const name = attr(slot, 'name');
    if (!name) continue;
    const list = firstChild(slot, NS.rim, 'ValueList');
    const values = list ? childElements(list, NS.rim, 'Value').map((v) => v.textContent ?? '') : [];
    out[name] = [...(out[name] ?? []), ...values];
  }
  return out;
}

function localizedValue(el: Element, name: 'Name' | 'Description'): string | undefined {
  const holder = firstChild(el, NS.rim, name);
  const ls = holder ? firstChild(holder, NS.rim, 'LocalizedString') : undefined;
  return attr(ls, 'value');
}

function codeOf(classification: Element): Code {
  const slots = slotsOf(classification);
  return {
    code: attr(classification, 'nodeRepresentation') ?? '',
    scheme: slots.codingScheme?.[0] ?? '',
    display: localizedValue(classification, 'Name') ?? '',
  };
}

function classifications(el: Element, scheme: string): Element[] {
  return childElements(el, NS.rim, 'Classification').filter((c) => attr(c, 'classificationScheme') === scheme);
}

function externalId(el: Element, scheme: string): string | undefined {
  const ei = childElements(el, NS.rim, 'ExternalIdentifier').find((e) => attr(e, 'identificationScheme') === scheme);
  return attr(ei, 'value');
}

function authorsOf(el: Element, scheme: string): Author[] {
  return classifications(el, scheme).map((c) => {
    const s = slotsOf(c);
    const person = s.authorPerson?.[0];
    return {
      ...(person ? { person } : {}),
      institutions: s.authorInstitution ?? [],
      roles: s.authorRole ?? [],
      specialties: s.authorSpecialty ?? [],
    };
  });
}

function referenceId(raw: string): ReferenceId {
  const cx = parseCx(raw);
  return { value: cx.id, type: cx.type ?? '', raw, ...(cx.authorityOid ? { assigningAuthority: cx.authorityOid } : {}) };
}

function statusWord(urn: string): DocumentEntry['status'] {
  if (urn === STATUS.approved) return 'Approved';
  if (urn === STATUS.deprecated) return 'Deprecated';
  return 'Other';
}

function optionalNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

export function documentEntryFrom(el: Element): DocumentEntry {
  const slots = slotsOf(el);
  const first = (name: string) => slots[name]?.[0];
  const eventCodes = classifications(el, SCHEME.eventCodeList).map(codeOf);
  const availabilityStatus = attr(el, 'status') ?? '';
  const entry: DocumentEntry = {
    entryUUID: attr(el, 'id') ?? '',
    uniqueId: externalId(el, SCHEME.uniqueId) ?? '',
    availabilityStatus,
    status: statusWord(availabilityStatus),
    confidentialityCodes: classifications(el, SCHEME.confidentialityCode).map(codeOf),
    eventCodes,
    modalities: eventCodes.filter((c) => c.scheme === EVENT_SCHEME.modality),
    regions: eventCodes.filter((c) => REGION_SCHEMES.has(c.scheme)),
    authors: authorsOf(el, SCHEME.author),
    sourcePatientInfo: slots.sourcePatientInfo ?? [],
    referenceIds: (slots[SLOT_REFERENCE_ID_LIST] ?? []).map(referenceId),
    slots,
  };
  const optional: Partial<DocumentEntry> = {
    patientId: externalId(el, SCHEME.patientId),
    mimeType: attr(el, 'mimeType'),
    objectType: attr(el, 'objectType'),
    title: localizedValue(el, 'Name'),
    comments: localizedValue(el, 'Description'),
    repositoryUniqueId: first('repositoryUniqueId'),
    homeCommunityId: attr(el, 'home'),
    hash: first('hash'),
    size: optionalNumber(first('size')),
    creationTime: first('creationTime'),
    serviceStartTime: first('serviceStartTime'),
    serviceStopTime: first('serviceStopTime'),
    languageCode: first('languageCode'),
    legalAuthenticator: first('legalAuthenticator'),
    sourcePatientId: first('sourcePatientId'),
    typeCode: classifications(el, SCHEME.typeCode).map(codeOf)[0],
    classCode: classifications(el, SCHEME.classCode).map(codeOf)[0],
    formatCode: classifications(el, SCHEME.formatCode).map(codeOf)[0],
    healthcareFacilityTypeCode: classifications(el, SCHEME.healthcareFacilityTypeCode).map(codeOf)[0],
    practiceSettingCode: classifications(el, SCHEME.practiceSettingCode).map(codeOf)[0],
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined && v !== '') (entry as unknown as Record<string, unknown>)[k] = v;
  return entry;
}

export function isSubmissionSet(el: Element, allObjects: Element[]): boolean {
  const id = attr(el, 'id');
  if (childElements(el, NS.rim, 'Classification').some((c) => attr(c, 'classificationNode') === SCHEME.submissionSetNode)) return true;
  // The node may also be classified by a sibling Classification object.
  return allObjects.some(
    (o) => o.localName === 'Classification' && attr(o, 'classifiedObject') === id && attr(o, 'classificationNode') === SCHEME.submissionSetNode,
  );
}

export function submissionSetFrom(el: Element): SubmissionSetInfo {
  const slots = slotsOf(el);
  const contentTypeCode = classifications(el, SCHEME.submissionSetContentType).map(codeOf)[0];
  const info: SubmissionSetInfo = { entryUUID: attr(el, 'id') ?? '', authors: authorsOf(el, SCHEME.submissionSetAuthor) };
  const optional: Partial<SubmissionSetInfo> = {
    uniqueId: externalId(el, SCHEME.submissionSetUniqueId),
    sourceId: externalId(el, SCHEME.submissionSetSourceId),
    patientId: externalId(el, SCHEME.submissionSetPatientId),
    submissionTime: slots.submissionTime?.[0],
    contentTypeCode,
    availabilityStatus: attr(el, 'status'),
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined && v !== '') (info as unknown as Record<string, unknown>)[k] = v;
  return info;
}

export function associationFrom(el: Element): AssociationInfo {
  return {
    id: attr(el, 'id') ?? '',
    type: attr(el, 'associationType') ?? '',
    sourceObject: attr(el, 'sourceObject') ?? '',
    targetObject: attr(el, 'targetObject') ?? '',
    slots: slotsOf(el),
  };
}

export interface RegistryObjects {
  documentEntries: DocumentEntry[];
  submissionSets: SubmissionSetInfo[];
  associations: AssociationInfo[];
  /** ObjectRef ids (returnType=ObjectRef answers). */
  objectRefs: string[];
}

/** Reads the children of a rim:RegistryObjectList. */
export function registryObjectsFrom(list: Element | undefined): RegistryObjects {
  const out: RegistryObjects = { documentEntries: [], submissionSets: [], associations: [], objectRefs: [] };
  if (!list) return out;
  const all = childElements(list, NS.rim);
  for (const el of all) {
    switch (el.localName) {
      case 'ExtrinsicObject':
        out.documentEntries.push(documentEntryFrom(el));
        break;
      case 'RegistryPackage':
        if (isSubmissionSet(el, all)) out.submissionSets.push(submissionSetFrom(el));
        break;
      case 'Association':
        out.associations.push(associationFrom(el));
        break;
      case 'ObjectRef': {
        const id = attr(el, 'id');
        if (id) out.objectRefs.push(id);
        break;
      }
    }
  }
  return out;
}

/** The person's name in an XCN, "Given FAMILY", for display. */
export function xcnDisplayName(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const c = value.split('^');
  const name = [c[2], c[1]].map((s) => hl7Unescape(s ?? '')).filter(Boolean).join(' ');
  return name || undefined;
}

/** The organisation name of an XON, for display. */
export function xonDisplayName(value: string | undefined): string | undefined {
  return value ? hl7Unescape(value.split('^')[0] ?? '') || undefined : undefined;
}
