import {
  ASSOCIATION, CONFIDENTIALITY, FACILITY_TYPE_SCHEME, KOS, MODALITY_CODES, MODALITY_SCHEME, PRACTICE_SETTING,
  REFERENCE_ID_LIST_SLOT, REFERENCE_ID_TYPES, REGION_SCHEMES, SAMPLE_REGION_SCHEME, SIGNATURE, UUID,
} from './codes.js';
import { classificationsOf, coded, externalId, isSubmissionSet, slotValues, type Coded, type RimObject, type Submission } from './ebrim.js';
import type { XdsError } from './errors.js';
import { checkDtm, checkOid, checkXcn, checkXon, dtmToDate, parseReferenceId } from './hl7-types.js';
import { parseInsCx } from './ins.js';

/**
 * The CI-SIS rules on what a DRIMbox submits (ci-sis-imaging.md §2): one SubmissionSet, IMG-KOS
 * DocumentEntries and their IHE DSG signature entry, HasMember/signs/RPLC associations.
 */

export interface CheckedEntry {
  object: RimObject;
  kind: 'kos' | 'signature';
  uniqueId: string;
  patientId: string;
  mimeType: string;
  hash?: string;
  size?: number;
  typeCode: Coded;
  classCode: Coded;
  formatCode: Coded;
  practiceSetting: Coded;
  facilityType: Coded;
  confidentiality: Coded[];
  eventCodes: Coded[];
  creationTime: string;
  serviceStartTime?: string;
  referenceIds: { id: string; authority?: string; type: string }[];
}

export interface CheckedSubmissionSet {
  object: RimObject;
  uniqueId: string;
  patientId: string;
  sourceId: string;
  submissionTime: string;
}

export interface CheckedSubmission {
  set: CheckedSubmissionSet;
  entries: CheckedEntry[];
  associations: RimObject[];
  replacements: { sourceId: string; targetUuid: string }[];
}

export interface RuleContext {
  now: Date;
  clockSkewSeconds: number;
  /** The VIHF resource-id: the patient the caller is authorised for. */
  vihfPatientId: string;
  /** When set, only these INS exist in the DMP. */
  knownPatients?: ReadonlySet<string>;
}

/** Reference id types whose value is a UID, unique without an assigning authority. */
const GLOBALLY_UNIQUE_REFERENCES = new Set(['urn:ihe:iti:xds:2016:studyInstanceUID', 'urn:ihe:iti:xds:2013:uniqueId']);

type Report = (code: XdsError['code'], context: string, location?: string, severity?: XdsError['severity']) => void;

