import { ENTRY_STATUS, QUERY, UUID, statusFromUrn, type EntryStatus } from './codes.js';
import { XdsFailure, STATUS, registryErrorList, type XdsError } from './errors.js';
import { withStatus } from './registry-xml.js';
import type { AssociationRow, EntryRow } from './store.js';
import type { SimContext, TransactionResult, VerifiedRequest } from './transaction.js';
import { NS, attr, child, children, escapeXml, text } from './xml.js';

/** Parameters each stored query accepts (IHE ITI TF-2a 3.18.4.1.2.3.7); the required ones first. */
const QUERIES: Record<string, { name: string; required: string[]; optional: string[] }> = {
  [QUERY.findDocuments]: {
    name: 'FindDocuments',
    required: ['$XDSDocumentEntryPatientId', '$XDSDocumentEntryStatus'],
    optional: ['$XDSDocumentEntryClassCode', '$XDSDocumentEntryTypeCode', '$XDSDocumentEntryFormatCode', '$XDSDocumentEntryPracticeSettingCode',
      '$XDSDocumentEntryHealthcareFacilityTypeCode', '$XDSDocumentEntryEventCodeList', '$XDSDocumentEntryConfidentialityCode',
      '$XDSDocumentEntryCreationTimeFrom', '$XDSDocumentEntryCreationTimeTo', '$XDSDocumentEntryServiceStartTimeFrom', '$XDSDocumentEntryServiceStartTimeTo',
      '$XDSDocumentEntryType', '$MetadataLevel'],
  },
  [QUERY.findDocumentsByReferenceId]: {
    name: 'FindDocumentsByReferenceId',
    required: ['$XDSDocumentEntryPatientId', '$XDSDocumentEntryStatus', '$XDSDocumentEntryReferenceIdList'],
    optional: ['$XDSDocumentEntryClassCode', '$XDSDocumentEntryTypeCode', '$XDSDocumentEntryPracticeSettingCode', '$XDSDocumentEntryHealthcareFacilityTypeCode',
      '$XDSDocumentEntryEventCodeList', '$XDSDocumentEntryCreationTimeFrom', '$XDSDocumentEntryCreationTimeTo', '$MetadataLevel'],
  },
  [QUERY.getDocuments]: { name: 'GetDocuments', required: [], optional: ['$XDSDocumentEntryEntryUUID', '$XDSDocumentEntryUniqueId', '$homeCommunityId', '$MetadataLevel'] },
  [QUERY.getAssociations]: { name: 'GetAssociations', required: ['$uuid'], optional: ['$homeCommunityId', '$MetadataLevel'] },
};
/** Parameters that may repeat (AND of ORs). */
const REPEATABLE = new Set(['$XDSDocumentEntryEventCodeList', '$XDSDocumentEntryConfidentialityCode']);

type Params = Map<string, string[][]>;

/** ITI-18 Registry Stored Query, answered from the simulator's registry. */
export function registryStoredQuery(request: VerifiedRequest, ctx: SimContext): TransactionResult {
  const option = child(request.payload, NS.query, 'ResponseOption');
  const returnType = option ? attr(option, 'returnType') ?? 'ObjectRef' : 'ObjectRef';
  if (returnType !== 'LeafClass' && returnType !== 'ObjectRef') fail('XDSRegistryError', `returnType "${returnType}" is not supported (LeafClass, ObjectRef)`);
  const query = child(request.payload, NS.rim, 'AdhocQuery')!;
  const id = attr(query, 'id') ?? '';
  const spec = QUERIES[id];
  if (!spec) fail('XDSUnknownStoredQuery', `stored query ${id} is not supported (FindDocuments, FindDocumentsByReferenceId, GetDocuments, GetAssociations)`);
  const params = readParams(query, spec);
  const patient = request.vihf.resourceId;
  let xml: string;
  if (spec.name === 'GetAssociations') {
    // Associations of the caller's patient only: its visible entries and its submission sets.
    const uuids = params.get('$uuid')!.flat().filter((u) => checkVisible(ctx.store.entryByUuid(u), u, patient) || ctx.store.submissionSetByUuid(u)?.patient_id === patient);
    xml = associationsXml(ctx.store.associationsOf(uuids), returnType);
  } else {
    const entries = spec.name === 'GetDocuments' ? getDocuments(params, ctx, patient) : findDocuments(params, ctx, patient);
    xml = entries
      .map((e) => (returnType === 'LeafClass' ? withStatus(e.metadata_xml, ENTRY_STATUS[e.status]) : `<rim:ObjectRef xmlns:rim="${NS.rim}" id="${e.entry_uuid}"/>`))
      .join('');
  }
  return { bodyXml: adhocQueryResponse(STATUS.success, request.warnings, xml), errors: request.warnings };
}

