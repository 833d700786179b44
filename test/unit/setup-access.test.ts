import { describe, expect, it } from 'vitest';
import { hashPin, isAcceptablePin, verifyPin, PIN_HASH_PATTERN } from '../../appliance/src/setup/admin-pin.js';
import { AdminGate } from '../../appliance/src/setup/admin-gate.js';
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
});