export function checkSubmissionSet(submission: Submission, ctx: RuleContext, report: Report): CheckedSubmissionSet | undefined {
  const packages = submission.objects.filter((o) => o.kind === 'RegistryPackage');
  const sets = packages.filter((o) => isSubmissionSet(o, submission));
  if (sets.length !== 1 || packages.length !== 1) {
    report('XDSRegistryMetadataError', `expected exactly one RegistryPackage, classified as SubmissionSet (${UUID.ssNode}); found ${packages.length} package(s), ${sets.length} SubmissionSet(s)`);
    return undefined;
  }
  const set = sets[0]!;
  const where = set.id;
  checkOwnership(set, report);
  const submissionTime = single(set, 'submissionTime', report) ?? '';
  dtm(submissionTime, 14, 'submissionTime', where, ctx, report);
  const authors = classificationsOf(set, UUID.ssAuthor);
  if (authors.length === 0) report('XDSRegistryMetadataError', 'SubmissionSet has no author classification', where);
  authors.forEach((a) => checkAuthor(a.slots, where, report));
  const contentTypes = classificationsOf(set, UUID.ssContentType);
  if (contentTypes.length !== 1) report('XDSRegistryMetadataError', `SubmissionSet must have one contentTypeCode, found ${contentTypes.length}`, where);
  else codedComplete(coded(contentTypes[0]!), 'contentTypeCode', where, report);
  const patientId = identifier(set, UUID.ssPatientId, 'XDSSubmissionSet.patientId', report) ?? '';
  const sourceId = identifier(set, UUID.ssSourceId, 'XDSSubmissionSet.sourceId', report) ?? '';
  const uniqueId = identifier(set, UUID.ssUniqueId, 'XDSSubmissionSet.uniqueId', report) ?? '';
  for (const [v, name] of [[sourceId, 'sourceId'], [uniqueId, 'uniqueId']] as const) {
    const bad = v ? checkOid(v) : undefined;
    if (bad) report('XDSRegistryMetadataError', `XDSSubmissionSet.${name} ${bad}`, where);
  }
  const ins = patientId ? parseInsCx(patientId) : undefined;
  if (typeof ins === 'string') report('XDSRegistryMetadataError', `XDSSubmissionSet.patientId ${ins}`, where);
  else if (ins && ctx.knownPatients && !ctx.knownPatients.has(ins.ins)) {
    report('XDSUnknownPatientId', `patient ${patientId} has no DMP (INS ${ins.ins} unknown)`, where);
  }
  if (patientId && patientId !== ctx.vihfPatientId) {
    report('XDSPatientIdDoesNotMatch', `XDSSubmissionSet.patientId ${patientId} is not the VIHF resource-id ${ctx.vihfPatientId}`, where);
  }
  return { object: set, uniqueId, patientId, sourceId, submissionTime };
}

export function checkProvideAndRegister(submission: Submission, ctx: RuleContext, report: Report): CheckedSubmission | undefined {
  for (const p of submission.problems) report('XDSRegistryMetadataError', p.context, p.location);
  const set = checkSubmissionSet(submission, ctx, report);
  const entries: CheckedEntry[] = [];
  for (const o of submission.objects.filter((x) => x.kind === 'ExtrinsicObject')) {
    const e = checkEntry(o, ctx, report);
    if (!e) continue;
    entries.push(e);
    if (set && e.patientId && set.patientId && e.patientId !== set.patientId) {
      report('XDSPatientIdDoesNotMatch', `XDSDocumentEntry.patientId ${e.patientId} differs from XDSSubmissionSet.patientId ${set.patientId}`, o.id);
    }
  }
  const kos = entries.filter((e) => e.kind === 'kos');
  const signatures = entries.filter((e) => e.kind === 'signature');
  if (kos.length === 0) report('XDSRegistryMetadataError', 'the submission holds no IMG-KOS DocumentEntry');
  if (signatures.length !== 1) report('XDSRegistryMetadataError', `the submission must hold one signature DocumentEntry (IHE DSG, classCode ${SIGNATURE.classCode.code}); found ${signatures.length}`);
  const uniqueIds = entries.map((e) => e.uniqueId);
  for (const u of new Set(uniqueIds)) {
    if (uniqueIds.filter((x) => x === u).length > 1) report('XDSDuplicateUniqueIdInRegistry', `uniqueId ${u} is used by two DocumentEntries of the submission`, u);
  }
  for (const o of submission.objects.filter((x) => x.kind === 'ObjectRef')) {
    report('XDSRegistryMetadataError', `ObjectRef ${o.id} is not expected in a DRIMbox submission`, o.id);
  }
  const associations = submission.objects.filter((x) => x.kind === 'Association');
  const replacements = set ? checkAssociations(associations, set, entries, report) : [];
  if (!set) return undefined;
  return { set, entries, associations, replacements };
}