export function adhocQueryResponse(status: string, errors: XdsError[], objectsXml: string): string {
  return `<query:AdhocQueryResponse xmlns:query="${NS.query}" xmlns:rs="${NS.rs}" xmlns:rim="${NS.rim}" status="${status}">${registryErrorList(errors)}<rim:RegistryObjectList>${objectsXml}</rim:RegistryObjectList></query:AdhocQueryResponse>`;
}

function fail(code: XdsError['code'], context: string): never {
  throw new XdsFailure([{ code, context }]);
}

function readParams(query: Element, spec: { name: string; required: string[]; optional: string[] }): Params {
  const params: Params = new Map();
  for (const slot of children(query, NS.rim, 'Slot')) {
    const name = attr(slot, 'name') ?? '';
    if (!spec.required.includes(name) && !spec.optional.includes(name)) fail('XDSRegistryError', `parameter ${name} is not supported by ${spec.name} here`);
    if (params.has(name) && !REPEATABLE.has(name)) fail('XDSStoredQueryParamNumber', `parameter ${name} appears more than once`);
    const values = children(child(slot, NS.rim, 'ValueList') ?? slot, NS.rim, 'Value').flatMap((v) => parseValue(text(v), name));
    if (values.length === 0) fail('XDSStoredQueryParamNumber', `parameter ${name} has no value`);
    params.set(name, [...(params.get(name) ?? []), values]);
  }
  for (const r of spec.required) if (!params.has(r)) fail('XDSStoredQueryParamNumber', `${spec.name} requires parameter ${r}`);
  return params;
}

/** A stored-query value: 'text' (with '' for a quote), an unquoted number, or a list ('a','b'). */
export function parseValue(raw: string, name: string): string[] {
  const inner = raw.startsWith('(') && raw.endsWith(')') ? raw.slice(1, -1) : raw;
  const out: string[] = [];
  const re = /\s*(?:'((?:[^']|'')*)'|(\d+))\s*(,|$)/y;
  let at = 0;
  while (at < inner.length) {
    re.lastIndex = at;
    const m = re.exec(inner);
    if (!m) fail('XDSRegistryError', `value of ${name} is malformed near "${inner.slice(at, at + 30)}" (expected 'text', a number or ('a','b'))`);
    out.push(m[1] !== undefined ? m[1].replace(/''/g, "'") : m[2]!);
    at = re.lastIndex;
    if (m[3] === '') break;
  }
  return out;
}

function singleValue(params: Params, name: string): string | undefined {
  const v = params.get(name);
  if (!v) return undefined;
  if (v.length !== 1 || v[0]!.length !== 1) fail('XDSStoredQueryParamNumber', `parameter ${name} takes a single value`);
  return v[0]![0];
}

