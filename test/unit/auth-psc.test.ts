import { describe, expect, it } from 'vitest';
import { createTokenIntrospector, interpret, parsePscUserInfo } from '../../appliance/src/auth/psc/index.js';
import { PscError } from '../../appliance/src/auth/psc/client.js';
import { ExpiringCache } from '../../appliance/src/auth/psc/expiring-cache.js';

const ISSUER = 'https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet';
const NOW = 1_800_000_000_000;
const good = { active: true, iss: ISSUER, sub: 'f:1', SubjectNameID: '810000000001', exp: NOW / 1000 + 60, iat: NOW / 1000, scope: 'openid scope_all', client_id: 'c', typ: 'Bearer' };

describe('interpret (PSC introspection answer)', () => {
  it.each([
    ['active access token', good, 'active'],
    ['inactive', { active: false }, 'inactive'],
    ['active as a string', { ...good, active: 'true' }, 'malformed-response'],
    ['other issuer', { ...good, iss: 'https://evil.example/auth/realms/esante-wallet' }, 'wrong-issuer'],
    ['expired', { ...good, exp: NOW / 1000 }, 'expired'],
    ['no exp', { ...good, exp: undefined }, 'malformed-response'],
    ['refresh token (Keycloak typ)', { ...good, typ: 'Refresh' }, 'not-an-access-token'],
    ['no SubjectNameID (not an access token)', { ...good, SubjectNameID: undefined }, 'not-an-access-token'],
    ['no sub', { ...good, sub: '' }, 'malformed-response'],
  ] as const)('%s', (_name, answer, expected) => {
    const outcome = interpret(answer as Record<string, unknown>, ISSUER, NOW);
    expect(outcome.state === 'active' ? 'active' : outcome.state === 'unauthenticated' ? outcome.reason : outcome.state).toBe(expected);
  });

  it('keeps the fields the box audits', () => {
    expect(interpret(good, ISSUER, NOW)).toEqual({
      state: 'active',
      subjectNameId: '810000000001',
      sub: 'f:1',
      clientId: 'c',
      scope: ['openid', 'scope_all'],
      exp: good.exp,
      iat: good.iat,
    });
  });
});

describe('token introspector', () => {
  it('coalesces concurrent checks, caches within the positive bound, and never caches a PSC outage', async () => {
    let now = NOW;
    let calls = 0;
    let fail = false;
    const check = createTokenIntrospector({
      issuer: ISSUER,
      nowMs: () => now,
      introspect: async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 5));
        if (fail) throw new Error('ECONNREFUSED');
        return good;
      },
    });
    const answers = await Promise.all([1, 2, 3, 4].map(() => check.check('tok')));
    expect(answers.every((a) => a.state === 'active')).toBe(true);
    expect(calls).toBe(1);
    now += 59_000;
    expect((await check.check('tok')).state).toBe('active');
    expect(calls).toBe(1);
    now += 2_000; // past exp: the cached answer is gone
    fail = true;
    expect(await check.check('tok')).toEqual({ state: 'unavailable', reason: 'Pro Santé Connect unreachable or failing' });
    expect(await check.check('tok')).toMatchObject({ state: 'unavailable' });
    expect(calls).toBe(3);
  });

  it('remembers a refusal for the negative TTL only', async () => {
    let now = NOW;
    let calls = 0;
    const check = createTokenIntrospector({ issuer: ISSUER, nowMs: () => now, negativeTtlMs: 1000, introspect: async () => (calls++, { active: false }) });
    await check.check('bad');
    await check.check('bad');
    expect(calls).toBe(1);
    now += 1001;
    await check.check('bad');
    expect(calls).toBe(2);
  });
});

describe('revocation is seen within a bound', () => {
  const longLived = { ...good, exp: NOW / 1000 + 3600 };

  it('asks PSC again once the positive bound is past, though the token has not expired: a revoked token is refused', async () => {
    let now = NOW;
    let revoked = false;
    let calls = 0;
    const check = createTokenIntrospector({
      issuer: ISSUER,
      nowMs: () => now,
      positiveTtlMs: 10_000,
      introspect: async () => (calls++, revoked ? { active: false } : longLived),
    });
    expect((await check.check('tok')).state).toBe('active');
    revoked = true;
    now += 9_999;
    expect((await check.check('tok')).state).toBe('active'); // within the bound: the cached answer
    now += 2;
    expect(await check.check('tok')).toEqual({ state: 'unauthenticated', reason: 'inactive' });
    expect(calls).toBe(2);
  });

  it('takes an OAuth error answer of the introspection endpoint as a refusal, remembered briefly; an outage stays an outage', async () => {
    let now = NOW;
    let calls = 0;
    let answer: 'oauth-error' | 'outage' = 'oauth-error';
    const check = createTokenIntrospector({
      issuer: ISSUER,
      nowMs: () => now,
      negativeTtlMs: 5_000,
      introspect: async () => {
        calls++;
        if (answer === 'oauth-error') throw new PscError('Pro Santé Connect token introspection failed: invalid_token', 'refused');
        throw new PscError('Pro Santé Connect token introspection failed: fetch failed', 'unreachable');
      },
    });
    expect(await check.check('tok')).toEqual({ state: 'unauthenticated', reason: 'refused-by-psc' });
    expect(await check.check('tok')).toEqual({ state: 'unauthenticated', reason: 'refused-by-psc' });
    expect(calls).toBe(1);
    now += 5_001;
    answer = 'outage';
    expect(await check.check('tok')).toMatchObject({ state: 'unavailable' });
    expect(await check.check('tok')).toMatchObject({ state: 'unavailable' });
    expect(calls).toBe(3);
  });
});

describe('ExpiringCache', () => {
  it('drops expired entries and the oldest entry when full', () => {
    let now = 0;
    const cache = new ExpiringCache<number>(2, () => now);
    cache.set('a', 1, 100);
    cache.set('b', 2, 100);
    cache.set('c', 3, 100);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBe(2);
    expect(cache.size).toBe(2);
    now = 100;
    expect(cache.get('c')).toBeUndefined();
    cache.set('d', 4, 50); // already expired: not stored
    expect(cache.get('d')).toBeUndefined();
  });

  it('never keeps an entry longer than its lifetime when the wall clock is set back', () => {
    let wall = 1_000_000;
    let mono = 0;
    const cache = new ExpiringCache<string>(10, () => wall, () => mono);
    cache.set('token', 'active', wall + 60_000);
    wall -= 3_600_000; // NTP sets the clock back an hour
    mono += 30_000;
    expect(cache.get('token')).toBe('active');
    mono += 30_000; // a minute has really passed
    expect(cache.get('token')).toBeUndefined();
  });
});

describe('parsePscUserInfo', () => {
  it('requires sub and SubjectNameID, and says which field is wrong', () => {
    expect(() => parsePscUserInfo({ sub: 'f:1' })).toThrow(/SubjectNameID/);
    expect(() => parsePscUserInfo({ sub: 'f:1', SubjectNameID: '8', SubjectRefPro: { exercices: [{ activities: 'x' }] } })).toThrow(
      /SubjectRefPro\.exercices\.0\.activities/,
    );
    const info = parsePscUserInfo({ sub: 'f:1', SubjectNameID: '8', extra: 'kept' });
    expect(info.extra).toBe('kept');
  });
});
