import { randomUUID } from 'node:crypto';
import { isOid, MetadataError } from './hl7-types.js';
import { newEntryUuid } from './metadata.js';
import type { XdsSubmissionContext } from './types.js';

/** Identifiers of one submission. Fix them when the submission is queued so that a resend is the same submission. */
export interface SubmissionIds {
  submissionSetEntryUUID: string;
  submissionSetUniqueId: string;
  kosEntryUUID: string;
  signatureEntryUUID: string;
  signatureUniqueId: string;
}

let lastStamp = 0n;

/** OID under `root` for a new SubmissionSet uniqueId: time-ordered, collision-free within the box. */
export function newSubmissionSetUniqueId(root: string, now = Date.now()): string {
  if (!isOid(root)) throw new MetadataError(`sourceId "${root}" is not an OID`);
  let stamp = BigInt(now) * 1000n;
  if (stamp <= lastStamp) stamp = lastStamp + 1n;
  lastStamp = stamp;
  const uid = `${root}.1.${stamp}`;
  if (uid.length > 64) throw new MetadataError(`sourceId "${root}" is too long to make uniqueIds under it (64 characters max)`);
  return uid;
}

/** A UUID-derived OID (ISO/IEC 9834-8, arc 2.25). */
export function uuidOid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString(10)}`;
}

export function newSubmissionIds(context: XdsSubmissionContext, now = new Date()): SubmissionIds {
  return {
    submissionSetEntryUUID: newEntryUuid(),
    submissionSetUniqueId: newSubmissionSetUniqueId(context.sourceIdOid, now.getTime()),
    kosEntryUUID: newEntryUuid(),
    signatureEntryUUID: newEntryUuid(),
    signatureUniqueId: uuidOid(),
  };
}
