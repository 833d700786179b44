import { describe, expect, it } from 'vitest';
import { SessionManager, cookieValues, isAuthenticated, portalUserFrom, type Session } from '../../appliance/src/auth/session/index.js';
import { parsePscUserInfo } from '../../appliance/src/auth/psc/index.js';
import type { PscTokens } from '../../appliance/src/auth/psc/types.js';
import { ConsumerSessionTable } from '../../appliance/src/store/consumer-sessions.js';
import { TEST_PROFESSIONALS } from '../peers/psc-sim/professionals.js';
import { CLAIRE, PAUL, consumerDb } from './consumer-helpers.js';

const MINUTE = 60_000;

function setup(start = 1_800_000_000_000) {
  const db = consumerDb();
  const table = new ConsumerSessionTable(db);
  let now = start;
  const clock = { advance: (ms: number) => (now += ms) };
  const sessions = new SessionManager(table, { ttlMs: 60 * MINUTE, idleMs: 10 * MINUTE, cookie: { name: 'drimbox_portail', path: '/portal', secure: true } }, () => now);
  return { db, table, sessions, clock, now: () => now };
}

/** The Cookie header a browser sends back for a Set-Cookie. */
function cookieOf(setCookie: string): string {
  return setCookie.split(';')[0]!;
}

function tokens(now: number, sub = CLAIRE.sub): PscTokens {
  return { accessToken: `at-${sub}`, idToken: `id-${sub}`, expiresAt: Math.floor(now / 1000) + 300, sub, acr: 'eidas1' };
}

function addPatient(table: ConsumerSessionTable, s: Session, ins: string) {
  return table.addPatient({ sessionId: s.id, handle: `h-${ins}`, ins, insOid: '1.2.250.1.213.1.4.10', traits: '{"source":"aucune"}', origin: 'recherche', openedAt: 1 });
}

