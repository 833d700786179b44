/** How the box reaches Pro Santé Connect (ci-sis-imaging.md §6). */
export interface PscSettings {
  /** Issuer identifier, e.g. https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet (sandbox). */
  issuer: string;
  /** The operator's Client_ID at PSC (one per DRIMbox operator). */
  clientId: string;
  clientSecret: string;
  /** Budget of one HTTP call to PSC. */
  timeoutMs: number;
  /** How the client authenticates at the token and introspection endpoints. */
  clientAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Fetch used for every PSC call: inject one with a TLS client certificate for the Ségur mTLS setup. */
  fetch?: typeof fetch;
}

/** PSC authorization request values (ci-sis-imaging.md §6 "Authorization request"). */
export const PSC_SCOPE = 'openid scope_all';
export const PSC_ACR = 'eidas1';

/** What the box keeps between the redirect to PSC and the callback (server-side, never in the browser). */
export interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  redirectUri: string;
}

export interface PscTokens {
  accessToken: string;
  idToken: string;
  refreshToken?: string;
  /** Epoch seconds. */
  expiresAt: number;
  /** The ID token's subject (PSC technical id). */
  sub: string;
  acr: string;
}

/**
 * Result of checking a bearer token at PSC.
 * - active: PSC says the access token is valid now; `subjectNameId` identifies the professional.
 * - unauthenticated: the token is not (or no longer) good: the caller gets 401.
 * - unavailable: PSC could not answer: the caller gets 503, never access.
 */
export type IntrospectionOutcome =
  | {
      state: 'active';
      subjectNameId: string;
      sub: string;
      clientId?: string;
      scope: readonly string[];
      /** Epoch seconds. */
      exp: number;
      iat?: number;
    }
  | { state: 'unauthenticated'; reason: UnauthenticatedReason }
  | { state: 'unavailable'; reason: string };

export type UnauthenticatedReason =
  | 'malformed-token'
  | 'inactive'
  | 'expired'
  | 'wrong-issuer'
  | 'not-an-access-token'
  | 'malformed-response'
  /** PSC answered the introspection with an OAuth error. */
  | 'refused-by-psc';
