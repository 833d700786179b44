import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  bearerToken,
  callerKey,
  createRateLimiter,
  decide,
  precheck,
  type AccessRequest,
  type DenyReason,
  type PublishedKos,
} from '../../appliance/src/auth/access/index.js';
import type { IntrospectionOutcome } from '../../appliance/src/auth/psc/types.js';
import { parseDistinguishedName, parseWhitelist } from '../../appliance/src/auth/whitelist/index.js';
import { ANS_UNSIGNED_SAMPLE } from '../fixtures/psc/whitelist/sign-whitelist.js';

const NOW_MS = Date.parse('2027-01-15T10:00:00Z');
const whitelist = parseWhitelist(readFileSync(ANS_UNSIGNED_SAMPLE, 'utf8'));

const STUDY = '1.2.826.0.1.3680043.10.1558.1.1';
const SERIES_CT = '1.2.826.0.1.3680043.10.1558.1.1.1';
const SERIES_SCOUT = '1.2.826.0.1.3680043.10.1558.1.1.2';
const SOP_1 = '1.2.826.0.1.3680043.10.1558.1.1.1.1';
const SOP_2 = '1.2.826.0.1.3680043.10.1558.1.1.1.2';
const KOS = '1.2.826.0.1.3680043.10.1558.9.1';
const OLD_KOS = '1.2.826.0.1.3680043.10.1558.9.0';
const OTHER_STUDY = '1.2.826.0.1.3680043.10.1558.2.1';
const OTHER_KOS = '1.2.826.0.1.3680043.10.1558.9.2';

const published: PublishedKos[] = [
  { sopInstanceUid: KOS, studyInstanceUid: STUDY, active: true, series: new Map([[SERIES_CT, new Set([SOP_1, SOP_2])]]) },
  // Replaced KOS: it referenced the scout series too, but no longer opens access.
  { sopInstanceUid: OLD_KOS, studyInstanceUid: STUDY, active: false, series: new Map([[SERIES_SCOUT, new Set(['9.9'])]]) },
  // Another patient's study, published too.
  { sopInstanceUid: OTHER_KOS, studyInstanceUid: OTHER_STUDY, active: true, series: new Map([['7.7', new Set(['7.7.1'])]]) },
];

const active: IntrospectionOutcome = {
  state: 'active',
  subjectNameId: '810000000001',
  sub: 'f:psc-sim:810000000001',
  clientId: 'drimbox-strasbourg',
  scope: ['openid', 'scope_all'],
  exp: NOW_MS / 1000 + 120,
};

// A whitelisted box (db1.345) calling over mutual TLS: its certificate subject as Node prints it.
const whitelistedCert = parseDistinguishedName('C=FR\nST=Marseille (13)\nO=editeur\nOU=49188397100039\nCN=db1.345.mesimagesmedicales.fr');
const strangerCert = parseDistinguishedName('C=FR\nO=Inconnu\nCN=db1.999.example.org');

const base: AccessRequest = {
  nowMs: NOW_MS,
  rateLimit: { allowed: true, remaining: 10 },
  caller: { certificateSubject: whitelistedCert },
  policy: { requireClientCertificate: true, requireWhitelisted: true },
  whitelist,
  token: active,
  resource: { studyInstanceUid: STUDY, seriesInstanceUid: SERIES_CT },
  kosSopInstanceUid: KOS,
  publishedKos: published,
};

type Case = [name: string, status: 401 | 403 | 429 | 503, reason: DenyReason, change: Partial<AccessRequest>];

