import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoxRunner } from '../../appliance/src/box-runner.js';
import { hashPin } from '../../appliance/src/setup/admin-pin.js';
import { freePort, waitFor } from '../peers/ports.js';

/** The factory reset: at the touch screen only, with the PIN; then the box is a first-run box again, without a reboot. */
let work: string;
let runner: BoxRunner;
let kiosk: string;
let lan: string;
const PIN = '731946';

/** A page's session cookie and form token, as a browser would get them. */
async function session(base: string, path: string): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(base + path);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await res.text())?.[1];
  if (!csrf) throw new Error(`no form token on ${path}`);
  return { cookie, csrf };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'drimbox-reset-'));
  const dataDir = join(work, 'data');
  const configFile = join(work, 'config.json');
  writeFileSync(configFile, JSON.stringify({ box: { name: 'Cabinet à effacer' }, setup: { completedAt: '2026-12-01T10:00:00.000Z', adminPinHash: await hashPin(PIN) } }));
  const env = {
    DRIMBOX_DATA_DIR: dataDir,
    DRIMBOX_HTTP_HOST: '127.0.0.1',
    DRIMBOX_HTTP_PORT: String(await freePort()),
    DRIMBOX_HTTP_TLS_ENABLED: 'false',
    DRIMBOX_LAN_HOST: '127.0.0.1',
    DRIMBOX_LAN_PORT: String(await freePort()),
    DRIMBOX_KIOSK_PORT: String(await freePort()),
    DRIMBOX_HL7_HOST: '127.0.0.1',
    DRIMBOX_HL7_PORT: '0',
    DRIMBOX_DIMSE_PORT: '0',
    DRIMBOX_DIMSE_LISTEN_HOST: '127.0.0.1',
    DRIMBOX_DEVICE_UPDATE_LOCK_FILE: '',
    DRIMBOX_DEVICE_STOP_GRACE_SECONDS: '1',
    DRIMBOX_LOG_LEVEL: 'error',
  };
  runner = new BoxRunner(configFile, {}, env);
  await runner.start();
  kiosk = `http://127.0.0.1:${env.DRIMBOX_KIOSK_PORT}`;
  lan = `http://127.0.0.1:${env.DRIMBOX_LAN_PORT}`;
  writeFileSync(join(dataDir, 'patient-data-marker'), 'x');
});

afterAll(async () => {
  await runner?.stop(0);
  rmSync(work, { recursive: true, force: true });
});

describe('factory reset', () => {
  it('is refused from the LAN even with the PIN, and with a wrong PIN at the touch screen', async () => {
    const fromLan = await session(lan, '/setup/code');
    const lanAnswer = await fetch(`${lan}/setup/reinitialiser`, { method: 'POST', headers: { cookie: fromLan.cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: fromLan.csrf, pin: PIN }) });
    expect(lanAnswer.status).toBe(403);
    expect(await lanAnswer.text()).toContain('ne se fait que sur l’écran du boîtier');
    const atScreen = await session(kiosk, '/setup/reinitialiser');
    const wrong = await fetch(`${kiosk}/setup/reinitialiser`, { method: 'POST', headers: { cookie: atScreen.cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: atScreen.csrf, pin: '000000' }) });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('Code incorrect');
    const noToken = await fetch(`${kiosk}/setup/reinitialiser`, { method: 'POST', headers: { cookie: atScreen.cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ pin: PIN }) });
    expect(noToken.status).toBe(403);
    expect(runner.box.config.setup.completedAt).not.toBe('');
  });

  it('with the PIN at the touch screen: configuration and data erased, the services back in first-run mode', async () => {
    const before = runner.box.config;
    const { cookie, csrf } = await session(kiosk, '/setup/reinitialiser');
    const res = await fetch(`${kiosk}/setup/reinitialiser`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrf, pin: PIN }) });
    expect(res.status).toBe(200);
    await waitFor(async () => {
      const state = (await (await fetch(`${kiosk}/setup/etat`).catch(() => undefined))?.json().catch(() => undefined)) as { setUp?: boolean } | undefined;
      return state?.setUp === false;
    }, 30_000, 'the box back in first-run mode');
    expect(existsSync(join(work, 'config.json'))).toBe(false);
    expect(existsSync(join(before.dataDir, 'patient-data-marker'))).toBe(false);
    expect(runner.box.config.box.name).toBe('DRIMbox');
    const home = await fetch(`${kiosk}/`, { redirect: 'manual' });
    expect(home.headers.get('location')).toBe('/setup');
  });
});