describe('portal sessions', () => {
  it('issues a random, HttpOnly, Secure, SameSite=Lax cookie scoped to the portal, and stores only its digest', () => {
    const { db, sessions } = setup();
    const a = sessions.create();
    const b = sessions.create();
    expect(a.setCookie).toMatch(/^drimbox_portail=[A-Za-z0-9_-]{43}; Path=\/portal; Max-Age=3600; HttpOnly; SameSite=Lax; Secure$/);
    expect(cookieOf(a.setCookie)).not.toBe(cookieOf(b.setCookie));
    const value = cookieOf(a.setCookie).split('=')[1]!;
    expect(a.session.id).toMatch(/^[0-9a-f]{64}$/);
    expect(a.session.id).not.toContain(value);
    const dump = JSON.stringify(db.prepare('SELECT * FROM consumer_sessions').all());
    expect(dump).not.toContain(value);
    expect(sessions.resolve(cookieOf(a.setCookie))?.id).toBe(a.session.id);
  });

  it('ignores unknown, malformed and forged cookies', () => {
    const { sessions } = setup();
    sessions.create();
    expect(sessions.resolve(undefined)).toBeUndefined();
    expect(sessions.resolve('drimbox_portail=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toBeUndefined();
    expect(sessions.resolve('drimbox_portail=../../etc; other=1')).toBeUndefined();
    expect(cookieValues('a=1; drimbox_portail=short', 'drimbox_portail')).toEqual([]);
  });

  it('ends a session after its idle limit and after its absolute lifetime', () => {
    const { sessions, clock } = setup();
    const idle = sessions.create();
    clock.advance(9 * MINUTE);
    expect(sessions.resolve(cookieOf(idle.setCookie))).toBeDefined(); // activity resets the idle clock
    clock.advance(9 * MINUTE);
    expect(sessions.resolve(cookieOf(idle.setCookie))).toBeDefined();
    clock.advance(11 * MINUTE);
    expect(sessions.resolve(cookieOf(idle.setCookie))).toBeUndefined();

    const busy = sessions.create();
    for (let t = 0; t < 59; t += 5) {
      clock.advance(5 * MINUTE);
      if (t < 55) expect(sessions.resolve(cookieOf(busy.setCookie)), `at ${t + 5} min`).toBeDefined();
    }
    clock.advance(1 * MINUTE);
    expect(sessions.resolve(cookieOf(busy.setCookie))).toBeUndefined();
  });

  it('turning the clock back lengthens no session: the monotonic clock ends it on time, and after a restart a record from the future is over', () => {
    const db = consumerDb();
    const table = new ConsumerSessionTable(db);
    let wall = 1_800_000_000_000;
    let mono = 1000;
    const settings = { ttlMs: 60 * MINUTE, idleMs: 10 * MINUTE, cookie: { name: 'drimbox_portail', path: '/portal', secure: true } };
    const sessions = new SessionManager(table, settings, () => wall, () => mono);
    const both = (ms: number) => ((wall += ms), (mono += ms));
    const busy = sessions.create();
    const idle = sessions.create();
    both(5 * MINUTE);
    wall -= 120 * MINUTE; // NTP, or a hand, sets the clock two hours back
    for (let t = 5; t < 60; t += 5) {
      expect(sessions.resolve(cookieOf(busy.setCookie)), `at ${t} min`).toBeDefined();
      both(5 * MINUTE);
    }
    // 60 minutes of real time: over, though the wall clock says it has two hours left.
    expect(sessions.resolve(cookieOf(busy.setCookie))).toBeUndefined();
    // Never used since before the jump: idle for 55 real minutes.
    expect(sessions.resolve(cookieOf(idle.setCookie))).toBeUndefined();

    // The box restarts with its clock set back: the records stamped in its future are not trusted.
    const stamped = sessions.create();
    wall -= 30 * MINUTE;
    const afterRestart = new SessionManager(table, settings, () => wall, () => 5);
    expect(afterRestart.resolve(cookieOf(stamped.setCookie))).toBeUndefined();
  });

  it('rotates the id at login: the anonymous cookie stops working, the contextual call waiting for the login is kept', () => {
    const { sessions, now } = setup();
    const anon = sessions.create();
    sessions.setResumeContext(anon.session, '{"ins":{"value":"279035121518989"}}');
    const resolved = sessions.resolve(cookieOf(anon.setCookie))!;
    expect(resolved.resumeContext).toContain('279035121518989');
    const logged = sessions.completeLogin(resolved, CLAIRE, tokens(now()));
    expect(cookieOf(logged.setCookie)).not.toBe(cookieOf(anon.setCookie));
    expect(sessions.resolve(cookieOf(anon.setCookie))).toBeUndefined();
    const s = sessions.resolve(cookieOf(logged.setCookie));
    expect(isAuthenticated(s)).toBe(true);
    expect(s!.user!.subjectNameId).toBe('810000000001');
    expect(s!.tokens!.accessToken).toBe(`at-${CLAIRE.sub}`);
    expect(s!.resumeContext).toContain('279035121518989');
  });

  it('a second professional logging in at the same browser does not inherit what the first opened', () => {
    const { sessions, table, now } = setup();
    const claire = sessions.completeLogin(sessions.create().session, CLAIRE, tokens(now()));
    addPatient(table, claire.session, '279035121518989');
    expect(table.patients(claire.session.id)).toHaveLength(1);
    const paul = sessions.completeLogin(sessions.resolve(cookieOf(claire.setCookie))!, PAUL, tokens(now(), PAUL.sub));
    expect(table.patients(paul.session.id)).toEqual([]);
    // and the same professional logging in again keeps their session's patients
    const again = sessions.completeLogin(sessions.resolve(cookieOf(paul.setCookie))!, PAUL, tokens(now(), PAUL.sub));
    expect(table.patients(again.session.id)).toEqual([]);
    addPatient(table, again.session, '162018885045327');
    const third = sessions.completeLogin(sessions.resolve(cookieOf(again.setCookie))!, PAUL, tokens(now(), PAUL.sub));
    expect(table.patients(third.session.id).map((p) => p.ins)).toEqual(['162018885045327']);
  });

  it('keeps each session’s patients apart, and logout deletes the session with everything it opened', () => {
    const { sessions, table, now, db } = setup();
    const claire = sessions.completeLogin(sessions.create().session, CLAIRE, tokens(now()));
    const paul = sessions.completeLogin(sessions.create().session, PAUL, tokens(now(), PAUL.sub));
    const bernard = addPatient(table, claire.session, '279035121518989');
    addPatient(table, paul.session, '162018885045327');
    table.addStudy({ sessionId: claire.session.id, studyUid: '1.2.3', patientHandle: bernard.handle, documentUniqueId: '1.2.3.4', kosSopInstanceUid: '1.2.3.5', manifest: '{}', openedAt: 1 });
    expect(table.patients(claire.session.id).map((p) => p.ins)).toEqual(['279035121518989']);
    expect(table.patients(paul.session.id).map((p) => p.ins)).toEqual(['162018885045327']);
    expect(table.patient(paul.session.id, bernard.handle)).toBeUndefined();
    expect(table.study(paul.session.id, '1.2.3')).toBeUndefined();

    const clear = sessions.end(claire.session);
    expect(clear).toMatch(/^drimbox_portail=; Path=\/portal; Max-Age=0; HttpOnly; SameSite=Lax; Secure$/);
    expect(sessions.resolve(cookieOf(claire.setCookie))).toBeUndefined();
    expect(db.prepare('SELECT count(*) AS n FROM consumer_session_patients WHERE session_id = ?').get(claire.session.id)).toEqual({ n: 0 });
    expect(db.prepare('SELECT count(*) AS n FROM consumer_session_studies').get()).toEqual({ n: 0 });
    expect(table.patients(paul.session.id)).toHaveLength(1);
  });

  it('sweeps expired sessions', () => {
    const { sessions, table, clock } = setup();
    sessions.create();
    sessions.create();
    clock.advance(11 * MINUTE);
    const fresh = sessions.create();
    expect(sessions.sweep()).toBe(2);
    expect(table.count()).toBe(1);
    expect(sessions.resolve(cookieOf(fresh.setCookie))).toBeDefined();
  });

  it('builds the portal user from PSC userinfo, with the practice situations the VIHF is chosen from', () => {
    const claire = TEST_PROFESSIONALS.find((p) => p.id === 'claire.martin')!;
    const user = portalUserFrom(parsePscUserInfo({ sub: claire.sub, ...claire.claims }));
    expect(user.subjectNameId).toBe('810000000001');
    expect(user.familyName.toUpperCase()).toBe('MARTIN');
    expect(user.profession).toBe('10');
    expect(user.speciality).toBe('SM44');
    expect(user.situations[0]?.name).toMatch(/Strasbourg/);
    expect(user.situations[0]?.legacyStructureId).toMatch(/^3\d{14}$/);
  });
});