const denials: Case[] = [
  ['no token', 401, 'token-missing', { token: undefined }],
  ['inactive token', 401, 'token-invalid', { token: { state: 'unauthenticated', reason: 'inactive' } }],
  ['token of another issuer', 401, 'token-invalid', { token: { state: 'unauthenticated', reason: 'wrong-issuer' } }],
  ['malformed token', 401, 'token-invalid', { token: { state: 'unauthenticated', reason: 'malformed-token' } }],
  ['expired per PSC', 401, 'token-expired', { token: { state: 'unauthenticated', reason: 'expired' } }],
  ['expired since cached', 401, 'token-expired', { token: { ...active, exp: NOW_MS / 1000 - 1 } as IntrospectionOutcome }],
  ['PSC unreachable', 503, 'psc-unavailable', { token: { state: 'unavailable', reason: 'timeout' } }],
  ['other patient study (not in archive)', 403, 'study-not-published', { resource: { studyInstanceUid: '1.2.3.4.5.6.7' }, kosSopInstanceUid: undefined }],
  ['empty archive', 403, 'study-not-published', { publishedKos: [] }],
  ['only a withdrawn KOS', 403, 'study-not-published', { publishedKos: [{ ...published[0]!, active: false }] }],
  ['KOS header of another study', 403, 'kos-mismatch', { kosSopInstanceUid: OTHER_KOS }],
  ['KOS header of the replaced KOS', 403, 'kos-mismatch', { kosSopInstanceUid: OLD_KOS }],
  ['KOS header unknown', 403, 'kos-mismatch', { kosSopInstanceUid: '1.2.3' }],
  ['series only the withdrawn KOS referenced', 403, 'series-not-covered', { resource: { studyInstanceUid: STUDY, seriesInstanceUid: SERIES_SCOUT } }],
  // A caller must show the manifest it found the study through: no KOS-SOPInstanceUID, nothing served.
  ['study level without the KOS-SOPInstanceUID header', 403, 'kos-required', { resource: { studyInstanceUid: STUDY }, kosSopInstanceUid: undefined }],
  ['instance without the KOS-SOPInstanceUID header', 403, 'kos-required', { resource: { studyInstanceUid: STUDY, seriesInstanceUid: SERIES_CT, sopInstanceUid: SOP_1 }, kosSopInstanceUid: undefined }],
  ['instance not in the KOS', 403, 'instance-not-covered', { resource: { studyInstanceUid: STUDY, seriesInstanceUid: SERIES_CT, sopInstanceUid: '1.2.3.99' } }],
  ['caller certificate not whitelisted', 403, 'caller-not-whitelisted', { caller: { certificateSubject: strangerCert } }],
  ['no client certificate under mutual TLS', 403, 'client-certificate-required', { caller: {} }],
  ['host not whitelisted', 403, 'caller-not-whitelisted', { caller: { host: 'db1.999.example.org' }, policy: { requireClientCertificate: false, requireWhitelisted: true } }],
  ['caller unidentified', 403, 'caller-not-whitelisted', { caller: {}, policy: { requireClientCertificate: false, requireWhitelisted: true } }],
  ['certificate presented, not whitelisted, even when not required', 403, 'caller-not-whitelisted', { caller: { certificateSubject: strangerCert }, policy: { requireClientCertificate: false, requireWhitelisted: false } }],
  ['no verified whitelist', 503, 'whitelist-unavailable', { whitelist: undefined }],
  ['rate limited', 429, 'rate-limited', { rateLimit: { allowed: false, retryAfterSeconds: 3 } }],
  // Order: a non-whitelisted caller is refused before its token matters, a bad token before the archive.
  ['stranger without token', 403, 'caller-not-whitelisted', { caller: { certificateSubject: strangerCert }, token: undefined }],
  ['no token, other study', 401, 'token-missing', { token: undefined, resource: { studyInstanceUid: '1.2.3' } }],
];

describe('decide: refusals', () => {
  it.each(denials)('%s → %i %s', (_name, status, reason, change) => {
    const decision = decide({ ...base, ...change });
    expect(decision.outcome).toBe('deny');
    if (decision.outcome !== 'deny') return;
    expect(decision.status).toBe(status);
    expect(decision.reason).toBe(reason);
    expect(decision.message.length).toBeGreaterThan(5);
    if (status === 401) expect(decision.wwwAuthenticate).toMatch(/^Bearer realm="DRIMbox"/);
    if (status === 429) expect(decision.retryAfterSeconds).toBe(3);
  });

  it('says invalid_token in WWW-Authenticate for a refused token, and nothing more for a missing one', () => {
    const missing = decide({ ...base, token: undefined });
    const inactive = decide({ ...base, token: { state: 'unauthenticated', reason: 'inactive' } });
    expect(missing.outcome === 'deny' && missing.wwwAuthenticate).toBe('Bearer realm="DRIMbox"');
    expect(inactive.outcome === 'deny' && inactive.wwwAuthenticate).toBe('Bearer realm="DRIMbox", error="invalid_token"');
  });
});

