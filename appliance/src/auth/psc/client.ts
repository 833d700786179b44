import * as oidc from 'openid-client';
import { PSC_ACR, PSC_SCOPE, type PendingLogin, type PscSettings, type PscTokens } from './types.js';
import { parsePscUserInfo, type PscUserInfo } from './userinfo.js';

/** Why a PSC call failed: `unreachable` (network, timeout, 5xx) or `refused` (PSC answered no) or `protocol`. */
export type PscFailure = 'unreachable' | 'refused' | 'protocol';

export class PscError extends Error {
  constructor(
    message: string,
    readonly failure: PscFailure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PscError';
  }
}

export interface PscClient {
  readonly issuer: string;
  /** Authorization request (code + PKCE S256, scope "openid scope_all", acr_values eidas1, state, nonce). */
  startLogin(redirectUri: string): Promise<{ url: URL; pending: PendingLogin }>;
  /** Callback: checks state, exchanges the code with the PKCE verifier, checks the ID token (nonce, acr). */
  finishLogin(callbackParams: URLSearchParams, pending: PendingLogin): Promise<PscTokens>;
  /** Refresh grant: new tokens for the same professional (the ID token, when PSC sends one, must name `expectedSub`). */
  refresh(refreshToken: string, expectedSub: string): Promise<PscTokens>;
  userInfo(accessToken: string, expectedSub: string): Promise<PscUserInfo>;
  /** Raw RFC 7662 answer; use a TokenIntrospector for decisions. */
  introspect(token: string): Promise<oidc.IntrospectionResponse>;
  logoutUrl(idTokenHint: string, postLogoutRedirectUri?: string): Promise<URL>;
}

/** Plain HTTP is only allowed for a simulator on loopback; PSC itself is HTTPS. */
function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === '[::1]' || url.hostname === 'localhost');
}

