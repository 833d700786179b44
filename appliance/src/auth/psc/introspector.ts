import { createHash } from 'node:crypto';
import type { Logger } from '../../log/logger.js';
import { ExpiringCache } from './expiring-cache.js';
import type { IntrospectionOutcome, UnauthenticatedReason } from './types.js';

/** The RFC 7662 call, e.g. `PscClient.introspect`. */
export type IntrospectFn = (token: string) => Promise<Record<string, unknown>>;

export interface IntrospectorOptions {
  introspect: IntrospectFn;
  /** The configured PSC issuer: an answer naming another issuer is refused. */
  issuer: string;
  /** Cached tokens (default 10,000). */
  maxEntries?: number;
  /**
   * How long an "active" answer is believed without asking PSC again (default 60 s, never past the token's exp):
   * a token revoked at PSC stops opening images within this bound.
   */
  positiveTtlMs?: number;
  /** How long a "not active" answer or an OAuth error is remembered, so a flood of bad tokens does not reach PSC (default 60 s). */
  negativeTtlMs?: number;
  nowMs?: () => number;
  log?: Logger;
}

export interface TokenIntrospector {
  /** Checks a bearer token: PSC introspection, answered from a cache whose entries live at most positiveTtlMs. */
  check(token: string): Promise<IntrospectionOutcome>;
}

// RFC 6750 §2.1 b64token; PSC tokens are JWTs of a few kB.
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 8192;

export function createTokenIntrospector(options: IntrospectorOptions): TokenIntrospector {
  const nowMs = options.nowMs ?? Date.now;
  const cache = new ExpiringCache<IntrospectionOutcome>(options.maxEntries ?? 10_000, nowMs);
  const negativeTtlMs = options.negativeTtlMs ?? 60_000;
  const positiveTtlMs = options.positiveTtlMs ?? 60_000;
  const inFlight = new Map<string, Promise<IntrospectionOutcome>>();

  async function ask(token: string, key: string): Promise<IntrospectionOutcome> {
    let answer: Record<string, unknown>;
    try {
      answer = await options.introspect(token);
    } catch (err) {
      // An OAuth error answer (4xx with an error code) is PSC's word: a refusal, not an outage.
      if ((err as { failure?: unknown }).failure === 'refused') {
        options.log?.warn('PSC refused the token introspection', { issuer: options.issuer, error: err });
        const refused: IntrospectionOutcome = { state: 'unauthenticated', reason: 'refused-by-psc' };
        cache.set(key, refused, nowMs() + negativeTtlMs);
        return refused;
      }
      options.log?.warn('PSC token introspection failed', { issuer: options.issuer, error: err });
      return { state: 'unavailable', reason: 'Pro Santé Connect unreachable or failing' };
    }
    const outcome = interpret(answer, options.issuer, nowMs());
    if (outcome.state === 'active') cache.set(key, outcome, Math.min(outcome.exp * 1000, nowMs() + positiveTtlMs));
    else if (outcome.state === 'unauthenticated') cache.set(key, outcome, nowMs() + negativeTtlMs);
    return outcome;
  }

  return {
    async check(token) {
      if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || !BEARER_TOKEN.test(token)) {
        return { state: 'unauthenticated', reason: 'malformed-token' };
      }
      // Keyed by a digest: the cache never holds usable tokens.
      const key = createHash('sha256').update(token).digest('base64url');
      const cached = cache.get(key);
      if (cached) return cached;
      const pending = inFlight.get(key);
      if (pending) return pending;
      const asking = ask(token, key).finally(() => inFlight.delete(key));
      inFlight.set(key, asking);
      return asking;
    },
  };
}

/** Turns an introspection answer into a decision input; anything doubtful is not active. */
export function interpret(answer: Record<string, unknown>, issuer: string, nowMs: number): IntrospectionOutcome {
  const no = (reason: UnauthenticatedReason): IntrospectionOutcome => ({ state: 'unauthenticated', reason });
  if (typeof answer.active !== 'boolean') return no('malformed-response');
  if (!answer.active) return no('inactive');
  if (answer.iss !== undefined && answer.iss !== issuer) return no('wrong-issuer');
  const { exp, iat, sub, SubjectNameID, scope, client_id } = answer;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return no('malformed-response');
  if (exp * 1000 <= nowMs) return no('expired');
  // Keycloak (PSC) says `typ`, RFC 7662 says `token_type`; a refresh or ID token is not a bearer credential.
  const type = answer.token_type ?? answer.typ;
  if (type !== undefined && String(type).toLowerCase() !== 'bearer') return no('not-an-access-token');
  // PSC returns SubjectNameID only for access tokens (ci-sis-imaging.md §6).
  if (typeof SubjectNameID !== 'string' || SubjectNameID.length === 0) return no('not-an-access-token');
  if (typeof sub !== 'string' || sub.length === 0) return no('malformed-response');
  return {
    state: 'active',
    subjectNameId: SubjectNameID,
    sub,
    clientId: typeof client_id === 'string' ? client_id : undefined,
    scope: typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [],
    exp,
    iat: typeof iat === 'number' ? iat : undefined,
  };
}
