import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import Provider, { type Account, type Configuration, type OidcContext, type TokenLike } from 'oidc-provider';
import { errorPage, loggedOutPage, logoutPage } from './pages.js';
import { SCOPE_ALL_CLAIMS, findProfessional } from './professionals.js';

/** PSC's realm path (ci-sis-imaging.md §6: https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet). */
export const REALM_PATH = '/auth/realms/esante-wallet';

/** PSC's Keycloak endpoint paths, relative to the issuer (ci-sis-imaging.md §6). */
export const PSC_ROUTES = {
  authorization: '/protocol/openid-connect/auth',
  token: '/protocol/openid-connect/token',
  userinfo: '/protocol/openid-connect/userinfo',
  introspection: '/protocol/openid-connect/token/introspect',
  jwks: '/protocol/openid-connect/certs',
  end_session: '/protocol/openid-connect/logout',
  revocation: '/protocol/openid-connect/revoke',
} as const;

export interface SimulatorClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
}

export interface ProviderSettings {
  issuer: string;
  clients: readonly SimulatorClient[];
  accessTokenTtlSeconds: number;
}

/** Builds the oidc-provider instance shaped like Pro Santé Connect. */
export function createPscProvider(settings: ProviderSettings): Provider {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig', kid: randomUUID() };
  const ttl = settings.accessTokenTtlSeconds;

  const configuration: Configuration = {
    clients: settings.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      post_logout_redirect_uris: c.postLogoutRedirectUris ?? [],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    acrValues: ['eidas1'],
    claims: {
      openid: ['sub'],
      acr: null,
      auth_time: null,
      sid: null,
      scope_all: [...SCOPE_ALL_CLAIMS],
    },
    responseTypes: ['code'],
    pkce: { required: () => true },
    routes: PSC_ROUTES,
    ttl: {
      AccessToken: ttl,
      IdToken: ttl,
      RefreshToken: 30 * 60,
      AuthorizationCode: 60,
      Interaction: 10 * 60,
      Session: 60 * 60,
      Grant: 60 * 60,
    },
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      resourceIndicators: { enabled: false },
      introspection: {
        enabled: true,
        // Any confidential client may introspect any token: the source DRIMbox checks tokens issued to the
        // consumer DRIMbox's client (ci-sis-imaging.md §3.2).
        allowedPolicy: async (_ctx: unknown, client: { clientAuthMethod: string }) => client.clientAuthMethod !== 'none',
      },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx: OidcContext, form: string) => {
          ctx.body = logoutPage(form, ctx.host);
        },
        postLogoutSuccessSource: async (ctx: OidcContext) => {
          ctx.body = loggedOutPage();
        },
      },
    },
    interactions: {
      url: async (_ctx: unknown, interaction: { uid: string }) => `${REALM_PATH}/interaction/${interaction.uid}`,
    },
    findAccount: async (_ctx: unknown, sub: string): Promise<Account | undefined> => {
      const pro = findProfessional(sub);
      if (!pro || pro.sub !== sub) return undefined;
      return { accountId: pro.sub, claims: async () => ({ sub: pro.sub, ...pro.claims }) };
    },
    // PSC returns SubjectNameID when an access token is introspected, and only then (ci-sis-imaging.md §6).
    extraTokenClaims: async (_ctx: unknown, token: TokenLike) => {
      if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
      const pro = findProfessional(token.accountId);
      return pro ? { SubjectNameID: pro.subjectNameId } : undefined;
    },
    // PSC asks no consent: the grant covers what the client asked for.
    loadExistingGrant: async (ctx: OidcContext) => {
      const { provider, client, session, params } = ctx.oidc;
      if (!client || !session?.accountId) return undefined;
      const existing = session.grantIdFor(client.clientId);
      if (existing) return provider.Grant.find(existing);
      const grant = new provider.Grant({ accountId: session.accountId, clientId: client.clientId });
      grant.addOIDCScope(typeof params?.scope === 'string' ? params.scope : 'openid');
      await grant.save();
      return grant;
    },
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(t: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    renderError: async (ctx: OidcContext, out: Record<string, unknown>) => {
      ctx.type = 'html';
      ctx.body = errorPage(out);
    },
  };

  return new Provider(settings.issuer, configuration);
}
