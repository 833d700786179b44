import { ASSOCIATION, STATUS } from './codes.js';
import { dtm } from './hl7-types.js';
import { associationXml, newEntryUuid, submissionSetXml, submitObjectsRequestXml, type AuthorValue } from './metadata.js';
import { newSubmissionSetUniqueId } from './ids.js';
import type { XdsSubmissionContext } from './types.js';

/**
 * ITI-57 Update Document Set, availability status change (IHE ITI TF-2b §3.57.4.1.3.3.2): a SubmissionSet and an
 * UpdateAvailabilityStatus association from it to the entry, with OriginalStatus and NewStatus. Used to withdraw a
 * published KOS (Deprecated; the DMP also knows its own Deleted status).
 */

export type NewStatus = 'Deprecated' | 'Deleted';

export interface AvailabilityUpdateInput {
  /** entryUUID of the DocumentEntry, as the registry knows it (ITI-18). */
  entryUUID: string;
  patientId: string;
  newStatus: NewStatus;
  originalStatus?: 'Approved' | 'Deprecated';
  /** Author of the update: the radiologist behind the report, or the original author for PACS-triggered updates. */
  author: AuthorValue;
  context: XdsSubmissionContext;
  submissionSetUniqueId?: string;
  now?: Date;
}

export function availabilityUpdateXml(input: AvailabilityUpdateInput): { xml: string; submissionSetUniqueId: string } {
  const now = input.now ?? new Date();
  const ssId = newEntryUuid();
  const uniqueId = input.submissionSetUniqueId ?? newSubmissionSetUniqueId(input.context.sourceIdOid, now.getTime());
  const original = input.originalStatus === 'Deprecated' ? STATUS.deprecated : STATUS.approved;
  const target = input.newStatus === 'Deleted' ? STATUS.deleted : STATUS.deprecated;
  const xml = submitObjectsRequestXml([
    submissionSetXml({
      entryUUID: ssId,
      uniqueId,
      sourceId: input.context.sourceIdOid,
      patientId: input.patientId,
      submissionTime: dtm(now),
      author: input.author,
      contentTypeCode: input.context.contentType,
    }),
    associationXml(ASSOCIATION.updateAvailabilityStatus, ssId, input.entryUUID, [
      { name: 'OriginalStatus', values: [original] },
      { name: 'NewStatus', values: [target] },
    ]),
  ]);
  return { xml, submissionSetUniqueId: uniqueId };
}