function checkAssociations(associations: RimObject[], set: CheckedSubmissionSet, entries: CheckedEntry[], report: Report): { sourceId: string; targetUuid: string }[] {
  const byId = new Map(entries.map((e) => [e.object.id, e]));
  const members = new Map<string, number>();
  const signed = new Map<string, number>();
  const replacements: { sourceId: string; targetUuid: string }[] = [];
  for (const a of associations) {
    const where = a.id;
    const source = a.sourceObject ?? '';
    const target = a.targetObject ?? '';
    switch (a.associationType) {
      case ASSOCIATION.hasMember: {
        if (source !== set.object.id || !byId.has(target)) {
          report('XDSRegistryMetadataError', `HasMember ${where} must link the SubmissionSet to a DocumentEntry of the submission (source ${source}, target ${target})`, where);
          break;
        }
        const status = slotValues(a, 'SubmissionSetStatus');
        if (status?.length !== 1 || status[0] !== 'Original') report('XDSRegistryMetadataError', `HasMember ${where} needs Slot SubmissionSetStatus = Original`, where);
        members.set(target, (members.get(target) ?? 0) + 1);
        break;
      }
      case ASSOCIATION.signs: {
        if (byId.get(source)?.kind !== 'signature' || target !== set.object.id) {
          report('XDSRegistryMetadataError', `signs ${where} must link the signature DocumentEntry to the SubmissionSet (source ${source}, target ${target})`, where);
          break;
        }
        signed.set(source, (signed.get(source) ?? 0) + 1);
        break;
      }
      case ASSOCIATION.rplc: {
        if (byId.get(source)?.kind !== 'kos' || !/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(target)) {
          report('XDSRegistryMetadataError', `RPLC ${where} must go from a new IMG-KOS entry of the submission to the entryUUID (urn:uuid:…) of the entry it replaces (source ${source}, target ${target})`, where);
          break;
        }
        replacements.push({ sourceId: source, targetUuid: target });
        break;
      }
      default:
        report('XDSRegistryMetadataError', `association type "${a.associationType}" is not accepted here (HasMember, signs, RPLC)`, where);
    }
  }
  for (const e of entries) {
    const count = members.get(e.object.id) ?? 0;
    if (count !== 1) report('XDSRegistryMetadataError', `DocumentEntry ${e.object.id} must be the target of exactly one HasMember from the SubmissionSet (found ${count})`, e.object.id);
    if (e.kind === 'signature' && signed.get(e.object.id) !== 1) {
      report('XDSRegistryMetadataError', `signature DocumentEntry ${e.object.id} needs one ${ASSOCIATION.signs} association to the SubmissionSet`, e.object.id);
    }
  }
  const replaced = replacements.map((r) => r.targetUuid);
  if (new Set(replaced).size !== replaced.length) report('XDSRegistryMetadataError', 'two RPLC associations replace the same entry');
  return replacements;
}

