import { describe, expect, it } from 'vitest';
import { serializeEvent } from '../../appliance/src/log/serialize.js';

const parse = (line: string) => JSON.parse(line) as Record<string, unknown>;

describe('log events', () => {
  it('keep an error\'s code, status, stack and cause chain', () => {
    const root = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4242'), { code: 'ECONNREFUSED' });
    const err = Object.assign(new Error('PACS unreachable', { cause: root }), { kind: 'unreachable', status: 0xa801 });
    const e = parse(serializeEvent('error', 'pacs failed', { error: err })).error as Record<string, unknown>;
    expect(e).toMatchObject({ name: 'Error', message: 'PACS unreachable', kind: 'unreachable', status: 0xa801, cause: { message: 'connect ECONNREFUSED 127.0.0.1:4242', code: 'ECONNREFUSED' } });
    expect(e.stack).toMatch(/PACS unreachable\n\s+at /);
  });

  it('never let a field overwrite the event\'s level, message or time', () => {
    const e = parse(serializeEvent('warn', 'real message', { level: 'debug', msg: 'forged', t: 'yesterday' }, new Date('2026-12-05T00:00:00Z')));
    expect(e).toMatchObject({ t: '2026-12-05T00:00:00.000Z', level: 'warn', msg: 'real message', 'field.level': 'debug', 'field.msg': 'forged', 'field.t': 'yesterday' });
  });

  it('redact tokens, PINs, passwords, cookies and authorisation headers at any depth', () => {
    const line = serializeEvent('info', 'request', {
      headers: { authorization: 'Bearer eyJhbGciOi.secret', cookie: 'drimbox_portail=abc', 'kos-sopinstanceuid': '1.2.3' },
      login: { user: 'claire', password: 'psc-sim-2026', pin: '1234', accessToken: 'tok', refresh_token: 'r', apiKey: 'k' },
      tlsP12Password: 'p12',
    });
    for (const secret of ['eyJhbGciOi', 'drimbox_portail=abc', 'psc-sim-2026', '"1234"', '"tok"', '"p12"', '"k"']) expect(line).not.toContain(secret);
    expect(parse(line)).toMatchObject({ headers: { 'kos-sopinstanceuid': '1.2.3' }, login: { user: 'claire', pin: '[redacted]' } });
  });

  it('survive what JSON.stringify does not: cycles and bigints', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(parse(serializeEvent('info', 'x', { cyclic, n: 2n ** 70n }))).toMatchObject({ cyclic: { a: 1, self: '[circular]' }, n: '1180591620717411303424' });
  });
});