export function createPscClient(settings: PscSettings): PscClient {
  const issuerUrl = new URL(settings.issuer);
  const insecure = isLoopbackHttp(issuerUrl);
  if (issuerUrl.protocol !== 'https:' && !insecure) {
    throw new PscError(`PSC issuer ${settings.issuer} must be https:// (plain http only for a simulator on 127.0.0.1)`, 'protocol');
  }
  const auth =
    settings.clientAuthMethod === 'client_secret_post'
      ? oidc.ClientSecretPost(settings.clientSecret)
      : oidc.ClientSecretBasic(settings.clientSecret);
  const injectedFetch = settings.fetch;
  const customFetch: oidc.CustomFetch | undefined = injectedFetch
    ? (url, init) => injectedFetch(url, init as RequestInit)
    : undefined;
  let discovered: Promise<oidc.Configuration> | undefined;

  // Discovery once, retried on the next call when PSC was unreachable.
  function configuration(): Promise<oidc.Configuration> {
    discovered ??= oidc
      .discovery(issuerUrl, settings.clientId, { client_secret: settings.clientSecret }, auth, {
        execute: insecure ? [oidc.allowInsecureRequests] : [],
        timeout: Math.max(1, Math.ceil(settings.timeoutMs / 1000)),
        ...(customFetch ? { [oidc.customFetch]: customFetch } : {}),
      })
      .catch((err: unknown) => {
        discovered = undefined;
        throw pscError(`discovery at ${settings.issuer}`, err);
      });
    return discovered;
  }

  return {
    issuer: settings.issuer,

    async startLogin(redirectUri) {
      const config = await configuration();
      const pending: PendingLogin = {
        state: oidc.randomState(),
        nonce: oidc.randomNonce(),
        codeVerifier: oidc.randomPKCECodeVerifier(),
        redirectUri,
      };
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: PSC_SCOPE,
        acr_values: PSC_ACR,
        state: pending.state,
        nonce: pending.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier),
        code_challenge_method: 'S256',
      });
      return { url, pending };
    },

    async finishLogin(callbackParams, pending) {
      const config = await configuration();
      // The redirect_uri sent to the token endpoint must be the one of the authorization request,
      // whatever URL the callback reached the box on (reverse proxy, port mapping).
      const current = new URL(pending.redirectUri);
      for (const [k, v] of callbackParams) current.searchParams.append(k, v);
      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        tokens = await oidc.authorizationCodeGrant(config, current, {
          pkceCodeVerifier: pending.codeVerifier,
          expectedState: pending.state,
          expectedNonce: pending.nonce,
          idTokenExpected: true,
        });
      } catch (err) {
        throw pscError('code exchange', err);
      }
      const claims = tokens.claims();
      if (!claims || !tokens.id_token) throw new PscError('PSC returned no ID token', 'protocol');
      if (claims.acr !== PSC_ACR) {
        throw new PscError(`PSC authentication level is "${String(claims.acr)}", ${PSC_ACR} is required`, 'refused');
      }
      const expiresIn = tokens.expiresIn();
      return {
        accessToken: tokens.access_token,
        idToken: tokens.id_token,
        refreshToken: tokens.refresh_token,
        expiresAt: Math.floor(Date.now() / 1000) + (expiresIn ?? 0),
        sub: claims.sub,
        acr: claims.acr,
      };
    },

    async refresh(refreshToken, expectedSub) {
      const config = await configuration();
      let tokens: Awaited<ReturnType<typeof oidc.refreshTokenGrant>>;
      try {
        tokens = await oidc.refreshTokenGrant(config, refreshToken);
      } catch (err) {
        throw pscError('refresh', err);
      }
      const claims = tokens.claims();
      if (claims && claims.sub !== expectedSub) throw new PscError('PSC refreshed the tokens of another professional', 'protocol');
      const expiresIn = tokens.expiresIn();
      return {
        accessToken: tokens.access_token,
        idToken: tokens.id_token ?? '',
        ...(tokens.refresh_token ? { refreshToken: tokens.refresh_token } : {}),
        expiresAt: Math.floor(Date.now() / 1000) + (expiresIn ?? 0),
        sub: claims?.sub ?? expectedSub,
        acr: typeof claims?.acr === 'string' ? claims.acr : PSC_ACR,
      };
    },

    async userInfo(accessToken, expectedSub) {
      const config = await configuration();
      let raw: unknown;
      try {
        raw = await oidc.fetchUserInfo(config, accessToken, expectedSub);
      } catch (err) {
        throw pscError('userinfo', err);
      }
      try {
        return parsePscUserInfo(raw);
      } catch (err) {
        throw new PscError((err as Error).message, 'protocol');
      }
    },

    async introspect(token) {
      const config = await configuration();
      try {
        return await oidc.tokenIntrospection(config, token, { token_type_hint: 'access_token' });
      } catch (err) {
        throw pscError('token introspection', err);
      }
    },

    async logoutUrl(idTokenHint, postLogoutRedirectUri) {
      const config = await configuration();
      const params: Record<string, string> = { id_token_hint: idTokenHint };
      if (postLogoutRedirectUri) params.post_logout_redirect_uri = postLogoutRedirectUri;
      return oidc.buildEndSessionUrl(config, params);
    },
  };
}

function pscError(what: string, err: unknown): PscError {
  if (err instanceof PscError) return err;
  const failure = classify(err);
  let detail = err instanceof Error ? err.message : String(err);
  if (err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError) {
    detail = `${err.error}${err.error_description ? ` (${err.error_description})` : ''}`;
  } else if (err instanceof Error && err.cause instanceof Error) {
    detail = `${detail}: ${err.cause.message}`;
  }
  const hint = failure === 'unreachable' ? ' (check the network path to PSC and its status)' : '';
  return new PscError(`Pro Santé Connect ${what} failed: ${detail}${hint}`, failure, { cause: err });
}

function classify(err: unknown): PscFailure {
  if (err instanceof oidc.ResponseBodyError || err instanceof oidc.WWWAuthenticateChallengeError) {
    return err.status >= 500 ? 'unreachable' : 'refused';
  }
  if (err instanceof oidc.AuthorizationResponseError) return 'refused';
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e.name === 'AbortError' || e.name === 'TimeoutError') return 'unreachable';
    if (e instanceof TypeError && /fetch failed/i.test(e.message)) return 'unreachable';
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^(ECONN|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|UND_ERR)/.test(code)) return 'unreachable';
    const status = (e as { cause?: unknown }).cause;
    if (status instanceof Response && status.status >= 500) return 'unreachable';
  }
  return 'protocol';
}