describe('decide: allowed requests', () => {
  const allowed: [string, Partial<AccessRequest>, string | undefined][] = [
    ['series with the KOS header, whitelisted certificate', {}, 'db1.345.mesimagesmedicales.fr'],
    ['instance of a referenced series', { resource: { studyInstanceUid: STUDY, seriesInstanceUid: SERIES_CT, sopInstanceUid: SOP_2 } }, 'db1.345.mesimagesmedicales.fr'],
    ['whitelisted host without mutual TLS', { caller: { host: 'db2.867.mesimagesmedicales.fr:443' }, policy: { requireClientCertificate: false, requireWhitelisted: true } }, 'db2.867.mesimagesmedicales.fr'],
    ['local viewer when whitelisting is not required', { caller: {}, policy: { requireClientCertificate: false, requireWhitelisted: false }, whitelist: undefined }, undefined],
  ];

  it.each(allowed)('%s', (_name, change, callerDb) => {
    const decision = decide({ ...base, ...change });
    expect(decision).toMatchObject({ outcome: 'allow', subjectNameId: '810000000001', sub: 'f:psc-sim:810000000001', kosSopInstanceUid: KOS });
    if (decision.outcome !== 'allow') return;
    expect(decision.callerDomain?.db).toBe(callerDb);
    // Only what the active KOS references may be served, never the withdrawn KOS's scout series.
    expect([...decision.coverage.keys()]).toEqual([SERIES_CT]);
    expect([...decision.coverage.get(SERIES_CT)!]).toEqual([SOP_1, SOP_2]);
  });

  it('precheck refuses callers before any introspection, and passes good ones', () => {
    expect(precheck({ ...base, caller: { certificateSubject: strangerCert } })?.reason).toBe('caller-not-whitelisted');
    expect(precheck({ ...base, rateLimit: { allowed: false, retryAfterSeconds: 1 } })?.status).toBe(429);
    expect(precheck(base)).toBeUndefined();
  });
});

describe('rate limiter', () => {
  it('lets a burst through, refuses the next with Retry-After, refills over time, per caller', () => {
    let now = 0;
    const limiter = createRateLimiter({ capacity: 3, refillPerSecond: 2, nowMs: () => now });
    expect([1, 2, 3].map(() => limiter.take('a').allowed)).toEqual([true, true, true]);
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(limiter.take('b').allowed).toBe(true);
    now = 400; // 0.8 token back
    expect(limiter.take('a').allowed).toBe(false);
    now = 600; // 1.2 tokens
    expect(limiter.take('a')).toEqual({ allowed: true, remaining: 0 });
    now = 60_000;
    expect(limiter.take('a')).toEqual({ allowed: true, remaining: 2 });
    expect(limiter.take('a', 10)).toEqual({ allowed: false, retryAfterSeconds: 4 });
  });

  it('forgets the least recently seen callers beyond its bound', () => {
    const limiter = createRateLimiter({ capacity: 1, refillPerSecond: 0.001, maxCallers: 2, nowMs: () => 0 });
    limiter.take('a');
    limiter.take('b');
    limiter.take('a');
    limiter.take('c'); // evicts b, the least recently seen
    expect(limiter.trackedCallers).toBe(2);
    expect(limiter.take('a').allowed).toBe(false);
    expect(limiter.take('b').allowed).toBe(true);
  });

  it('keys callers by certificate subject, else by address', () => {
    expect(callerKey({ certificateSubject: whitelistedCert, remoteAddress: '10.0.0.1' })).toBe(
      'cert:c=fr,st=marseille (13),o=editeur,ou=49188397100039,cn=db1.345.mesimagesmedicales.fr',
    );
    expect(callerKey({ remoteAddress: '10.0.0.1' })).toBe('ip:10.0.0.1');
  });
});

describe('bearerToken', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['Bearer abc.DEF-_~+/=', 'abc.DEF-_~+/='],
    ['bearer  xyz', 'xyz'],
    ['Basic dXNlcjpwYXNz', ''],
    ['Bearer', ''],
    ['Bearer a b', ''],
    ['Bearer a"b', ''],
    [['Bearer one'], 'one'],
    [['Bearer one', 'Bearer two'], ''],
  ] as const)('%j → %j', (header, expected) => {
    expect(bearerToken(header as string | string[] | undefined)).toBe(expected);
  });
});
