import { createHash, randomUUID } from 'node:crypto';
import { readSubmitObjectsRequest, type RimObject } from './ebrim.js';
import { XdsFailure, registryResponse, type XdsError } from './errors.js';
import { parseInsCx } from './ins.js';
import { checkKosContent } from './kos.js';
import { rewriteForRegistry } from './registry-xml.js';
import { DuplicateUniqueId, StatusConflict, type AssociationRow, type NewSubmission } from './store.js';
import { checkProvideAndRegister, type CheckedEntry, type CheckedSubmission } from './submission-rules.js';
import type { SimContext, TransactionResult, VerifiedRequest } from './transaction.js';
import { verifySubmissionSignature } from './xades.js';
import { NS, child } from './xml.js';

/** ITI-41 Provide and Register Document Set-b, as the DMP's repository + registry. */
export function provideAndRegister(request: VerifiedRequest, ctx: SimContext): TransactionResult {
  const errors: XdsError[] = [...request.warnings];
  const report = (code: XdsError['code'], context: string, location?: string, severity?: XdsError['severity']) => errors.push({ code, context, location, severity });
  const now = ctx.now();
  const submission = readSubmitObjectsRequest(child(request.payload, NS.lcm, 'SubmitObjectsRequest')!);
  const checked = checkProvideAndRegister(submission, { now, clockSkewSeconds: ctx.clockSkewSeconds, vihfPatientId: request.vihf.resourceId, knownPatients: ctx.knownPatients }, report);
  const entries = checked?.entries ?? [];
  const bytesOf = matchDocuments(entries, request.documents, report);

  for (const e of entries) {
    const bytes = bytesOf.get(e.object.id);
    if (!bytes) continue;
    const sha1 = createHash('sha1').update(bytes).digest('hex');
    if (e.hash !== undefined && e.hash !== sha1) report('XDSNonIdenticalHash', `hash ${e.hash} of ${e.uniqueId} is not the SHA-1 of the attached document (${sha1})`, e.object.id);
    if (e.size !== undefined && e.size !== bytes.length) report('XDSNonIdenticalSize', `size ${e.size} of ${e.uniqueId} is not the attached document's size (${bytes.length} bytes)`, e.object.id);
    const existing = e.uniqueId ? ctx.store.entryByUniqueId(e.uniqueId) : undefined;
    if (existing) report('XDSDuplicateUniqueIdInRegistry', `uniqueId ${e.uniqueId} is already registered as ${existing.entry_uuid} (${existing.status})`, e.object.id);
    const patient = e.patientId ? parseInsCx(e.patientId) : undefined;
    if (e.kind === 'kos' && patient && typeof patient !== 'string') errors.push(...checkKosContent(bytes, e, patient));
  }
  if (checked) {
    const existingSet = checked.set.uniqueId ? ctx.store.submissionSetByUniqueId(checked.set.uniqueId) : undefined;
    if (existingSet) report('XDSDuplicateUniqueIdInRegistry', `SubmissionSet uniqueId ${checked.set.uniqueId} was already submitted (${existingSet.entry_uuid})`, checked.set.object.id);
    checkSignature(checked, bytesOf, ctx, now, errors);
    checkReplacements(checked, ctx, report);
  }
  if (!checked || errors.some((e) => (e.severity ?? 'Error') === 'Error')) throw new XdsFailure(errors);

  try {
    ctx.store.commit(toRows(checked, bytesOf, request, ctx, now));
  } catch (err) {
    if (err instanceof DuplicateUniqueId) throw new XdsFailure([{ code: 'XDSDuplicateUniqueIdInRegistry', context: err.message, location: err.uniqueId }]);
    if (err instanceof StatusConflict) throw new XdsFailure([{ code: 'XDSRegistryMetadataError', context: `RPLC target changed meanwhile: ${err.message}` }]);
    throw err;
  }
  return { bodyXml: registryResponse(errors), errors };
}

function matchDocuments(entries: CheckedEntry[], documents: Map<string, Buffer>, report: (code: XdsError['code'], context: string, location?: string) => void): Map<string, Buffer> {
  const bytesOf = new Map<string, Buffer>();
  for (const e of entries) {
    const bytes = documents.get(e.object.id);
    if (!bytes) report('XDSMissingDocument', `DocumentEntry ${e.object.id} (${e.uniqueId}) has no ns4:Document with id="${e.object.id}"`, e.object.id);
    else bytesOf.set(e.object.id, bytes);
  }
  for (const id of documents.keys()) {
    if (!entries.some((e) => e.object.id === id)) report('XDSMissingDocumentMetadata', `ns4:Document id="${id}" has no DocumentEntry`, id);
  }
  return bytesOf;
}

