import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPscClient, PscError, type PscClient } from '../../appliance/src/auth/psc/index.js';
import { portalUserFrom } from '../../appliance/src/auth/session/index.js';
import { LoginRefused, loginWithPassword } from '../peers/psc-sim/login-driver.js';
import { startPscSimulator, type PscSimulator } from '../peers/psc-sim/server.js';

const CLIENT = { clientId: 'drimbox-strasbourg', clientSecret: 's3cret-strasbourg', redirectUris: ['http://127.0.0.1:18080/auth/psc/callback'] };
const REDIRECT = CLIENT.redirectUris[0]!;

let sim: PscSimulator;
let psc: PscClient;

beforeAll(async () => {
  sim = await startPscSimulator({ clients: [CLIENT] });
  psc = createPscClient({ issuer: sim.issuer, clientId: CLIENT.clientId, clientSecret: CLIENT.clientSecret, timeoutMs: 5000 });
});
afterAll(async () => {
  await sim?.stop();
});

describe('PSC simulator discovery', () => {
  it('serves the standard and the PSC wallet discovery documents at PSC paths', async () => {
    expect(sim.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/auth\/realms\/esante-wallet$/);
    for (const doc of ['openid-configuration', 'wallet-openid-configuration']) {
      const res = await fetch(`${sim.issuer}/.well-known/${doc}`);
      expect(res.status).toBe(200);
      const meta = (await res.json()) as Record<string, unknown>;
      expect(meta.issuer).toBe(sim.issuer);
      expect(meta.authorization_endpoint).toBe(`${sim.issuer}/protocol/openid-connect/auth`);
      expect(meta.token_endpoint).toBe(`${sim.issuer}/protocol/openid-connect/token`);
      expect(meta.userinfo_endpoint).toBe(`${sim.issuer}/protocol/openid-connect/userinfo`);
      expect(meta.introspection_endpoint).toBe(`${sim.issuer}/protocol/openid-connect/token/introspect`);
      expect(meta.jwks_uri).toBe(`${sim.issuer}/protocol/openid-connect/certs`);
      expect(meta.end_session_endpoint).toBe(`${sim.issuer}/protocol/openid-connect/logout`);
      expect(meta.acr_values_supported).toEqual(['eidas1']);
      expect(meta.code_challenge_methods_supported).toEqual(['S256']);
      expect(meta.scopes_supported).toContain('scope_all');
      expect(meta.claims_supported).toEqual(expect.arrayContaining(['SubjectNameID', 'SubjectRefPro', 'SubjectRole']));
    }
    const jwks = (await (await fetch(`${sim.issuer}/protocol/openid-connect/certs`)).json()) as { keys: { kty: string; d?: string }[] };
    expect(jwks.keys[0]?.kty).toBe('RSA');
    expect(jwks.keys[0]?.d).toBeUndefined();
  });
});

