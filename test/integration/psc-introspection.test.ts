import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPscClient, createTokenIntrospector, type PscClient, type TokenIntrospector } from '../../appliance/src/auth/psc/index.js';
import { freePort } from '../peers/ports.js';
import { startPscSimulator, type PscSimulator } from '../peers/psc-sim/server.js';

const SOURCE_BOX = { clientId: 'drimbox-saint-pierre', clientSecret: 'secret-sp', redirectUris: ['http://127.0.0.1:18081/auth/psc/callback'] };
const CONSUMER_BOX = { clientId: 'drimbox-strasbourg', clientSecret: 'secret-sb', redirectUris: ['http://127.0.0.1:18080/auth/psc/callback'] };

let sim: PscSimulator;
let otherSim: PscSimulator;
let psc: PscClient;

function introspector(): TokenIntrospector {
  return createTokenIntrospector({ introspect: (t) => psc.introspect(t), issuer: sim.issuer });
}

beforeAll(async () => {
  [sim, otherSim] = await Promise.all([
    startPscSimulator({ clients: [CONSUMER_BOX, SOURCE_BOX] }),
    startPscSimulator({ clients: [CONSUMER_BOX, SOURCE_BOX] }),
  ]);
  // The source box introspects tokens that PSC issued to the consumer box's client.
  psc = createPscClient({ issuer: sim.issuer, clientId: SOURCE_BOX.clientId, clientSecret: SOURCE_BOX.clientSecret, timeoutMs: 3000 });
});
afterAll(async () => {
  await Promise.all([sim?.stop(), otherSim?.stop()]);
});

describe('token introspection at the PSC simulator, from the source box', () => {
  it('reports a minted access token active, with the professional SubjectNameID', async () => {
    const token = await sim.mintToken('claire.martin', { clientId: CONSUMER_BOX.clientId });
    const outcome = await introspector().check(token);
    expect(outcome).toMatchObject({ state: 'active', subjectNameId: '810000000001', sub: 'f:psc-sim:810000000001', clientId: CONSUMER_BOX.clientId });
    if (outcome.state !== 'active') throw new Error('unreachable');
    expect(outcome.scope).toEqual(['openid', 'scope_all']);
    expect(outcome.exp).toBeGreaterThan(Date.now() / 1000);
  });

  it('answers an unknown token unauthenticated (inactive)', async () => {
    expect(await introspector().check('bm90LWEtcHNjLXRva2Vu')).toEqual({ state: 'unauthenticated', reason: 'inactive' });
  });

  it('refuses a malformed bearer value without calling PSC', async () => {
    const before = sim.requestCount('introspection');
    expect(await introspector().check('a b"c')).toEqual({ state: 'unauthenticated', reason: 'malformed-token' });
    expect(sim.requestCount('introspection')).toBe(before);
  });

  it('caches an active answer: a second check, and ten concurrent ones, do not reach PSC again', async () => {
    const token = await sim.mintToken('paul.durand');
    const check = introspector();
    const before = sim.requestCount('introspection');
    const first = await check.check(token);
    expect(first.state).toBe('active');
    expect(sim.requestCount('introspection')).toBe(before + 1);
    const again = await check.check(token);
    expect(again).toEqual(first);
    expect(sim.requestCount('introspection')).toBe(before + 1);

    const other = await sim.mintToken('marie.hoarau');
    const answers = await Promise.all(Array.from({ length: 10 }, () => check.check(other)));
    expect(answers.every((a) => a.state === 'active' && a.subjectNameId === '810000000003')).toBe(true);
    expect(sim.requestCount('introspection')).toBe(before + 2);
  });

  it('stops accepting a token once it expires, even when the active answer was cached', async () => {
    const token = await sim.mintToken('claire.martin', { ttlSeconds: 1 });
    const check = introspector();
    expect((await check.check(token)).state).toBe('active');
    await new Promise((r) => setTimeout(r, 1100));
    const before = sim.requestCount('introspection');
    expect(await check.check(token)).toEqual({ state: 'unauthenticated', reason: 'inactive' });
    // The cached answer expired with the token, so PSC was asked again and said no.
    expect(sim.requestCount('introspection')).toBe(before + 1);
    // ...and a fresh introspector sees the same.
    expect((await introspector().check(token)).state).toBe('unauthenticated');
  });

  it('refuses a token issued by another PSC issuer', async () => {
    const foreign = await otherSim.mintToken('claire.martin', { clientId: CONSUMER_BOX.clientId });
    expect(await introspector().check(foreign)).toEqual({ state: 'unauthenticated', reason: 'inactive' });
    // A PSC answering for another issuer (misrouted or spoofed) is not trusted either.
    const otherPsc = createPscClient({ issuer: otherSim.issuer, clientId: SOURCE_BOX.clientId, clientSecret: SOURCE_BOX.clientSecret, timeoutMs: 3000 });
    const misrouted = createTokenIntrospector({ introspect: (t) => otherPsc.introspect(t), issuer: sim.issuer });
    expect(await misrouted.check(foreign)).toEqual({ state: 'unauthenticated', reason: 'wrong-issuer' });
  });

  it('says "unavailable" (never active) when PSC cannot be reached, and does not cache it', async () => {
    const port = await freePort();
    const down = createPscClient({ issuer: `http://127.0.0.1:${port}/auth/realms/esante-wallet`, clientId: 'x', clientSecret: 'y', timeoutMs: 1000 });
    const check = createTokenIntrospector({ introspect: (t) => down.introspect(t), issuer: `http://127.0.0.1:${port}/auth/realms/esante-wallet` });
    const token = await sim.mintToken('claire.martin');
    expect((await check.check(token)).state).toBe('unavailable');
    expect((await check.check(token)).state).toBe('unavailable');
  });

  it('sees a token revoked at PSC once the positive answer is past its bound (60 s by default), though the token has not expired', async () => {
    let now = Date.now();
    const check = createTokenIntrospector({ introspect: (t) => psc.introspect(t), issuer: sim.issuer, nowMs: () => now });
    const token = await sim.mintToken('claire.martin', { clientId: CONSUMER_BOX.clientId });
    expect((await check.check(token)).state).toBe('active');
    // The consumer box that holds the token revokes it (RFC 7009), as at logout.
    const revoked = await fetch(`${sim.issuer}/protocol/openid-connect/revoke`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${CONSUMER_BOX.clientId}:${CONSUMER_BOX.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    });
    expect(revoked.status).toBe(200);
    expect((await check.check(token)).state).toBe('active'); // within the bound: the cached answer
    now += 60_001;
    expect(await check.check(token)).toMatchObject({ state: 'unauthenticated', reason: 'inactive' });
  });

  it('takes PSC\'s OAuth error answer (the box is not a registered client) as a refusal, not an outage', async () => {
    const stranger = createPscClient({ issuer: sim.issuer, clientId: SOURCE_BOX.clientId, clientSecret: 'wrong-secret', timeoutMs: 3000 });
    const check = createTokenIntrospector({ introspect: (t) => stranger.introspect(t), issuer: sim.issuer });
    expect(await check.check(await sim.mintToken('claire.martin'))).toEqual({ state: 'unauthenticated', reason: 'refused-by-psc' });
  });
});
