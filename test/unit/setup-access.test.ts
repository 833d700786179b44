import { describe, expect, it } from 'vitest';
import { hashPin, isAcceptablePin, verifyPin, PIN_HASH_PATTERN } from '../../appliance/src/setup/admin-pin.js';
import { AdminGate, MAX_SESSIONS, SessionsFullError } from '../../appliance/src/setup/admin-gate.js';
import { Hono } from 'hono';
import { formToken, practiceAccess, promoteToAdmin, requireAdmin, type AdminEnv } from '../../appliance/src/http/admin-access.js';
import { createLanApp, type LanOrigin } from '../../appliance/src/http/lan-app.js';
import { createStatusRoutes } from '../../appliance/src/http/status-routes.js';
import { RisCredential } from '../../appliance/src/auth/ris/index.js';
import { SETUP } from '../../ui/strings/setup.js';
import { redactSecrets } from '../../appliance/src/log/serialize.js';

describe('administrator PIN', () => {
  it('is stored as an scrypt hash that verifies the PIN and nothing else', async () => {
    const hash = await hashPin('482916');
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(hash).toMatch(PIN_HASH_PATTERN);
    expect(hash).not.toContain('482916');
    expect(await verifyPin('482916', hash)).toBe(true);
    expect(await verifyPin('482917', hash)).toBe(false);
    expect(await verifyPin('', hash)).toBe(false);
    expect(await hashPin('482916')).not.toBe(hash); // salted
    expect(await verifyPin('482916', 'scrypt$99999999$8$1$AA==$AA==')).toBe(false); // absurd parameters refused, not run
  });

  it('refuses short, repeated or running PINs', () => {
    for (const bad of ['12345', '111111', '123456', '987654', '12a456', '1234567890123']) expect(isAcceptablePin(bad), bad).toBe(false);
    expect(isAcceptablePin('482916')).toBe(true);
  });

  it('never appears in logs or `config show`', () => {
    expect(redactSecrets({ setup: { adminPinHash: 'scrypt$1$2$3$x$y' } })).toEqual({ setup: { adminPinHash: '[redacted]' } });
  });
});

describe('admin gate', () => {
  const settings = { maxPinFailures: 5, pinLockMinutes: 5, sessionIdleMinutes: 15 };

  it('locks an origin for 5 minutes after 5 wrong PINs, refusing even the right one, and leaves the other origin alone', async () => {
    const hash = await hashPin('482916');
    let now = 1_000_000;
    const gate = new AdminGate(settings, () => hash, () => now);
    for (let i = 1; i <= 4; i++) expect(await gate.checkPin('lan', '000000')).toEqual({ ok: false, reason: 'wrong-pin', triesLeft: 5 - i });
    expect(await gate.checkPin('lan', '000000')).toEqual({ ok: false, reason: 'locked', minutesLeft: 5 });
    expect(await gate.checkPin('lan', '482916')).toMatchObject({ ok: false, reason: 'locked' });
    expect(await gate.checkPin('kiosk', '482916')).toEqual({ ok: true });
    now += 5 * 60_000 + 1;
    expect(await gate.checkPin('lan', '482916')).toEqual({ ok: true });
  });

  it('says there is no PIN yet rather than accepting anything', async () => {
    const gate = new AdminGate(settings, () => '');
    expect(await gate.checkPin('lan', '482916')).toEqual({ ok: false, reason: 'no-pin' });
  });

  it('ends idle sessions, keeps the map bounded, and matches form tokens exactly', () => {
    let now = 0;
    const gate = new AdminGate(settings, () => '', () => now);
    const s = gate.open('lan', true);
    expect(gate.session(s.id, 'lan')).toBe(s);
    expect(gate.session(s.id, 'kiosk')).toBeUndefined(); // a LAN cookie is not a touch-screen session
    expect(gate.csrfMatches(s, s.csrf)).toBe(true);
    expect(gate.csrfMatches(s, s.csrf.slice(1))).toBe(false);
    expect(gate.csrfMatches(s, undefined)).toBe(false);
    now += 15 * 60_000 + 1;
    expect(gate.session(s.id, 'lan')).toBeUndefined();
    const first = gate.open('lan', false);
    for (let i = 0; i < 70; i++) {
      now += 1;
      gate.open('lan', false);
    }
    expect(gate.session(first.id, 'lan')).toBeUndefined(); // the oldest went when the 65th came
  });

  it('keeps an administrator’s session through 200 anonymous openings: only anonymous sessions are evicted', () => {
    let now = 0;
    const gate = new AdminGate(settings, () => '', () => now);
    const admin = gate.open('lan', true);
    for (let i = 0; i < 200; i++) {
      now += 1;
      gate.open('lan', false);
    }
    expect(gate.session(admin.id, 'lan')).toBe(admin);
  });

  it('refuses an anonymous session rather than evict an administrator’s when every place is an administrator’s', () => {
    let now = 0;
    const gate = new AdminGate(settings, () => '', () => now);
    const admins = Array.from({ length: MAX_SESSIONS }, () => {
      now += 1;
      return gate.open('kiosk', true);
    });
    expect(() => gate.open('lan', false)).toThrow(SessionsFullError);
    for (const s of admins) expect(gate.session(s.id, 'kiosk')).toBe(s);
    // Another administrator (PIN given) replaces the least recently seen one.
    now += 1;
    const next = gate.open('lan', true);
    expect(gate.session(next.id, 'lan')).toBe(next);
    expect(gate.session(admins[0]!.id, 'kiosk')).toBeUndefined();
  });
});

