import type { Coverage } from './response.js';

/**
 * What a DICOMweb request asks for and what the access check decides: the contract between the routes (http/) and
 * the flows that decide (source/, consumer/), kept here so that neither reaches into the other.
 */

export type DicomwebAction = 'search' | 'retrieve' | 'metadata' | 'frames' | 'bulk';

/** What a request asks for, as the access check needs it. */
export interface DicomwebResource {
  action: DicomwebAction;
  level: 'study' | 'series' | 'instance';
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  sopInstanceUid?: string;
  /** The KOS-SOPInstanceUID header (ci-sis-imaging.md §3.2), when sent. */
  kosSopInstanceUid?: string;
}

/**
 * The access check's verdict. Shaped so that auth/access `decide()`'s result can be returned as is: extra fields
 * are ignored, and these are the ones the routes use.
 */
export type AccessDecision =
  | {
      outcome: 'allow';
      /** Pro Santé Connect SubjectNameID (RPPS-based national id) of the professional. */
      subjectNameId?: string;
      rpps?: string;
      /** The whitelisted box the call came through. */
      callerDomain?: { identifiant?: string; db?: string };
      /** The KOS that grants access. */
      kosSopInstanceUid?: string;
      /** What the granting KOS references: the answer is narrowed to it. */
      coverage?: Coverage;
      /** For searches with no study in the path: which studies may be disclosed (absent: all). */
      mayDisclose?: (studyInstanceUid: string) => boolean;
    }
  | {
      outcome: 'deny';
      status: 401 | 403 | 429 | 503;
      /** A short code (token-expired, study-not-published…), for the audit trail. */
      reason: string;
      /** Words for the audit trail and the log; the response body stays generic. */
      message?: string;
      subjectNameId?: string;
      /** WWW-Authenticate value for a 401 (RFC 6750 §3), e.g. `Bearer error="invalid_token"`. */
      wwwAuthenticate?: string;
      retryAfterSeconds?: number;
    };