function checkEntry(o: RimObject, ctx: RuleContext, report: Report): CheckedEntry | undefined {
  const where = o.id;
  checkOwnership(o, report);
  if (o.objectType !== UUID.deStable) report('XDSRegistryMetadataError', `objectType is "${o.objectType}", expected the stable DocumentEntry ${UUID.deStable}`, where);
  const one = (scheme: string, name: string): Coded => {
    const found = classificationsOf(o, scheme);
    if (found.length !== 1) report('XDSRegistryMetadataError', `${name}: expected one classification, found ${found.length}`, where);
    const c = found[0] ? coded(found[0]) : { code: '', scheme: '', display: '' };
    if (found[0]) codedComplete(c, name, where, report);
    return c;
  };
  const classCode = one(UUID.deClass, 'classCode');
  const typeCode = one(UUID.deType, 'typeCode');
  const formatCode = one(UUID.deFormat, 'formatCode');
  const facility = one(UUID.deFacility, 'healthcareFacilityTypeCode');
  const practice = one(UUID.dePractice, 'practiceSettingCode');
  const confidentiality = classificationsOf(o, UUID.deConfidentiality).map(coded);
  const eventCodes = classificationsOf(o, UUID.deEvent).map(coded);
  confidentiality.forEach((c) => codedComplete(c, 'confidentialityCode', where, report));
  eventCodes.forEach((c) => codedComplete(c, 'eventCodeList', where, report));
  const kind: CheckedEntry['kind'] = classCode.code === SIGNATURE.classCode.code ? 'signature' : 'kos';
  const expected = kind === 'kos' ? KOS : SIGNATURE;
  if (o.mimeType !== expected.mimeType) report('XDSRegistryMetadataError', `mimeType is "${o.mimeType}", expected ${expected.mimeType} for ${kind === 'kos' ? 'an IMG-KOS' : 'a signature'} entry`, where);
  for (const [c, want, name] of [[classCode, expected.classCode, 'classCode'], [typeCode, expected.typeCode, 'typeCode'], [formatCode, expected.formatCode, 'formatCode']] as const) {
    if (c.code !== want.code || c.scheme !== want.scheme) {
      const hint = name === 'formatCode' && c.code.startsWith('urn:ihe:rad:') ? ' (the urn:ihe:rad: form is deprecated in TRE_A09 since 2017-10-13)' : '';
      report('XDSRegistryMetadataError', `${name} is ${c.code} in scheme ${c.scheme}, expected ${want.code} in ${want.scheme}${hint}`, where);
    }
  }
  if (confidentiality.length < 1 || confidentiality.length > 4) report('XDSRegistryMetadataError', `confidentialityCode: 1 to 4 values required (JDV_J58), found ${confidentiality.length}`, where);
  for (const c of confidentiality) {
    if (!CONFIDENTIALITY.some((k) => k.code === c.code && k.codingScheme === c.scheme)) report('XDSRegistryMetadataError', `confidentialityCode ${c.code} in scheme ${c.scheme} is not in JDV_J58-ConfidentialityCode-DMP`, where);
  }
  if (facility.code && (!/^SA\d{2}$/.test(facility.code) || facility.scheme !== FACILITY_TYPE_SCHEME)) {
    report('XDSRegistryMetadataError', `healthcareFacilityTypeCode ${facility.code} in scheme ${facility.scheme} is not a TRE_R02 SAxx code in ${FACILITY_TYPE_SCHEME}`, where);
  }
  if (practice.code && (!PRACTICE_SETTING.codes.has(practice.code) || practice.scheme !== PRACTICE_SETTING.scheme)) {
    report('XDSRegistryMetadataError', `practiceSettingCode ${practice.code} in scheme ${practice.scheme} is not in JDV_J04 (${PRACTICE_SETTING.scheme})`, where);
  }
  const authors = classificationsOf(o, UUID.deAuthor);
  if (authors.length === 0) report('XDSRegistryMetadataError', 'no author classification', where);
  authors.forEach((a) => checkAuthor(a.slots, where, report));

  const creationTime = single(o, 'creationTime', report) ?? '';
  dtm(creationTime, 14, 'creationTime', where, ctx, report);
  const serviceStartTime = optional(o, 'serviceStartTime', report);
  if (serviceStartTime !== undefined) dtm(serviceStartTime, 8, 'serviceStartTime', where, ctx, report);
  const serviceStopTime = optional(o, 'serviceStopTime', report);
  if (serviceStopTime !== undefined) dtm(serviceStopTime, 8, 'serviceStopTime', where, ctx, report);
  const language = single(o, 'languageCode', report);
  if (kind === 'kos' && language !== undefined && language !== KOS.languageCode) report('XDSRegistryMetadataError', `languageCode is "${language}", expected ${KOS.languageCode}`, where);
  const legal = optional(o, 'legalAuthenticator', report);
  if (legal !== undefined && checkXcn(legal)) report('XDSRegistryMetadataError', `legalAuthenticator ${checkXcn(legal)}`, where);
  const sourcePatientId = single(o, 'sourcePatientId', report);
  if (sourcePatientId !== undefined && !/^[^^]+\^\^\^&[0-9.]+&ISO(\^[A-Z]+)?$/.test(sourcePatientId)) report('XDSRegistryMetadataError', `sourcePatientId "${sourcePatientId}" is not a CX id^^^&<OID>&ISO^<type>`, where);
  if (o.slots.some((s) => s.name === 'submissionTime')) report('XDSRegistryMetadataError', 'submissionTime is not a DocumentEntry attribute; ignored', where, 'Warning');

  const hash = optional(o, 'hash', report);
  if (hash !== undefined && !/^[0-9a-fA-F]{40}$/.test(hash)) report('XDSRegistryMetadataError', `hash "${hash}" is not a SHA-1 in hexadecimal`, where);
  const sizeText = optional(o, 'size', report);
  if (sizeText !== undefined && !/^(0|[1-9]\d*)$/.test(sizeText)) report('XDSRegistryMetadataError', `size "${sizeText}" is not a byte count`, where);

  const patientId = identifier(o, UUID.dePatientId, 'XDSDocumentEntry.patientId', report) ?? '';
  const uniqueId = identifier(o, UUID.deUniqueId, 'XDSDocumentEntry.uniqueId', report) ?? '';
  const badUid = uniqueId ? checkOid(uniqueId) : undefined;
  if (badUid) report('XDSRegistryMetadataError', `XDSDocumentEntry.uniqueId ${badUid}`, where);
  const ins = patientId ? parseInsCx(patientId) : undefined;
  if (typeof ins === 'string') report('XDSRegistryMetadataError', `XDSDocumentEntry.patientId ${ins}`, where);

  const referenceIds = checkReferenceIds(o, kind, report);
  if (kind === 'kos') checkImagingEvents(eventCodes, where, report);
  else if (!eventCodes.some((c) => c.code === SIGNATURE.purpose && c.scheme === '1.2.840.10065.1.12')) {
    report('XDSRegistryMetadataError', `the signature entry's eventCodeList must hold the purpose ${SIGNATURE.purpose} (scheme 1.2.840.10065.1.12)`, where);
  }
  return {
    object: o, kind, uniqueId, patientId, mimeType: o.mimeType ?? '', hash: hash?.toLowerCase(), size: sizeText === undefined ? undefined : Number(sizeText),
    typeCode, classCode, formatCode, practiceSetting: practice, facilityType: facility, confidentiality, eventCodes, creationTime, serviceStartTime, referenceIds,
  };
}

