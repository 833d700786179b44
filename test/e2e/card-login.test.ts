import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CardReader } from '../../appliance/src/auth/card/card-reader.js';
import { createLogger } from '../../appliance/src/log/logger.js';
import { makeCpsToken, SOFTHSM_MODULE, TEST_HOLDER, type CpsToken } from '../peers/cps-token.js';
import { BERNARD, startConsumerBed, type ConsumerBed } from '../integration/consumer-bed.js';
import { SCREENSHOT_DIR } from './viewer-harness.js';
import { PORTAL_CSP } from '../../appliance/src/http/page-headers.js';

/**
 * Logging in at the box with a CPS card, in Debian's headless Chromium at the touch screen's 800×480 with touch
 * events: the holder read from the card, the PIN typed on the on-screen pad (a wrong one first), the portal as that
 * professional (the DMP searched with their identity), the session ended by pulling the card out, the page
 * following the reader by itself, and the box refusing the card after repeated wrong PINs. The card is a SoftHSM2
 * token shaped like a CPS (test/peers/cps-token.ts); pulling it out moves its token folder away.
 */
let dir: string;
let token: CpsToken;
let reader: CardReader;
let bed: ConsumerBed;
let browser: Browser;
let context: BrowserContext;
let tokenFolder: string;

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `card-${name}.png`), fullPage: true });
}