function checkSignature(checked: CheckedSubmission, bytesOf: Map<string, Buffer>, ctx: SimContext, now: Date, errors: XdsError[]): void {
  const signature = checked.entries.find((e) => e.kind === 'signature');
  const bytes = signature ? bytesOf.get(signature.object.id) : undefined;
  if (!signature || !bytes) return;
  const documents = checked.entries
    .filter((e) => e.kind === 'kos' && bytesOf.has(e.object.id))
    .map((e) => ({ uniqueId: e.uniqueId, bytes: bytesOf.get(e.object.id)! }));
  errors.push(...verifySubmissionSignature(bytes, { ca: ctx.ca, now, entryId: signature.object.id, submissionSetUniqueId: checked.set.uniqueId, documents }));
}

function checkReplacements(checked: CheckedSubmission, ctx: SimContext, report: (code: XdsError['code'], context: string, location?: string) => void): void {
  for (const r of checked.replacements) {
    const target = ctx.store.entryByUuid(r.targetUuid);
    if (!target || target.status === 'Deleted') {
      report('UnresolvedReferenceException', `RPLC target ${r.targetUuid} is not an entry of the registry (use the entryUUID the DMP assigned, found by ITI-18)`, r.sourceId);
      continue;
    }
    if (target.status !== 'Approved') report('XDSRegistryMetadataError', `RPLC target ${r.targetUuid} is ${target.status}; only an Approved entry can be replaced`, r.sourceId);
    if (target.kind !== 'kos') report('XDSRegistryMetadataError', `RPLC target ${r.targetUuid} is not an IMG-KOS entry`, r.sourceId);
    if (target.patient_id !== checked.set.patientId) report('XDSPatientIdDoesNotMatch', `RPLC target ${r.targetUuid} belongs to ${target.patient_id}, not ${checked.set.patientId}`, r.sourceId);
  }
}

function toRows(checked: CheckedSubmission, bytesOf: Map<string, Buffer>, request: VerifiedRequest, ctx: SimContext, now: Date): NewSubmission {
  const at = now.toISOString();
  const ids = new Map<string, string>();
  const fresh = () => `urn:uuid:${randomUUID()}`;
  const own = (o: RimObject) => {
    ids.set(o.id, fresh());
    for (const c of o.classifications) ids.set(c.id, fresh());
    for (const x of o.externalIds) ids.set(x.id, fresh());
  };
  own(checked.set.object);
  checked.entries.forEach((e) => own(e.object));
  checked.associations.forEach(own);
  const setUuid = ids.get(checked.set.object.id)!;
  const codeOf = (c: { code: string; scheme: string }) => `${c.code}^^${c.scheme}`;
  const entries = checked.entries.map((e) => {
    const bytes = bytesOf.get(e.object.id)!;
    const added = [{ name: 'repositoryUniqueId', value: ctx.repositoryUniqueId }];
    const hash = createHash('sha1').update(bytes).digest('hex');
    if (e.hash === undefined) added.push({ name: 'hash', value: hash });
    if (e.size === undefined) added.push({ name: 'size', value: String(bytes.length) });
    return {
      bytes,
      row: {
        entry_uuid: ids.get(e.object.id)!, unique_id: e.uniqueId, kind: e.kind, patient_id: e.patientId, status: 'Approved' as const,
        mime_type: e.mimeType, type_code: codeOf(e.typeCode), class_code: codeOf(e.classCode), format_code: codeOf(e.formatCode),
        practice_code: codeOf(e.practiceSetting), facility_code: codeOf(e.facilityType),
        creation_time: e.creationTime, service_start_time: e.serviceStartTime ?? null, hash, size: bytes.length,
        confidentiality: JSON.stringify(e.confidentiality.map(codeOf)), event_codes: JSON.stringify(e.eventCodes.map(codeOf)),
        reference_ids: JSON.stringify(e.referenceIds.map((r) => `${r.id}^^^${r.authority ? `&${r.authority}&ISO` : ''}^${r.type}`)),
        submission_set_uuid: setUuid, metadata_xml: rewriteForRegistry(e.object.element, ids, added), received_at: at, updated_at: at,
      },
    };
  });
  const associations: AssociationRow[] = checked.associations.map((a) => ({
    entry_uuid: ids.get(a.id)!, type: a.associationType!, source_uuid: ids.get(a.sourceObject!) ?? a.sourceObject!, target_uuid: ids.get(a.targetObject!) ?? a.targetObject!,
    submission_set_uuid: setUuid, metadata_xml: rewriteForRegistry(a.element, ids, []), created_at: at,
  }));
  return {
    set: {
      entry_uuid: setUuid, unique_id: checked.set.uniqueId, patient_id: checked.set.patientId, source_id: checked.set.sourceId,
      transaction_name: 'ITI-41', structure_id: request.structureId, message_id: request.messageId, received_at: at,
    },
    entries,
    associations,
    statusChanges: checked.replacements.map((r) => ({ entryUuid: r.targetUuid, from: 'Approved', to: 'Deprecated' })),
  };
}