describe('authorization code + PKCE login through the login page', () => {
  it('builds the PSC authorization request', async () => {
    const { url, pending } = await psc.startLogin(REDIRECT);
    expect(url.origin + url.pathname).toBe(`${sim.issuer}/protocol/openid-connect/auth`);
    const q = url.searchParams;
    expect(q.get('response_type')).toBe('code');
    expect(q.get('scope')).toBe('openid scope_all');
    expect(q.get('acr_values')).toBe('eidas1');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('client_id')).toBe(CLIENT.clientId);
    expect(q.get('redirect_uri')).toBe(REDIRECT);
    expect(q.get('state')).toBe(pending.state);
    expect(q.get('nonce')).toBe(pending.nonce);
    expect(url.toString()).not.toContain(pending.codeVerifier);
  });

  it('logs Dr Claire MARTIN in, returns eidas1 tokens, her userinfo and an introspectable access token', async () => {
    const { url, pending } = await psc.startLogin(REDIRECT);
    const { callbackUrl, loginPageHtml } = await loginWithPassword(url, { user: 'claire.martin', password: sim.testPassword });
    expect(loginPageHtml).toContain('id="professionnel"');
    expect(loginPageHtml).toContain('id="motdepasse"');
    expect(loginPageHtml).toContain('id="se-connecter"');
    expect(loginPageHtml).toContain('Dr Claire MARTIN');
    expect(loginPageHtml).toContain('lang="fr"');
    expect(callbackUrl.origin + callbackUrl.pathname).toBe(REDIRECT);
    expect(callbackUrl.searchParams.get('state')).toBe(pending.state);

    const tokens = await psc.finishLogin(callbackUrl.searchParams, pending);
    expect(tokens.acr).toBe('eidas1');
    expect(tokens.sub).toBe('f:psc-sim:810000000001');
    expect(tokens.expiresAt).toBeGreaterThan(Date.now() / 1000);
    expect(tokens.refreshToken).toBeTruthy();

    const info = await psc.userInfo(tokens.accessToken, tokens.sub);
    expect(info.SubjectNameID).toBe('810000000001');
    expect(info.given_name).toBe('Claire');
    expect(info.family_name).toBe('MARTIN');
    expect(info.SubjectRole).toEqual(['10^1.2.250.1.213.1.1.5.5']);
    const exercice = info.SubjectRefPro?.exercices[0];
    expect(exercice?.codeProfession).toBe('10');
    expect(exercice?.codeSavoirFaire).toBe('SM44');
    expect(exercice?.activities[0]?.raisonSocialeSite).toBe('Cabinet de radiologie de Strasbourg');
    expect(exercice?.activities[0]?.codePostal).toBe('67000');
    const pro = portalUserFrom(info);
    expect(pro).toMatchObject({ subjectNameId: '810000000001', speciality: 'SM44', familyName: 'MARTIN', situations: [{ name: 'Cabinet de radiologie de Strasbourg' }] });

    const answer = await psc.introspect(tokens.accessToken);
    expect(answer).toMatchObject({ active: true, sub: tokens.sub, SubjectNameID: '810000000001', client_id: CLIENT.clientId, scope: 'openid scope_all', iss: sim.issuer });
    expect(typeof answer.exp).toBe('number');
    expect(typeof answer.iat).toBe('number');

    // SubjectNameID comes back for access tokens only (ci-sis-imaging.md §6).
    const refresh = await psc.introspect(tokens.refreshToken!);
    expect(refresh.active).toBe(true);
    expect(refresh.SubjectNameID).toBeUndefined();

    const logout = await psc.logoutUrl(tokens.idToken);
    expect(logout.pathname).toBe('/auth/realms/esante-wallet/protocol/openid-connect/logout');
    expect(logout.searchParams.get('id_token_hint')).toBe(tokens.idToken);
  });

  it('renews the tokens with the refresh token: a new, active access token for the same professional; a spent or forged refresh token is refused', async () => {
    const { url, pending } = await psc.startLogin(REDIRECT);
    const { callbackUrl } = await loginWithPassword(url, { user: 'claire.martin', password: sim.testPassword });
    const tokens = await psc.finishLogin(callbackUrl.searchParams, pending);
    const renewed = await psc.refresh(tokens.refreshToken!, tokens.sub);
    expect(renewed.accessToken).not.toBe(tokens.accessToken);
    expect(renewed.sub).toBe(tokens.sub);
    expect(await psc.introspect(renewed.accessToken)).toMatchObject({ active: true, SubjectNameID: '810000000001' });
    await expect(psc.refresh('not-a-refresh-token', tokens.sub)).rejects.toBeInstanceOf(PscError);
  });

  it('logs in the general practitioner with his own identity', async () => {
    const { url, pending } = await psc.startLogin(REDIRECT);
    const { callbackUrl } = await loginWithPassword(url, { user: 'paul.durand', password: sim.testPassword });
    const tokens = await psc.finishLogin(callbackUrl.searchParams, pending);
    const info = await psc.userInfo(tokens.accessToken, tokens.sub);
    expect(info.SubjectNameID).toBe('810000000002');
    expect(info.SubjectRefPro?.exercices[0]?.codeSavoirFaire).toBe('SM26');
  });

  it('refuses a wrong password on the login page, in French', async () => {
    const { url } = await psc.startLogin(REDIRECT);
    const err = await loginWithPassword(url, { user: 'claire.martin', password: 'wrong' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoginRefused);
    expect((err as LoginRefused).status).toBe(401);
    expect((err as LoginRefused).html).toContain('id="erreur"');
    expect((err as LoginRefused).html).toContain('Identifiant ou mot de passe incorrect.');
  });

  it('refuses a code exchange with the wrong PKCE verifier, and a callback with a forged state', async () => {
    const first = await psc.startLogin(REDIRECT);
    const one = await loginWithPassword(first.url, { user: 'claire.martin', password: sim.testPassword });
    const wrongVerifier = { ...first.pending, codeVerifier: first.pending.codeVerifier.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) };
    const pkceErr = await psc.finishLogin(one.callbackUrl.searchParams, wrongVerifier).catch((e: unknown) => e);
    expect(pkceErr).toBeInstanceOf(PscError);
    expect((pkceErr as PscError).failure).toBe('refused');
    expect((pkceErr as PscError).message).toMatch(/invalid_grant|grant request is invalid/);

    const second = await psc.startLogin(REDIRECT);
    const two = await loginWithPassword(second.url, { user: 'claire.martin', password: sim.testPassword });
    const forged = new URLSearchParams(two.callbackUrl.searchParams);
    forged.set('state', 'forged-state');
    const stateErr = await psc.finishLogin(forged, second.pending).catch((e: unknown) => e);
    expect(stateErr).toBeInstanceOf(PscError);
    expect((stateErr as PscError).message).toMatch(/state/);
  });

  it('refuses a plain-http issuer that is not loopback', () => {
    expect(() => createPscClient({ issuer: 'http://psc.example.org/auth/realms/esante-wallet', clientId: 'x', clientSecret: 'y', timeoutMs: 1000 })).toThrow(
      /must be https/,
    );
  });

  it('mints tokens over the test-only endpoint, only for known test professionals', async () => {
    const res = await fetch(`http://127.0.0.1:${sim.port}/_sim/token`, { method: 'POST', body: JSON.stringify({ user: 'marie.hoarau', ttl: 60 }) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; expires_in: number; SubjectNameID: string };
    expect(body.expires_in).toBe(60);
    expect(body.SubjectNameID).toBe('810000000003');
    const answer = await psc.introspect(body.access_token);
    expect(answer).toMatchObject({ active: true, SubjectNameID: '810000000003' });
    expect((answer.exp as number) - (answer.iat as number)).toBe(60);

    const unknown = await fetch(`http://127.0.0.1:${sim.port}/_sim/token`, { method: 'POST', body: JSON.stringify({ user: 'nobody' }) });
    expect(unknown.status).toBe(404);
  });
});