function checkReferenceIds(o: RimObject, kind: CheckedEntry['kind'], report: Report): CheckedEntry['referenceIds'] {
  const values = slotValues(o, REFERENCE_ID_LIST_SLOT);
  const out: CheckedEntry['referenceIds'] = [];
  for (const v of values ?? []) {
    const r = parseReferenceId(v);
    if (typeof r === 'string') report('XDSRegistryMetadataError', `referenceIdList: ${r}`, o.id);
    else if (!REFERENCE_ID_TYPES.has(r.type)) report('XDSRegistryMetadataError', `referenceIdList type "${r.type}" is not in JDV_J197`, o.id);
    else if (!r.authority && !GLOBALLY_UNIQUE_REFERENCES.has(r.type)) report('XDSRegistryMetadataError', `referenceIdList "${v}": a ${r.type.replace(/^.*:/, '')} needs its assigning authority (&<OID>&ISO)`, o.id);
    else out.push(r);
  }
  if (kind === 'kos' && !out.some((r) => r.type === 'urn:ihe:iti:xds:2016:studyInstanceUID')) {
    report('XDSRegistryMetadataError', 'referenceIdList must carry the Study Instance UID (type urn:ihe:iti:xds:2016:studyInstanceUID)', o.id);
  }
  return out;
}

