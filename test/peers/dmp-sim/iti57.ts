import { randomUUID } from 'node:crypto';
import { ASSOCIATION, ENTRY_STATUS, statusFromUrn, type EntryStatus } from './codes.js';
import { readSubmitObjectsRequest, slotValues, type RimObject } from './ebrim.js';
import { XdsFailure, registryResponse, type XdsError } from './errors.js';
import { rewriteForRegistry } from './registry-xml.js';
import { DuplicateUniqueId, StatusConflict, type NewSubmission } from './store.js';
import { checkSubmissionSet } from './submission-rules.js';
import type { SimContext, TransactionResult, VerifiedRequest } from './transaction.js';

/** Status changes the DMP allows through ITI-57 UpdateAvailabilityStatus. */
const ALLOWED: Record<EntryStatus, EntryStatus[]> = {
  Approved: ['Deprecated', 'Deleted'],
  Deprecated: ['Approved', 'Deleted'],
  Deleted: [],
};

/**
 * ITI-57 Update Document Set, restricted to what a DRIMbox sends: a SubmissionSet and
 * UpdateAvailabilityStatus associations (deprecation, or the DMP's deletion status).
 */
export function updateDocumentSet(request: VerifiedRequest, ctx: SimContext): TransactionResult {
  const errors: XdsError[] = [...request.warnings];
  const report = (code: XdsError['code'], context: string, location?: string, severity?: XdsError['severity']) => errors.push({ code, context, location, severity });
  const now = ctx.now();
  const submission = readSubmitObjectsRequest(request.payload);
  for (const p of submission.problems) report('XDSRegistryMetadataError', p.context, p.location);
  const set = checkSubmissionSet(submission, { now, clockSkewSeconds: ctx.clockSkewSeconds, vihfPatientId: request.vihf.resourceId, knownPatients: ctx.knownPatients }, report);
  for (const o of submission.objects.filter((x) => x.kind === 'ExtrinsicObject' || x.kind === 'ObjectRef')) {
    report('XDSMetadataUpdateOperationError', `${o.kind} ${o.id}: only availability-status updates are supported (no new DocumentEntry version)`, o.id);
  }
  const updates: { association: RimObject; target: string; from: EntryStatus; to: EntryStatus }[] = [];
  const associations = submission.objects.filter((x) => x.kind === 'Association');
  for (const a of associations) {
    if (a.associationType === ASSOCIATION.hasMember && associations.some((b) => b.id === a.targetObject) && a.sourceObject === set?.object.id) continue;
    if (a.associationType !== ASSOCIATION.updateAvailabilityStatus) {
      report('XDSMetadataUpdateOperationError', `association type "${a.associationType}" is not an availability-status update`, a.id);
      continue;
    }
    const update = checkUpdate(a, set?.object.id, set?.patientId, ctx, report);
    if (update) updates.push(update);
  }
  if (updates.length === 0) report('XDSMetadataUpdateOperationError', `no ${ASSOCIATION.updateAvailabilityStatus} association in the request`);
  if (set?.uniqueId && ctx.store.submissionSetByUniqueId(set.uniqueId)) report('XDSDuplicateUniqueIdInRegistry', `SubmissionSet uniqueId ${set.uniqueId} was already submitted`, set.object.id);
  if (!set || errors.some((e) => (e.severity ?? 'Error') === 'Error')) throw new XdsFailure(errors);

  const at = now.toISOString();
  const setUuid = `urn:uuid:${randomUUID()}`;
  const ids = new Map<string, string>([[set.object.id, setUuid]]);
  for (const a of associations) ids.set(a.id, `urn:uuid:${randomUUID()}`);
  const rows: NewSubmission = {
    set: { entry_uuid: setUuid, unique_id: set.uniqueId, patient_id: set.patientId, source_id: set.sourceId, transaction_name: 'ITI-57', structure_id: request.structureId, message_id: request.messageId, received_at: at },
    entries: [],
    associations: updates.map((u) => ({
      entry_uuid: ids.get(u.association.id)!, type: ASSOCIATION.updateAvailabilityStatus, source_uuid: setUuid, target_uuid: u.target,
      submission_set_uuid: setUuid, metadata_xml: rewriteForRegistry(u.association.element, ids, []), created_at: at,
    })),
    statusChanges: updates.map((u) => ({ entryUuid: u.target, from: u.from, to: u.to })),
  };
  try {
    ctx.store.commit(rows);
  } catch (err) {
    if (err instanceof DuplicateUniqueId) throw new XdsFailure([{ code: 'XDSDuplicateUniqueIdInRegistry', context: err.message }]);
    if (err instanceof StatusConflict) throw new XdsFailure([{ code: 'XDSMetadataUpdateError', context: err.message }]);
    throw err;
  }
  return { bodyXml: registryResponse(errors), errors };
}

function checkUpdate(
  a: RimObject,
  setId: string | undefined,
  patientId: string | undefined,
  ctx: SimContext,
  report: (code: XdsError['code'], context: string, location?: string) => void,
): { association: RimObject; target: string; from: EntryStatus; to: EntryStatus } | undefined {
  if (a.sourceObject !== setId) report('XDSMetadataUpdateError', `UpdateAvailabilityStatus ${a.id} must have the SubmissionSet as sourceObject`, a.id);
  const target = a.targetObject ?? '';
  const entry = ctx.store.entryByUuid(target);
  if (!entry || entry.status === 'Deleted') {
    report('UnresolvedReferenceException', `UpdateAvailabilityStatus target "${target}" is not an entryUUID of the registry`, a.id);
    return undefined;
  }
  const original = slotValues(a, 'OriginalStatus');
  const next = slotValues(a, 'NewStatus');
  const from = original?.length === 1 ? statusFromUrn(original[0]!) : undefined;
  const to = next?.length === 1 ? statusFromUrn(next[0]!) : undefined;
  const known = Object.values(ENTRY_STATUS).join(', ');
  if (!from) report('XDSMetadataUpdateError', `Slot OriginalStatus must be one of ${known}`, a.id);
  if (!to) report('XDSMetadataUpdateError', `Slot NewStatus must be one of ${known}`, a.id);
  if (from && from !== entry.status) report('XDSMetadataUpdateError', `OriginalStatus ${ENTRY_STATUS[from]} does not match the entry's current status ${ENTRY_STATUS[entry.status]}`, a.id);
  if (from && to && !ALLOWED[entry.status].includes(to)) report('XDSMetadataUpdateError', `status change ${entry.status} → ${to} is not allowed`, a.id);
  if (patientId && entry.patient_id !== patientId) report('XDSPatientIdDoesNotMatch', `entry ${target} belongs to ${entry.patient_id}, not to the SubmissionSet patient ${patientId}`, a.id);
  return from && to ? { association: a, target, from, to } : undefined;
}
