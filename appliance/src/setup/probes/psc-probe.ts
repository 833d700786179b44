import { clockSkewSeconds, httpStatusDetail, parseHttpUrl, probeGet, type NetworkFailureKind, type ProbeOutcome } from './outcome.js';

export type PscReason = 'invalid-url' | 'unreachable' | 'tls-untrusted' | 'tls-failed' | 'timeout' | 'http-status' | 'invalid-document' | 'issuer-mismatch';

export interface PscFacts {
  discoveryUrl: string;
  httpStatus: number;
  /** The issuer the document names (on issuer-mismatch: the value to type instead). */
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  userinfoEndpoint: string;
  jwksUri: string;
  /** RFC 7662 introspection, which the box uses to check access tokens; absent when the provider does not announce it. */
  introspectionEndpoint?: string;
  /** The provider's clock minus the box's, from the HTTP Date header. */
  clockSkewSeconds?: number;
  elapsedMs: number;
}

const MAX_BODY_BYTES = 256 * 1024;
const FAILURES: Record<NetworkFailureKind, PscReason> = { unreachable: 'unreachable', timeout: 'timeout', 'tls-untrusted': 'tls-untrusted', 'tls-alert': 'tls-failed', 'tls-failed': 'tls-failed', 'not-http': 'invalid-document' };
export const MAX_CLOCK_SKEW_SECONDS = 120;

const REQUIRED = [
  ['authorization_endpoint', 'authorizationEndpoint'],
  ['token_endpoint', 'tokenEndpoint'],
  ['userinfo_endpoint', 'userinfoEndpoint'],
  ['jwks_uri', 'jwksUri'],
] as const;

/** OpenID Connect Discovery 1.0 §4 against the issuer typed in the wizard. */
export async function pscDiscovery(issuer: string, options: { timeoutMs: number }): Promise<ProbeOutcome<PscReason, PscFacts>> {
  const base = parseHttpUrl(issuer);
  if (!base || base.search || base.username) return { ok: false, reason: 'invalid-url', detail: `"${issuer.slice(0, 200)}" is not an http(s) issuer URL (no query, fragment or credentials)` };
  // §4.1: "/.well-known/openid-configuration" appended to the issuer, its trailing "/" removed first.
  const url = new URL(`${issuer.trim().replace(/\/+$/, '')}/.well-known/openid-configuration`);
  const discoveryUrl = url.toString();
  const got = await probeGet(url, discoveryUrl, { timeoutMs: options.timeoutMs, maxBytes: MAX_BODY_BYTES, headers: { accept: 'application/json' } });
  if (!got.ok) return { ok: false, reason: FAILURES[got.kind], detail: got.detail, facts: { discoveryUrl, elapsedMs: got.elapsedMs } };
  const { answer } = got;
  const skew = clockSkewSeconds(answer.headers.date, answer.receivedAt);
  const facts: Partial<PscFacts> = { discoveryUrl, httpStatus: answer.status, elapsedMs: got.elapsedMs, ...(skew !== undefined ? { clockSkewSeconds: skew } : {}) };
  if (answer.status !== 200) return { ok: false, reason: 'http-status', detail: httpStatusDetail(discoveryUrl, answer), facts };
  const invalid = (why: string): ProbeOutcome<PscReason, PscFacts> => ({ ok: false, reason: 'invalid-document', detail: `GET ${discoveryUrl}: ${why}`, facts });
  if (answer.truncated) return invalid(`document larger than ${MAX_BODY_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(answer.body.toString('utf8'));
  } catch {
    return invalid(`not JSON (Content-Type "${String(answer.headers['content-type'] ?? '')}")`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return invalid('JSON, but not an object');
  const d = doc as Record<string, unknown>;
  if (typeof d.issuer !== 'string' || !d.issuer) return invalid('no "issuer"');
  facts.issuer = d.issuer;
  // §4.3: the issuer in the document MUST be identical to the one the discovery URL was made from.
  if (d.issuer !== issuer.trim()) return { ok: false, reason: 'issuer-mismatch', detail: `the document's issuer is "${d.issuer}", the URL typed is "${issuer.trim()}"`, facts };
  const missing: string[] = [];
  for (const [key, fact] of REQUIRED) {
    const value = d[key];
    if (typeof value === 'string' && parseHttpUrl(value)) facts[fact] = value;
    else missing.push(key);
  }
  if (missing.length) return invalid(`missing or not a URL: ${missing.join(', ')}`);
  if (typeof d.introspection_endpoint === 'string' && parseHttpUrl(d.introspection_endpoint)) facts.introspectionEndpoint = d.introspection_endpoint;
  const warnings: { reason: string; detail: string }[] = [];
  if (!facts.introspectionEndpoint) warnings.push({ reason: 'no-introspection', detail: 'the document announces no introspection_endpoint (RFC 7662)' });
  if (skew !== undefined && Math.abs(skew) > MAX_CLOCK_SKEW_SECONDS) {
    warnings.push({ reason: 'clock-skew', detail: `the provider's clock differs from the box's by ${skew} s (Date: ${answer.headers.date})` });
  }
  return { ok: true, facts: facts as PscFacts, ...(warnings.length ? { warnings } : {}) };
}