function checkImagingEvents(codes: Coded[], where: string, report: Report): void {
  const modalities = codes.filter((c) => c.scheme === MODALITY_SCHEME);
  if (modalities.length === 0) report('XDSRegistryMetadataError', `eventCodeList must hold the acquisition modality (scheme ${MODALITY_SCHEME})`, where);
  for (const m of modalities) if (!MODALITY_CODES.has(m.code)) report('XDSRegistryMetadataError', `eventCodeList modality "${m.code}" is not a DICOM CID 29 acquisition modality`, where);
  for (const c of codes.filter((x) => x.scheme !== MODALITY_SCHEME)) {
    if (c.scheme === SAMPLE_REGION_SCHEME) report('XDSRegistryMetadataError', `eventCodeList region ${c.code} uses ${SAMPLE_REGION_SCHEME} (the CCAM OID) as in the ANS samples; expected SNOMED CT 2.16.840.1.113883.6.96`, where, 'Warning');
    else if (!REGION_SCHEMES.has(c.scheme)) report('XDSRegistryMetadataError', `eventCodeList code ${c.code} has scheme ${c.scheme}: neither a modality (${MODALITY_SCHEME}) nor an anatomic region (${[...REGION_SCHEMES].join(', ')})`, where);
  }
}

function checkAuthor(slots: { name: string; values: string[] }[], where: string, report: Report): void {
  const institutions = slots.find((s) => s.name === 'authorInstitution')?.values ?? [];
  const persons = slots.find((s) => s.name === 'authorPerson')?.values ?? [];
  if (institutions.length === 0) report('XDSRegistryMetadataError', 'author has no authorInstitution (the structure, XON)', where);
  for (const i of institutions) if (checkXon(i)) report('XDSRegistryMetadataError', `authorInstitution ${checkXon(i)}`, where);
  if (persons.length !== 1) report('XDSRegistryMetadataError', `author must have one authorPerson (XCN), found ${persons.length}`, where);
  for (const p of persons) if (checkXcn(p)) report('XDSRegistryMetadataError', `authorPerson ${checkXcn(p)}`, where);
}

function checkOwnership(o: RimObject, report: Report): void {
  for (const c of o.classifications) {
    if (c.classifiedObject !== o.id) report('XDSRegistryMetadataError', `Classification ${c.id} has classifiedObject "${c.classifiedObject}", expected "${o.id}"`, o.id);
  }
  for (const x of o.externalIds) {
    if (x.registryObject !== o.id) report('XDSRegistryMetadataError', `ExternalIdentifier ${x.id} has registryObject "${x.registryObject}", expected "${o.id}"`, o.id);
  }
}

function codedComplete(c: Coded, name: string, where: string, report: Report): void {
  if (!c.code) report('XDSRegistryMetadataError', `${name}: nodeRepresentation (the code) is missing`, where);
  if (!c.scheme) report('XDSRegistryMetadataError', `${name} ${c.code}: Slot codingScheme with one value is missing`, where);
  if (!c.display) report('XDSRegistryMetadataError', `${name} ${c.code}: the display name (Name/LocalizedString) is missing`, where);
}

function identifier(o: RimObject, scheme: string, name: string, report: Report): string | undefined {
  const found = o.externalIds.filter((x) => x.scheme === scheme);
  if (found.length !== 1 || !found[0]!.value) {
    report('XDSRegistryMetadataError', `${name}: expected one ExternalIdentifier (${scheme}) with a value, found ${found.length}`, o.id);
    return found[0]?.value || undefined;
  }
  return externalId(o, scheme);
}

function single(o: RimObject, name: string, report: Report): string | undefined {
  const v = slotValues(o, name);
  if (!v || v.length !== 1 || !v[0]) {
    report('XDSRegistryMetadataError', `Slot ${name} must have exactly one non-empty value`, o.id);
    return undefined;
  }
  return v[0];
}

function optional(o: RimObject, name: string, report: Report): string | undefined {
  const v = slotValues(o, name);
  if (v === undefined) return undefined;
  return single(o, name, report);
}

function dtm(value: string, minDigits: number, name: string, where: string, ctx: RuleContext, report: Report): void {
  if (!value) return;
  const bad = checkDtm(value, minDigits);
  if (bad) report('XDSRegistryMetadataError', `${name} ${bad}`, where);
  else if (dtmToDate(value).getTime() > ctx.now.getTime() + ctx.clockSkewSeconds * 1000) report('XDSRegistryMetadataError', `${name} ${value} is in the future (times are UTC)`, where);
}
