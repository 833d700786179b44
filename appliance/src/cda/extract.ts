import type { CodedValue, IssuedId, Organisation, Patient, Professional } from '../report/types.js';
import type { CdaHeader, CdaServiceEvent } from './types.js';
import { attr, CdaError, children, decodeXml, first, parseCdaXml, text, type XmlNode } from './xml.js';

/** INS assigning authorities (ci-sis-imaging.md §1.2): NIR, NIA, NIR test, NIR démonstration. */
export const insOids = new Set(['1.2.250.1.213.1.4.8', '1.2.250.1.213.1.4.9', '1.2.250.1.213.1.4.10', '1.2.250.1.213.1.4.11']);
/** RPPS/ADELI national professional ids (ci-sis-imaging.md §5, PRT-5). */
const rppsOid = '1.2.250.1.71.4.2.1';
const dicomCodeSystem = '1.2.840.10008.2.16.4';
const snomedCodeSystem = '2.16.840.1.113883.6.96';
/** Qualifier names marking serviceEvent translations (CDA fixture, ANS comments). */
const modalityQualifier = '121139';
const regionQualifier = '39111-0';

/** DICOM UID syntax (PS3.5 §9.1): dot-separated numbers without leading zeros, at most 64 characters. */
export function isDicomUid(value: string): boolean {
  return value.length <= 64 && /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/.test(value);
}

/** Reads the header of a CDA R2 document (bytes in any declared encoding, or text). Throws CdaError. */
export function extractCda(xml: string | Buffer): CdaHeader {
  const doc = parseCdaXml(decodeXml(xml));
  const warnings: string[] = [];
  const order = first(doc, 'inFulfillmentOf', 'order');
  const header: CdaHeader = {
    documentId: instanceId(first(doc, 'id')),
    setId: instanceId(first(doc, 'setId')),
    version: versionNumber(first(doc, 'versionNumber'), warnings),
    title: text(first(doc, 'title')),
    effectiveTime: attr(first(doc, 'effectiveTime'), 'value'),
    typeCode: coded(first(doc, 'code')),
    confidentialityCode: attr(first(doc, 'confidentialityCode'), 'code'),
    patient: readPatient(first(doc, 'recordTarget', 'patientRole'), warnings),
    author: professional(first(doc, 'author', 'assignedAuthor')),
    legalAuthenticator: professional(first(doc, 'legalAuthenticator', 'assignedEntity')),
    custodian: organisation(first(doc, 'custodian', 'assignedCustodian', 'representedCustodianOrganization')),
    placerOrder: issued(first(order, 'id')),
    accession: issued(first(order, 'accessionNumber')),
    serviceEvents: children(doc, 'documentationOf').flatMap((d) => children(d, 'serviceEvent')).map((e) => readServiceEvent(e, warnings)),
    replaces: children(doc, 'relatedDocument')
      .filter((r) => attr(r, 'typeCode') === 'RPLC')
      .map((r) => instanceId(first(r, 'parentDocument', 'id')))
      .find((id) => id !== undefined),
    warnings,
  };
  return dropUndefined(header);
}

function readServiceEvent(event: XmlNode, warnings: string[]): CdaServiceEvent {
  const code = first(event, 'code');
  const translations = children(code, 'translation');
  const qualifierOf = (t: XmlNode) => attr(first(t, 'qualifier', 'name'), 'code');
  const modalities = translations.filter((t) => qualifierOf(t) === modalityQualifier || (!qualifierOf(t) && attr(t, 'codeSystem') === dicomCodeSystem));
  const regions = translations.filter((t) => qualifierOf(t) === regionQualifier || (!qualifierOf(t) && attr(t, 'codeSystem') === snomedCodeSystem));
  const time = first(event, 'effectiveTime');
  return dropUndefined({
    studyInstanceUid: studyUid(first(event, 'id'), warnings),
    code: coded(code),
    modalities: modalities.map(coded).filter((c): c is CodedValue => c !== undefined),
    regions: regions.map(coded).filter((c): c is CodedValue => c !== undefined),
    start: attr(first(time, 'low'), 'value') ?? attr(time, 'value'),
    end: attr(first(time, 'high'), 'value'),
    performer: professional(first(event, 'performer', 'assignedEntity')),
  });
}

/** serviceEvent/id@root is the Study Instance UID (PS3.20); a producer putting it in @extension is read too. */
function studyUid(id: XmlNode | undefined, warnings: string[]): string | undefined {
  if (!id) return undefined;
  const root = attr(id, 'root');
  const extension = attr(id, 'extension');
  const uid = extension && isDicomUid(extension) ? extension : root;
  if (uid === undefined) return undefined;
  if (!isDicomUid(uid)) throw new CdaError(`'${uid}' is not a DICOM UID (Study Instance UID expected)`, 'documentationOf/serviceEvent/id');
  if (extension && uid === extension) warnings.push('serviceEvent/id carries the Study Instance UID in @extension (PS3.20 puts it in @root)');
  return uid;
}