function findDocuments(params: Params, ctx: SimContext, vihfPatient: string): EntryRow[] {
  const patientId = singleValue(params, '$XDSDocumentEntryPatientId')!;
  if (patientId !== vihfPatient) fail('XDSPatientIdDoesNotMatch', `$XDSDocumentEntryPatientId ${patientId} is not the VIHF resource-id ${vihfPatient}`);
  const statuses = params.get('$XDSDocumentEntryStatus')!.flat().map((urn) => statusFromUrn(urn) ?? fail('XDSRegistryError', `unknown status ${urn}`));
  if (params.get('$XDSDocumentEntryType')?.flat().some((t) => t !== UUID.deStable)) fail('XDSRegistryError', `only stable DocumentEntries (${UUID.deStable}) exist in the DMP`);
  const inList = (name: string, value: string) => !params.has(name) || params.get(name)!.flat().includes(value);
  const allOf = (name: string, values: string[]) => (params.get(name) ?? []).every((anyOf) => anyOf.some((v) => values.includes(v)));
  const range = (from: string, to: string, value: string | null) => {
    const f = singleValue(params, from);
    const t = singleValue(params, to);
    if (f === undefined && t === undefined) return true;
    if (!value) return false;
    return (f === undefined || pad(value) >= pad(f)) && (t === undefined || pad(value) < pad(t));
  };
  const references = params.get('$XDSDocumentEntryReferenceIdList')?.flat();
  return ctx.store.entriesOfPatient(patientId, statuses.filter((s): s is EntryStatus => s !== 'Deleted')).filter(
    (e) =>
      inList('$XDSDocumentEntryClassCode', e.class_code) &&
      inList('$XDSDocumentEntryTypeCode', e.type_code) &&
      inList('$XDSDocumentEntryFormatCode', e.format_code) &&
      inList('$XDSDocumentEntryPracticeSettingCode', e.practice_code) &&
      inList('$XDSDocumentEntryHealthcareFacilityTypeCode', e.facility_code) &&
      allOf('$XDSDocumentEntryEventCodeList', JSON.parse(e.event_codes) as string[]) &&
      allOf('$XDSDocumentEntryConfidentialityCode', JSON.parse(e.confidentiality) as string[]) &&
      range('$XDSDocumentEntryCreationTimeFrom', '$XDSDocumentEntryCreationTimeTo', e.creation_time) &&
      range('$XDSDocumentEntryServiceStartTimeFrom', '$XDSDocumentEntryServiceStartTimeTo', e.service_start_time) &&
      (!references || (JSON.parse(e.reference_ids) as string[]).some((r) => references.includes(r))),
  );
}

function getDocuments(params: Params, ctx: SimContext, vihfPatient: string): EntryRow[] {
  const uuids = params.get('$XDSDocumentEntryEntryUUID')?.flat();
  const uniqueIds = params.get('$XDSDocumentEntryUniqueId')?.flat();
  if ((uuids === undefined) === (uniqueIds === undefined)) fail('XDSStoredQueryParamNumber', 'GetDocuments takes exactly one of $XDSDocumentEntryEntryUUID and $XDSDocumentEntryUniqueId');
  const found = uuids ? uuids.map((u) => ctx.store.entryByUuid(u)) : uniqueIds!.map((u) => ctx.store.entryByUniqueId(u));
  const keys = uuids ?? uniqueIds!;
  return found.flatMap((e, i) => (checkVisible(e, keys[i]!, vihfPatient) ? [e!] : []));
}

/** Deleted entries do not exist for a consumer; another patient's entry is refused. */
function checkVisible(entry: EntryRow | undefined, key: string, vihfPatient: string): boolean {
  if (!entry || entry.status === 'Deleted') return false;
  if (entry.patient_id !== vihfPatient) fail('XDSPatientIdDoesNotMatch', `entry ${key} belongs to another patient than the VIHF resource-id ${vihfPatient}`);
  return true;
}

function associationsXml(rows: AssociationRow[], returnType: string): string {
  return rows
    .map((a) => (returnType === 'LeafClass' ? withStatus(a.metadata_xml, ENTRY_STATUS.Approved) : `<rim:ObjectRef xmlns:rim="${NS.rim}" id="${escapeXml(a.entry_uuid)}"/>`))
    .join('');
}

function pad(dtm: string): string {
  return dtm.padEnd(14, '0');
}