async function typePin(page: Page, pin: string): Promise<void> {
  for (const d of pin) await page.tap(`#pave-pin [data-chiffre="${d}"]`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drimbox-card-e2e-'));
  token = makeCpsToken(dir);
  tokenFolder = join(dir, 'tokens', readdirSync(join(dir, 'tokens'))[0]!);
  process.env.SOFTHSM2_CONF = token.env.SOFTHSM2_CONF;
  reader = CardReader.open({ module: SOFTHSM_MODULE, pollMs: 250, maxPinFailures: 3, pinLockMinutes: 15 }, createLogger({ component: 'card-test' }));
  reader.start();
  bed = await startConsumerBed({ examSizes: [4], card: reader, cpsCaFile: token.caCertPath, settings: { secureCookies: true } });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  context = await browser.newContext({ viewport: { width: 800, height: 480 }, hasTouch: true, locale: 'fr-FR' });
}, 180_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await reader?.stop();
  await bed?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('CPS card at the box (touch screen, PIN pad)', () => {
  it('reads the holder, refuses a wrong PIN, logs in with the right one, and ends the session when the card is pulled out', async () => {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${bed.portal}/portal/`);
    await shot(page, '1-welcome');
    await Promise.all([page.waitForURL(/\/portal\/carte$/), page.tap('#connexion-carte')]);
    await page.waitForSelector('#carte-nom');
    expect(await page.textContent('#carte-nom')).toBe(`${TEST_HOLDER.givenName} ${TEST_HOLDER.surname}`);
    expect(await page.textContent('#carte-profession')).toBe('Médecin');
    expect(await page.textContent('#carte-identifiant')).toBe(TEST_HOLDER.nationalId);
    // Keys big enough for a finger; nothing wider than the screen.
    const box = await page.locator('#pave-pin [data-chiffre="5"]').boundingBox();
    expect(box!.height).toBeGreaterThanOrEqual(44);
    expect(box!.width).toBeGreaterThanOrEqual(44);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(800);
    await shot(page, '2-card-read');

    await typePin(page, '9999');
    expect(await page.inputValue('#pin')).toBe('9999');
    await page.tap('#pin-valider');
    await page.waitForSelector('#message-erreur');
    expect(await page.textContent('#message-erreur')).toMatch(/^Code PIN incorrect\./);
    await shot(page, '3-wrong-pin');

    await typePin(page, '12');
    await page.tap('#pin-effacer');
    expect(await page.inputValue('#pin')).toBe('');
    await typePin(page, token.pin);
    await Promise.all([page.waitForURL(`${bed.portal}/portal/`), page.tap('#pin-valider')]);
    expect(await page.textContent('#utilisateur strong')).toBe(`${TEST_HOLDER.givenName} ${TEST_HOLDER.surname}`);
    await shot(page, '4-logged-in');

    // The DMP searched as the card's holder: the exam list comes back.
    await page.fill('#ins', BERNARD.ins);
    await page.selectOption('#ins-oid', '1.2.250.1.213.1.4.10');
    await Promise.all([page.waitForURL(/\/portal\/patient\//), page.tap('#rechercher')]);
    await page.waitForSelector('tr.examen');
    expect(await page.locator('tr.examen').count()).toBe(1);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(800); // no sideways scroll at the box
    await shot(page, '5-dmp-exams');
    const patientUrl = page.url();

    // The card pulled out: the session ends within a poll or two, the open page leads back to the login.
    renameSync(tokenFolder, join(dir, 'pulled-out'));
    await expect.poll(() => reader.cards().length, { timeout: 10_000 }).toBe(0);
    await page.goto(patientUrl);
    expect(page.url()).not.toBe(patientUrl); // sent to a login: the card's session is gone
    await page.goto(`${bed.portal}/portal/`);
    expect(await page.locator('#connexion-carte').count()).toBe(1);
    expect(await page.locator('#utilisateur').count()).toBe(0);

    // The card page follows the reader by itself: no card, then the card again.
    await page.goto(`${bed.portal}/portal/carte`);
    expect(await page.textContent('#carte-absente')).toContain('Insérez votre carte CPS');
    await shot(page, '6-card-out');
    renameSync(join(dir, 'pulled-out'), tokenFolder);
    await page.waitForSelector('#carte-nom', { timeout: 10_000 });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('refuses the card on this box after three wrong PINs, and says so', async () => {
    const page = await context.newPage();
    await page.goto(`${bed.portal}/portal/carte`);
    await page.waitForSelector('#carte-nom');
    for (let i = 0; i < 3; i++) {
      await typePin(page, '0000');
      await page.tap('#pin-valider');
      await page.waitForSelector('#message-erreur');
    }
    expect(await page.textContent('#message-erreur')).toMatch(/Trop de codes PIN erronés : cette carte est refusée sur ce boîtier pendant 15 minutes/);
    expect(await page.locator('#pave-pin').count()).toBe(0);
    await shot(page, '7-box-locked');
    // Even the right PIN is not tried on the card now.
    const res = await page.request.post(`${bed.portal}/portal/carte/pin`, { form: { carte: reader.cards()[0]!.serial, pin: token.pin }, headers: { origin: bed.portal }, maxRedirects: 0 });
    expect(res.status()).toBe(423);
    await page.close();
  });
});

describe('CPS card in a workstation’s reader (TLS client certificate)', () => {
  it('logs in as the card’s holder on the CPS login port; no certificate, or one from another CA, is refused in French', async () => {
    const origin = bed.cpsLogin!;
    // Chromium presents the card's authentication certificate (Playwright's client certificate stands in for the
    // browser's PKCS#11 module and the card); the box verifies it against the configured IGC-Santé (test) CA.
    const workstation = await browser.newContext({ ignoreHTTPSErrors: true, clientCertificates: [{ origin, certPath: token.authCertPath, keyPath: token.authKeyPath }] });
    const page = await workstation.newPage();
    await page.goto(`${origin}/portal/login/cps`);
    expect(page.url()).toBe(`${bed.portal}/portal/`);
    expect(await page.textContent('#utilisateur strong')).toBe(`${TEST_HOLDER.givenName} ${TEST_HOLDER.surname}`);
    await shot(page, '8-workstation-login');
    const sessions = bed.db.prepare("SELECT user FROM consumer_sessions WHERE json_extract(user, '$.authentication.method') = 'cps-certificate'").all() as { user: string }[];
    expect(sessions.map((r) => JSON.parse(r.user).subjectNameId)).toEqual([TEST_HOLDER.nationalId]); // PSC's SubjectNameID for the same person
    await workstation.close();

    const bare = await browser.newContext({ ignoreHTTPSErrors: true });
    const none = await bare.newPage();
    const res = await none.goto(`${origin}/portal/login/cps`);
    expect(res!.status()).toBe(401);
    expect(await none.textContent('#message-erreur')).toContain('Aucun certificat de carte CPS');
    // The portal's headers on the CPS port as well: never framed, its own files only.
    expect(await res!.headerValue('x-frame-options')).toBe('DENY');
    expect(await res!.headerValue('content-security-policy')).toBe(PORTAL_CSP);
    await bare.close();

    const rogue = makeCpsToken(join(dir, 'rogue'));
    const stranger = await browser.newContext({ ignoreHTTPSErrors: true, clientCertificates: [{ origin, certPath: rogue.authCertPath, keyPath: rogue.authKeyPath }] });
    const refused = await stranger.newPage();
    const r = await refused.goto(`${origin}/portal/login/cps`);
    expect(r!.status()).toBe(403);
    expect(await refused.textContent('#message-erreur')).toMatch(/n’est pas un certificat d’authentification de carte CPS reconnu/);
    await shot(refused, '9-workstation-refused');
    await stranger.close();
  });
});