function readPatient(role: XmlNode | undefined, warnings: string[]): Patient {
  if (!role) return {};
  const ids = children(role, 'id').map((id) => ({ root: attr(id, 'root'), extension: attr(id, 'extension') }));
  const ins = ids.find((id) => id.root && insOids.has(id.root) && id.extension);
  const ipp = ids.find((id) => id !== ins && id.root && id.extension);
  const person = first(role, 'patient');
  const names = children(person, 'name');
  const families = names.flatMap((n) => children(n, 'family'));
  const givens = names.flatMap((n) => children(n, 'given'));
  const qualified = (nodes: XmlNode[], q: string) => nodes.filter((n) => (attr(n, 'qualifier') ?? '').split(/\s+/).includes(q));
  const unqualified = (nodes: XmlNode[]) => nodes.filter((n) => !attr(n, 'qualifier'));
  // CI-SIS: family@BR = birth name, family@CL (or @SP) = used name; given@CL = used first name; other givens are birth given names.
  const birthName = text(qualified(families, 'BR')[0] ?? unqualified(families)[0]);
  const usedName = text(qualified(families, 'CL')[0] ?? qualified(families, 'SP')[0]);
  const birthGivens = givens.filter((g) => !qualified([g], 'CL').length).map(text).filter((g): g is string => g !== undefined);
  const gender = attr(first(person, 'administrativeGenderCode'), 'code');
  if (gender && !['M', 'F', 'U', 'UN'].includes(gender)) warnings.push(`administrativeGenderCode '${gender}' read as unknown`);
  return dropUndefined({
    ins: ins ? { value: ins.extension!, issuerOid: ins.root! } : undefined,
    ipp: ipp ? { value: ipp.extension!, issuerOid: ipp.root! } : undefined,
    birthName,
    firstGivenName: birthGivens[0],
    givenNames: birthGivens.length ? birthGivens.join(' ') : undefined,
    usedName,
    usedGivenName: text(qualified(givens, 'CL')[0]),
    birthDate: attr(first(person, 'birthTime'), 'value')?.slice(0, 8),
    sex: gender === 'M' || gender === 'F' ? gender : gender ? 'U' : undefined,
    birthPlaceCode: text(first(person, 'birthplace', 'place', 'addr', 'county')),
  } satisfies Patient);
}

function professional(entity: XmlNode | undefined): Professional | undefined {
  if (!entity) return undefined;
  const ids = children(entity, 'id');
  const id = ids.find((i) => attr(i, 'root') === rppsOid) ?? ids[0];
  const name = first(entity, 'assignedPerson', 'name');
  const org = organisation(first(entity, 'representedOrganization'));
  return dropUndefined({
    id: issued(id),
    family: text(first(name, 'family')),
    given: text(first(name, 'given')),
    prefix: text(first(name, 'prefix')),
    organisation: org,
  } satisfies Professional);
}

function organisation(org: XmlNode | undefined): Organisation | undefined {
  if (!org) return undefined;
  return dropUndefined({ id: issued(first(org, 'id')), name: text(first(org, 'name')) } satisfies Organisation);
}

/** II with root = authority OID and extension = value (order ids, accession, RPPS, FINESS). */
function issued(id: XmlNode | undefined): IssuedId | undefined {
  const value = attr(id, 'extension');
  const root = attr(id, 'root');
  if (!value) return undefined;
  return { value, issuerOid: root ?? '' };
}

/** Document ids: root^extension, or the root alone when it identifies the instance by itself. */
function instanceId(id: XmlNode | undefined): string | undefined {
  const root = attr(id, 'root');
  const extension = attr(id, 'extension');
  if (!root) return extension;
  return extension ? `${root}^${extension}` : root;
}

function coded(node: XmlNode | undefined): CodedValue | undefined {
  const code = attr(node, 'code');
  if (!code) return undefined;
  return dropUndefined({ code, scheme: attr(node, 'codeSystem') ?? '', schemeName: attr(node, 'codeSystemName'), display: attr(node, 'displayName') } satisfies CodedValue);
}

function versionNumber(node: XmlNode | undefined, warnings: string[]): number | undefined {
  const value = attr(node, 'value');
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    warnings.push(`versionNumber '${value}' is not a positive integer: ignored`);
    return undefined;
  }
  return n;
}

/** Keeps JSON output and deep equality free of explicit undefined members. */
function dropUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}