describe('practice sessions over HTTP', () => {
  const settings = { maxPinFailures: 5, pinLockMinutes: 5, sessionIdleMinutes: 15 };

  /** The real status routes, and a page that shows a form, a PIN that promotes, behind the real session middleware. */
  function appFor(origin: LanOrigin, gate: AdminGate, isSetUp = true) {
    const access = { gate, isSetUp: () => isSetUp, secureLan: false };
    return createLanApp(
      {
        clientAddress: () => '192.168.1.50',
        ris: new RisCredential({ httpToken: '', allowedAddresses: [] }),
        mount: (app) => {
          const page = new Hono<AdminEnv>();
          page.use('*', ...practiceAccess(access, (c) => c.text('refusé', 403)));
          page.get('/form', (c) => c.html(`<input name="_csrf" value="${formToken(c).token}">`));
          page.post('/pin', (c) => {
            promoteToAdmin(c, access);
            return c.text('ok');
          });
          page.get('/admin', requireAdmin(), (c) => c.text('admin'));
          app.route('/page', page);
          app.route('/status', createStatusRoutes({ access, report: () => Promise.reject(new Error('not asked')), outbox: { retry: () => 0 }, wake: () => undefined, boxName: 'Test' }));
        },
      },
      origin,
    );
  }
  const cookieOf = (res: Response) => res.headers.getSetCookie()[0]?.split(';')[0];

  it('opens no session for static files, redirects or a session-less form, and one when a page shows a form', async () => {
    const gate = new AdminGate(settings, () => '');
    const app = appFor('lan', gate);
    const css = await app.request('/status/assets/status.css');
    expect(css.status).toBe(200);
    expect(cookieOf(css)).toBeUndefined();
    const toPin = await app.request('/status');
    expect(toPin.status).toBe(303);
    expect(cookieOf(toPin)).toBeUndefined();
    const forged = await app.request('/page/pin', { method: 'POST', body: new URLSearchParams({ _csrf: 'x' }) });
    expect(forged.status).toBe(403);
    expect(cookieOf(forged)).toBeUndefined();
    const form = await app.request('/page/form');
    expect(cookieOf(form)).toMatch(/^drimbox_admin=/);
    // The same cookie: the same session, no new one.
    const again = await app.request('/page/form', { headers: { cookie: cookieOf(form)! } });
    expect(cookieOf(again)).toBeUndefined();
    expect(await again.text()).toBe(await form.text());
  });

  it('keeps the technician logged in through a stranger’s burst of 200 page loads', async () => {
    const gate = new AdminGate(settings, () => '');
    const app = appFor('lan', gate);
    const form = await app.request('/page/form');
    const csrf = /value="([^"]+)"/.exec(await form.text())![1]!;
    const promoted = await app.request('/page/pin', { method: 'POST', headers: { cookie: cookieOf(form)! }, body: new URLSearchParams({ _csrf: csrf }) });
    const admin = cookieOf(promoted)!;
    expect((await app.request('/page/admin', { headers: { cookie: admin } })).status).toBe(200);
    for (let i = 0; i < 200; i++) {
      await app.request('/status/assets/status.js');
      await app.request('/page/form');
    }
    expect(await (await app.request('/page/admin', { headers: { cookie: admin } })).text()).toBe('admin');
  });

  it('answers 503 with a sentence when every place is an administrator’s', async () => {
    const gate = new AdminGate(settings, () => '');
    for (let i = 0; i < MAX_SESSIONS; i++) gate.open('kiosk', true);
    const res = await appFor('lan', gate).request('/page/form');
    expect(res.status).toBe(503);
    expect(await res.text()).toBe(SETUP.access.busy);
    expect(cookieOf(res)).toBeUndefined();
  });

  it('treats the touch screen as the administrator before the first setup, without opening a session to say so', async () => {
    const gate = new AdminGate(settings, () => '');
    const app = appFor('kiosk', gate, false);
    const res = await app.request('/page/admin');
    expect(await res.text()).toBe('admin');
    expect(cookieOf(res)).toBeUndefined();
    const form = await app.request('/page/form');
    const id = decodeURIComponent(cookieOf(form)!.split('=')[1]!);
    expect(gate.session(id, 'kiosk')?.admin).toBe(true);
  });
});
