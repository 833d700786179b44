import { findDomainByCertificate, findDomainByHost } from '../whitelist/lookup.js';
import type { WhitelistDomain } from '../whitelist/parse.js';
import type { AccessDecision, AccessRequest, DenyReason, PublishedKos } from './types.js';

type Deny = Extract<AccessDecision, { outcome: 'deny' }>;

const REALM = 'Bearer realm="DRIMbox"';
const PSC_RETRY_SECONDS = 5;

function deny(status: Deny['status'], reason: DenyReason, message: string, extra: Partial<Deny> = {}): Deny {
  return { outcome: 'deny', status, reason, message, ...extra };
}

/**
 * The access decision for an image request: nothing is served unless the caller is within its rate, is an
 * accepted box, carries an active PSC access token, and asks for what a KOS this box published references.
 * Checks run cheapest first; the first failure decides. Pure: every lookup is done by the caller.
 */
export function decide(request: AccessRequest): AccessDecision {
  const rate = checkRate(request);
  if (rate) return rate;
  const caller = checkCaller(request);
  if (caller.outcome === 'deny') return caller;
  const token = checkToken(request);
  if (token.outcome === 'deny') return token;
  const resource = checkResource(request);
  if (resource.outcome === 'deny') return resource;
  return {
    outcome: 'allow',
    subjectNameId: token.subjectNameId,
    sub: token.sub,
    kosSopInstanceUid: resource.kos[0]!.sopInstanceUid,
    coverage: coverageOf(resource.kos),
    ...(caller.domain ? { callerDomain: caller.domain } : {}),
  };
}

/** The checks that need no PSC call: run them first so that refused callers never cost an introspection. */
export function precheck(request: Pick<AccessRequest, 'rateLimit' | 'caller' | 'policy' | 'whitelist'>): Deny | undefined {
  const rate = checkRate(request);
  if (rate) return rate;
  const caller = checkCaller(request);
  return caller.outcome === 'deny' ? caller : undefined;
}

function checkRate(request: Pick<AccessRequest, 'rateLimit'>): Deny | undefined {
  if (request.rateLimit.allowed) return undefined;
  return deny(429, 'rate-limited', 'too many requests from this caller', { retryAfterSeconds: request.rateLimit.retryAfterSeconds });
}

function checkCaller(
  request: Pick<AccessRequest, 'caller' | 'policy' | 'whitelist'>,
): Deny | { outcome: 'ok'; domain?: WhitelistDomain } {
  const { caller, policy, whitelist } = request;
  if (policy.requireClientCertificate && !caller.certificateSubject) {
    return deny(403, 'client-certificate-required', 'mutual TLS is required and no client certificate was presented');
  }
  // A presented certificate must be a whitelisted operator's, even where whitelisting is not required.
  if (!caller.certificateSubject && !policy.requireWhitelisted) return { outcome: 'ok' };
  if (!whitelist) {
    return deny(503, 'whitelist-unavailable', 'no verified DRIM-M whitelist is available to check the caller', { retryAfterSeconds: 60 });
  }
  const domain = caller.certificateSubject
    ? findDomainByCertificate(whitelist, caller.certificateSubject)
    : caller.host
      ? findDomainByHost(whitelist, caller.host)
      : undefined;
  if (!domain) {
    const who = caller.certificateSubject ? 'client certificate subject' : caller.host ? `host ${caller.host}` : 'unidentified caller';
    return deny(403, 'caller-not-whitelisted', `${who} is not in the DRIM-M whitelist`);
  }
  return { outcome: 'ok', domain };
}

function checkToken(request: Pick<AccessRequest, 'token' | 'nowMs'>): Deny | { outcome: 'ok'; subjectNameId: string; sub: string } {
  const { token } = request;
  if (!token) return deny(401, 'token-missing', 'no bearer token', { wwwAuthenticate: REALM });
  switch (token.state) {
    case 'unavailable':
      return deny(503, 'psc-unavailable', `token could not be checked: ${token.reason}`, { retryAfterSeconds: PSC_RETRY_SECONDS });
    case 'unauthenticated': {
      const expired = token.reason === 'expired';
      return deny(401, expired ? 'token-expired' : 'token-invalid', `bearer token refused by PSC introspection (${token.reason})`, {
        wwwAuthenticate: `${REALM}, error="invalid_token"`,
      });
    }
    case 'active':
      // The introspection answer may come from a cache: the token's own expiry still applies.
      if (token.exp * 1000 <= request.nowMs) {
        return deny(401, 'token-expired', 'bearer token expired', { wwwAuthenticate: `${REALM}, error="invalid_token"` });
      }
      return { outcome: 'ok', subjectNameId: token.subjectNameId, sub: token.sub };
  }
}

function checkResource(
  request: Pick<AccessRequest, 'resource' | 'kosSopInstanceUid' | 'publishedKos'>,
): Deny | { outcome: 'ok'; kos: PublishedKos[] } {
  const { resource, kosSopInstanceUid } = request;
  const study = resource.studyInstanceUid;
  let kos = request.publishedKos.filter((k) => k.active && k.studyInstanceUid === study);
  if (kos.length === 0) return deny(403, 'study-not-published', `study ${study} is not covered by a KOS this box published`);
  // Whoever asks must show the manifest it found the study through, as the DMP gave it (ci-sis-imaging.md §3.2).
  if (kosSopInstanceUid === undefined) {
    return deny(403, 'kos-required', 'KOS-SOPInstanceUID missing: send the SOP Instance UID of the manifest the study was found through (header, or the kos parameter of the viewer link)');
  }
  kos = kos.filter((k) => k.sopInstanceUid === kosSopInstanceUid);
  if (kos.length === 0) return deny(403, 'kos-mismatch', `KOS-SOPInstanceUID ${kosSopInstanceUid} is not a published KOS of study ${study}`);
  const series = resource.seriesInstanceUid;
  if (series !== undefined) {
    kos = kos.filter((k) => k.series.has(series));
    if (kos.length === 0) return deny(403, 'series-not-covered', `series ${series} is not referenced by the KOS`);
  }
  const sop = resource.sopInstanceUid;
  if (sop !== undefined) {
    kos = kos.filter((k) => (series !== undefined ? k.series.get(series)?.has(sop) : [...k.series.values()].some((s) => s.has(sop))));
    if (kos.length === 0) return deny(403, 'instance-not-covered', `instance ${sop} is not referenced by the KOS`);
  }
  return { outcome: 'ok', kos };
}

function coverageOf(kos: readonly PublishedKos[]): ReadonlyMap<string, ReadonlySet<string>> {
  if (kos.length === 1) return kos[0]!.series;
  const union = new Map<string, Set<string>>();
  for (const k of kos) {
    for (const [series, instances] of k.series) {
      const set = union.get(series) ?? new Set<string>();
      for (const i of instances) set.add(i);
      union.set(series, set);
    }
  }
  return union;
}
