import type { IntrospectionOutcome } from '../psc/types.js';
import type { DistinguishedName } from '../whitelist/dn.js';
import type { Whitelist, WhitelistDomain } from '../whitelist/parse.js';
import type { RateDecision } from './rate-limit.js';

/** What a DICOMweb request asks for (WADO-RS path; series and instance are absent at study level). */
export interface RequestedResource {
  studyInstanceUid: string;
  seriesInstanceUid?: string;
  sopInstanceUid?: string;
}

/** A KOS this box published, as the local archive knows it. */
export interface PublishedKos {
  sopInstanceUid: string;
  studyInstanceUid: string;
  /** False once withdrawn, replaced or deleted: it no longer opens access. */
  active: boolean;
  /** Series Instance UID → SOP Instance UIDs the KOS references. */
  series: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface CallerIdentity {
  /** Subject of the TLS client certificate, when mutual TLS authenticated the peer. */
  certificateSubject?: DistinguishedName;
  /** Host name the calling box was identified as. */
  host?: string;
}

export interface CallerPolicy {
  /** Mutual TLS is on: every caller must present a client certificate. */
  requireClientCertificate: boolean;
  /** Every caller must be a DRIMbox of the ANS whitelist (by certificate DN, else by host). */
  requireWhitelisted: boolean;
}

export interface AccessRequest {
  nowMs: number;
  /** The caller's rate-limit bucket, taken before anything costly. */
  rateLimit: RateDecision;
  caller: CallerIdentity;
  policy: CallerPolicy;
  /** The whitelist in force; undefined if none ever verified. */
  whitelist: Whitelist | undefined;
  /** PSC's verdict on the bearer token; undefined when the request carried none. */
  token: IntrospectionOutcome | undefined;
  resource: RequestedResource;
  /** KOS-SOPInstanceUID request header (ci-sis-imaging.md §3.2), when present. */
  kosSopInstanceUid?: string;
  /** Every KOS of the archive for the requested study (any state). */
  publishedKos: readonly PublishedKos[];
}

export type DenyReason =
  | 'rate-limited'
  | 'client-certificate-required'
  | 'caller-not-whitelisted'
  | 'whitelist-unavailable'
  | 'token-missing'
  | 'token-invalid'
  | 'token-expired'
  | 'psc-unavailable'
  | 'study-not-published'
  | 'kos-mismatch'
  /** No KOS-SOPInstanceUID: the caller did not show the manifest it found the study through. */
  | 'kos-required'
  /** A study search without a StudyInstanceUID: the box never lists what it published. */
  | 'search-needs-study'
  | 'series-not-covered'
  | 'instance-not-covered';

export type AccessDecision =
  | {
      outcome: 'allow';
      /** Who: the professional's national id (audit). */
      subjectNameId: string;
      sub: string;
      /** The KOS that grants access (the header's, or the first covering one). */
      kosSopInstanceUid: string;
      /** What may be served: the series and instances the granting KOS reference (study-level requests
       * must be restricted to these). */
      coverage: ReadonlyMap<string, ReadonlySet<string>>;
      /** The whitelisted calling box, when it was identified. */
      callerDomain?: WhitelistDomain;
    }
  | {
      outcome: 'deny';
      status: 401 | 403 | 429 | 503;
      reason: DenyReason;
      /** Short English text for logs and the audit trail; response bodies stay generic. */
      message: string;
      /** For 401 (RFC 6750 §3). */
      wwwAuthenticate?: string;
      /** For 429 and 503. */
      retryAfterSeconds?: number;
    };
