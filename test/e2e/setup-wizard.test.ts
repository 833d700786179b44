import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BoxRunner } from '../../appliance/src/box-runner.js';
import { synthesizeStudy } from '../../appliance/src/dicom/synth/index.js';
import { readAck, sendMllp } from '../../appliance/src/hl7/index.js';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { startDmpForBox } from '../peers/dmp-for-box.js';
import type { DmpSimulator } from '../peers/dmp-sim/simulator.js';
import { startPscSimulator, DEFAULT_CLIENT, type PscSimulator } from '../peers/psc-sim/server.js';
import { freePort, waitFor } from '../peers/ports.js';
import { oruForStudy, testNir } from '../fixtures/hl7/report-message.js';
import { helene } from '../fixtures/hl7/generate.js';
import { SCREENSHOT_DIR } from './viewer-harness.js';
import { cspWatchedContext } from './csp-watch.js';
import { PRACTICE_SCREENS_CSP } from '../../appliance/src/http/page-headers.js';

/**
 * A box with an empty data folder set up through the whole wizard on the touch screen, in Debian's Chromium with touch
 * events, typing only on the on-screen keyboard: against a real Orthanc (declared as the PACS; the box declared in
 * Orthanc during the test, to see the failure before), the DMP simulator (certificates from a "USB stick") and the PSC
 * simulator; the RIS's test message shown as it arrives; then a real report published to the DMP. The failure paths
 * on the way: PACS unreachable, wrong PACS AE title, box not declared in the PACS, expired certificate, wrong PKCS#12
 * password; then five wrong PINs. Prints the time from the first screen to the published KOS.
 */
const KEYBOARD = '#clavier-ecran';
let work: string;
let orthanc: OrthancPeer;
let dmp: { sim: DmpSimulator; xds: Record<string, unknown> };
let psc: PscSimulator;
let runner: BoxRunner;
let boxEnv: NodeJS.ProcessEnv;
let browser: Browser;
let kiosk: string;
let lan: string;
let usbDir: string;
let p12Password: string;
const ports: Record<string, number> = {};
const studies: { uid: string; ins: string }[] = [];
const PIN = '482916';

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `setup-${name}.png`), fullPage: true });
}

async function noSidewaysScroll(page: Page): Promise<void> {
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  expect(scroll, `${page.url()} scrolls sideways`).toBeLessThanOrEqual(width);
}

const keySelector = (name: string) => `${KEYBOARD} [data-skbtn="${name.replace(/["\\]/g, '\\$&')}"]`;

/** Taps one character on the on-screen keyboard, switching layers (capitals, symbols, accents) until its key shows. */
async function tapChar(page: Page, ch: string, layout: string): Promise<void> {
  // The AE-title layout names its letters in lowercase and types them in capitals.
  const names = ch === ' ' ? ['{space}'] : [layout === 'ae' ? ch.toLowerCase() : ch];
  for (let attempt = 0; attempt < 6; attempt++) {
    for (const name of names) {
      const key = page.locator(keySelector(name));
      if ((await key.count()) > 0 && (await key.first().isVisible())) {
        await key.first().tap();
        return;
      }
    }
    const switches = ['{shift}', '{sym}', '{accents}', '{abc}'];
    const available = [];
    for (const s of switches) if ((await page.locator(keySelector(s)).count()) > 0) available.push(s);
    await page.locator(keySelector(available[attempt % available.length]!)).first().tap();
  }
  throw new Error(`no key types "${ch}" on the on-screen keyboard`);
}

/** Types into a field only through the on-screen keyboard; clears what it holds first (with ⌫). */
async function typeInto(page: Page, field: string, text: string): Promise<void> {
  await page.tap(field);
  await page.waitForSelector(`${KEYBOARD}:not([hidden])`);
  const existing = (await page.inputValue(field)).length;
  await page.evaluate((sel) => {
    const input = document.querySelector<HTMLInputElement>(sel)!;
    input.setSelectionRange(input.value.length, input.value.length);
  }, field);
  for (let i = 0; i < existing; i++) await page.tap(keySelector('{bksp}'));
  const layout = (await page.getAttribute(field, 'data-clavier')) ?? 'texte';
  for (const ch of text) await tapChar(page, ch, layout);
  expect(await page.inputValue(field)).toBe(text);
}

async function hideKeyboard(page: Page): Promise<void> {
  const hide = page.locator(keySelector('{hide}'));
  if ((await hide.count()) > 0 && (await hide.first().isVisible())) await hide.first().tap();
}

async function next(page: Page, step: string): Promise<void> {
  await hideKeyboard(page);
  await Promise.all([page.waitForURL(new RegExp(`/setup/etape/${step}$`)), page.tap('#suivant')]);
  await noSidewaysScroll(page);
}

/** Taps a button that posts its form, and waits for the page the box answers with. */
async function submit(page: Page, button: string): Promise<void> {
  await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && r.request().isNavigationRequest()), page.tap(button)]);
  await page.waitForLoadState('load');
}

async function test(page: Page, result: string): Promise<{ ok: string | null; reason: string | null; text: string }> {
  await hideKeyboard(page);
  await submit(page, '#tester');
  await page.waitForSelector(result);
  const el = page.locator(result);
  return { ok: await el.getAttribute('data-ok'), reason: await el.getAttribute('data-raison'), text: (await el.textContent()) ?? '' };
}

/** A certificate of the simulator's CA already expired (openssl -days -1), as a PKCS#12 with the same password. */
function expiredPkcs12(out: string): void {
  const caKey = join(dirname(dmp.sim.caCertPath), 'ca.key');
  const tmp = join(work, 'expired');
  mkdirSync(tmp, { recursive: true });
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, P12: p12Password } });
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', '/C=FR/OU=499700367909006/CN=DRIMbox', '-keyout', join(tmp, 'key.pem'), '-out', join(tmp, 'csr.pem')]);
  openssl(['x509', '-req', '-in', join(tmp, 'csr.pem'), '-CA', dmp.sim.caCertPath, '-CAkey', caKey, '-set_serial', '77', '-days', '-1', '-out', join(tmp, 'cert.pem')]);
  openssl(['pkcs12', '-export', '-inkey', join(tmp, 'key.pem'), '-in', join(tmp, 'cert.pem'), '-certfile', dmp.sim.caCertPath, '-passout', 'env:P12', '-out', out]);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'drimbox-setup-e2e-'));
  for (const name of ['http', 'lan', 'kiosk', 'hl7', 'dimse']) ports[name] = await freePort();
  orthanc = await startOrthanc();
  for (let i = 0; i < 3; i++) {
    const ins = testNir(`285127511224${i}`);
    const s = await synthesizeStudy({ modality: 'CT', instances: 3, rows: 32, columns: 32, outDir: join(work, `study${i}`), patient: { name: 'LEFÈVRE-NOËL^HÉLÈNE', id: ins } });
    for (const f of s.files) await orthanc.upload(readFileSync(f));
    studies.push({ uid: s.studyInstanceUid, ins });
  }
  // The third exam's patient is unknown to the DMP: its publication is refused for good (a dead letter).
  dmp = await startDmpForBox(join(work, 'dmp'), { knownPatients: studies.slice(0, 2).map((s) => s.ins) });
  p12Password = dmp.xds.tlsP12Password as string;
  psc = await startPscSimulator({ clients: [{ ...DEFAULT_CLIENT, redirectUris: [`http://127.0.0.1:${ports.http}/portal/callback`] }] });
  // The technician's USB stick: the structure's certificate, an expired one, the DMP's CAs.
  usbDir = join(work, 'usb');
  mkdirSync(usbDir);
  copyFileSync(dmp.xds.tlsP12File as string, join(usbDir, 'cabinet-org.p12'));
  copyFileSync(dmp.sim.caCertPath, join(usbDir, 'igc-sante.pem'));
  expiredPkcs12(join(usbDir, 'ancien-expire.p12'));
  // What the vendor's image and the fleet set (device variables): loopback ports for the test, the software's DMP
  // identifiers. Nothing about the practice: that is the wizard's.
  const env: NodeJS.ProcessEnv = {
    DRIMBOX_DATA_DIR: join(work, 'data'),
    DRIMBOX_HTTP_HOST: '127.0.0.1',
    DRIMBOX_HTTP_PORT: String(ports.http),
    DRIMBOX_HTTP_TLS_ENABLED: 'false',
    DRIMBOX_LAN_HOST: '127.0.0.1',
    DRIMBOX_LAN_PORT: String(ports.lan),
    DRIMBOX_KIOSK_PORT: String(ports.kiosk),
    DRIMBOX_HL7_HOST: '127.0.0.1',
    DRIMBOX_HL7_PORT: String(ports.hl7),
    DRIMBOX_DIMSE_PORT: String(ports.dimse),
    DRIMBOX_DIMSE_LISTEN_HOST: '127.0.0.1',
    DRIMBOX_SOURCE_STABLE_AFTER_MS: '0',
    DRIMBOX_SOURCE_RECHECK_MS: '300',
    DRIMBOX_ACCESS_REQUIRE_WHITELISTED: 'false',
    DRIMBOX_DEVICE_UPDATE_LOCK_FILE: '',
    DRIMBOX_DEVICE_STOP_GRACE_SECONDS: '5',
    DRIMBOX_SETUP_USB_DIR: usbDir,
    DRIMBOX_XDS_SOURCE_ID_OID: dmp.xds.sourceIdOid as string,
    DRIMBOX_XDS_LPS_ID: 'DRIMBOX-TEST',
    DRIMBOX_XDS_LPS_HOMOLOGATION_ID: 'HOMOLOGATION-TEST',
    DRIMBOX_LOG_LEVEL: 'error',
  };
  boxEnv = env;
  runner = new BoxRunner(join(work, 'data', 'config.json'), {}, env);
  await runner.start();
  kiosk = `http://127.0.0.1:${ports.kiosk}`;
  lan = `http://127.0.0.1:${ports.lan}`;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await runner?.stop(0);
  await psc?.stop();
  await dmp?.sim.stop();
  await orthanc?.stop();
  rmSync(work, { recursive: true, force: true });
});
/** Pages the screens' Content Security Policy broke (a script, style or image it refused). */
const refusedByCsp: string[] = [];
afterEach(() => {
  expect(refusedByCsp.splice(0), 'refused by the Content Security Policy').toEqual([]);
});


describe('first-run wizard on the touch screen (800×480, on-screen keyboard only)', () => {
  it('goes from an empty box to a published KOS', async () => {
    const context = await cspWatchedContext(browser, { viewport: { width: 800, height: 480 }, hasTouch: true, locale: 'fr-FR' }, refusedByCsp);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    const started = Date.now();

    await page.goto(`${kiosk}/`);
    await page.waitForURL(/\/setup\/etape\/identite$/);
    expect(await page.textContent('#compteur')).toBe('Étape 1 sur 10');
    await typeInto(page, '#champ-structureName', 'Cabinet de radiologie du Parc');
    await typeInto(page, '#champ-structureId', '499700367919006'); // a mistyped digit: the key says so
    await hideKeyboard(page);
    await page.tap('#suivant');
    await page.waitForSelector('#erreur-structureId');
    expect(await page.textContent('#erreur-structureId')).toContain('clé de contrôle');
    await typeInto(page, '#champ-structureId', '499700367909006');
    await typeInto(page, '#champ-boxName', 'Salle 1');
    await shot(page, '01-identite');
    const box = await page.locator('#suivant').boundingBox();
    expect(box!.height).toBeGreaterThanOrEqual(44);
    await next(page, 'reseau');

    expect(await page.textContent('#nom-hote')).not.toBe('');
    expect(await page.textContent('#horloge')).toMatch(/[Hh]orloge/);
    await typeInto(page, '#champ-publicBaseUrl', `http://127.0.0.1:${ports.http}/dicom-web`);
    await shot(page, '02-reseau');
    await next(page, 'pacs');

    // PACS: first a port nobody listens on, then a wrong AE title, then right.
    const closedPort = await freePort();
    await typeInto(page, '#champ-pacsAeTitle', 'ORTHANC');
    await typeInto(page, '#champ-pacsHost', '127.0.0.1');
    await typeInto(page, '#champ-pacsPort', String(closedPort));
    let r = await test(page, '#resultat-echo');
    expect(r).toMatchObject({ ok: 'false', reason: 'unreachable' });
    expect(r.text).toContain('injoignable');
    await shot(page, '03-pacs-injoignable');
    await typeInto(page, '#champ-pacsPort', String(orthanc.dicomPort));
    await typeInto(page, '#champ-pacsAeTitle', 'PACS_FAUX');
    r = await test(page, '#resultat-echo');
    expect(r).toMatchObject({ ok: 'false', reason: 'pacs-refused-called-ae' });
    expect(r.text).toContain('l’AE title du PACS est faux');
    await shot(page, '04-pacs-mauvais-ae');
    await typeInto(page, '#champ-pacsAeTitle', 'ORTHANC');
    expect(await page.inputValue('#champ-boxAeTitle')).toBe('DRIMBOX');
    await typeInto(page, '#champ-dicomwebUrl', orthanc.dicomwebUrl);
    r = await test(page, '#resultat-echo');
    expect(r.ok).toBe('true');
    await shot(page, '05-pacs');
    await next(page, 'pacs-retour');

    // A power cut: the process goes, another starts on the same data folder; the wizard resumes where it stopped.
    await runner.stop(0);
    runner = new BoxRunner(join(work, 'data', 'config.json'), {}, boxEnv);
    await runner.start();
    await page.goto(`${kiosk}/setup`);
    await page.waitForURL(/\/setup\/etape\/pacs-retour$/);
    expect(runner.box.wizard.answers('pacs')).toMatchObject({ pacsAeTitle: 'ORTHANC', pacsPort: String(orthanc.dicomPort) });

    // PACS → box: what to declare, the failure while the box is not declared, then both ways.
    expect(await page.textContent('#declarer-ae')).toBe('DRIMBOX');
    expect(await page.textContent('#declarer-adresse')).toBe('127.0.0.1');
    expect(await page.textContent('#declarer-port')).toBe(String(ports.dimse));
    r = await test(page, '#resultat-retour');
    expect(r.ok).toBe('false');
    expect(r.text).toMatch(/ne connaît pas|déclarez/);
    await shot(page, '06-pacs-retour-non-declare');
    await orthanc.rest('/modalities/drimbox', { method: 'PUT', body: JSON.stringify({ AET: 'DRIMBOX', Host: '127.0.0.1', Port: ports.dimse }) });
    r = await test(page, '#resultat-retour');
    expect(r.ok).toBe('true');
    expect(await page.getAttribute('#resultat-get', 'data-ok')).toBe('true');
    expect(await page.getAttribute('#resultat-move', 'data-ok')).toBe('true');
    expect(await page.getAttribute('#resultat-qido', 'data-ok')).toBe('true');
    expect(await page.getAttribute('#methode-choisie', 'data-methode')).toBe('C-GET');
    expect(await page.isChecked('#choix-retrieve-C-GET')).toBe(true);
    await shot(page, '07-pacs-retour');
    await next(page, 'ris');

    // RIS: the address and port to give; the vendor's test message lights the screen up, without a reload.
    expect(await page.textContent('#ris-port')).toBe(String(ports.hl7));
    expect(await page.locator('#ris-attente').count()).toBe(1);
    await shot(page, '08-ris-attente');
    const first = studies[0]!;
    const ack = readAck(await sendMllp('127.0.0.1', ports.hl7!, oruForStudy({ studyUid: first.uid, patient: { ...helene, ins: first.ins }, accession: 'ACC-SETUP-1', controlId: 'SETUP-TEST-1' }), { timeoutMs: 10_000 }));
    expect(ack.code).toBe('AA');
    await page.waitForSelector('#ris-message', { timeout: 10_000 });
    expect(await page.textContent('#ris-type')).toBe('ORU^R01');
    expect(await page.textContent('#ris-emetteur')).toBe('RIS^CABINET');
    expect(await page.textContent('#ris-patient')).toContain(first.ins);
    expect(await page.textContent('#ris-ack')).toContain('AA');
    expect(await page.isChecked('#ris-restreindre')).toBe(true);
    await shot(page, '09-ris-recu');
    await next(page, 'certificat');

    // Certificates from the USB stick: an expired one, then the right one with a wrong password, then right.
    expect(await page.locator('[data-fichier="cabinet-org.p12"]').count()).toBe(1);
    await submit(page, '[data-fichier="ancien-expire.p12"]');
    await page.waitForSelector('[data-fichier="igc-sante.pem"]');
    await submit(page, '[data-fichier="igc-sante.pem"]');
    await page.waitForFunction(() => document.querySelector('#ca-retenu')?.textContent === 'autorites-dmp.pem');
    await typeInto(page, '#champ-p12Password', p12Password);
    r = await test(page, '#resultat-certificat');
    expect(r).toMatchObject({ ok: 'false', reason: 'expired' });
    expect(r.text).toContain('le certificat a expiré');
    await shot(page, '10-certificat-expire');
    await submit(page, '[data-fichier="cabinet-org.p12"]');
    await page.waitForSelector('#champ-p12Password');
    await typeInto(page, '#champ-p12Password', 'mauvais-mot');
    r = await test(page, '#resultat-certificat');
    expect(r).toMatchObject({ ok: 'false', reason: 'wrong-password' });
    expect(r.text).toContain('mot de passe du certificat incorrect');
    await shot(page, '11-certificat-mauvais-mot-de-passe');
    await typeInto(page, '#champ-p12Password', p12Password);
    r = await test(page, '#resultat-certificat');
    expect(r.ok).toBe('true');
    expect(await page.textContent('#certificat-titulaire')).toContain('499700367909006');
    expect(await page.textContent('#certificat-chaine')).toContain('vérifiée jusqu’aux autorités');
    await shot(page, '12-certificat');
    await next(page, 'dmp');

    await page.tap('#choix-environment-autre');
    await typeInto(page, '#champ-baseUrl', dmp.sim.url);
    r = await test(page, '#resultat-dmp');
    expect(r.ok).toBe('true');
    await shot(page, '13-dmp');
    await next(page, 'psc');

    await page.tap('#choix-environment-autre');
    await typeInto(page, '#champ-issuer', psc.issuer);
    await typeInto(page, '#champ-clientId', DEFAULT_CLIENT.clientId);
    await typeInto(page, '#champ-clientSecret', DEFAULT_CLIENT.clientSecret);
    expect(await page.textContent('#psc-retour')).toBe(`http://127.0.0.1:${ports.http}/portal/callback`);
    r = await test(page, '#resultat-psc');
    expect(r.ok).toBe('true');
    await shot(page, '14-psc');
    await next(page, 'pin');

    await typeInto(page, '#champ-pin', PIN);
    await typeInto(page, '#champ-pinConfirmation', PIN);
    await shot(page, '15-pin');
    await next(page, 'resume');

    expect(await page.locator('#etapes-incompletes').count()).toBe(0);
    await shot(page, '16-resume');
    await Promise.all([page.waitForURL(/\/status/, { timeout: 60_000 }), page.tap('#appliquer')]);
    await noSidewaysScroll(page);
    await shot(page, '17-status');

    // The configuration on disk is the wizard's, validated, and the services run on it.
    const config = runner.box.config;
    expect(config.setup.completedAt).not.toBe('');
    expect(config.pacs).toMatchObject({ aeTitle: 'ORTHANC', port: orthanc.dicomPort, retrieve: 'C-GET', dicomwebUrl: orthanc.dicomwebUrl });
    expect(config.xds.structure).toEqual({ id: '499700367909006', name: 'Cabinet de radiologie du Parc' });
    expect(config.ris.allowedAddresses).toEqual(['127.0.0.1']);
    expect(config.setup.adminPinHash).toMatch(/^scrypt\$/);
    expect(readFileSync(join(work, 'data', 'config.json'), 'utf8')).not.toContain(PIN);

    // A real report, as the RIS sends it when the radiologist signs: published to the DMP.
    const second = studies[1]!;
    const ack2 = readAck(await sendMllp('127.0.0.1', ports.hl7!, oruForStudy({ studyUid: second.uid, patient: { ...helene, ins: second.ins }, accession: 'ACC-SETUP-2', controlId: 'SETUP-REAL-2' }), { timeoutMs: 10_000 }));
    expect(ack2.code).toBe('AA');
    await waitFor(async () => runner.box.archive.activeForStudy(second.uid) !== undefined && runner.box.outbox.counts().done >= 2, 60_000, 'both reports published to the DMP');
    const elapsed = (Date.now() - started) / 1000;
    const kos = runner.box.archive.activeForStudy(second.uid)!;
    expect(dmp.sim.db.entryByUniqueId(kos.sopInstanceUid)).toBeDefined(); // at the DMP, under the KOS's SOP Instance UID
    process.stdout.write(`setup wizard: first screen to published KOS in ${elapsed.toFixed(1)} s (800×480, on-screen keyboard only)\n`);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('shows a publication the DMP refuses on the open status screen without a reload, and retries it from there', async () => {
    const context = await cspWatchedContext(browser, { viewport: { width: 800, height: 480 }, hasTouch: true, locale: 'fr-FR' }, refusedByCsp);
    const page = await context.newPage();
    await page.goto(`${kiosk}/`);
    await page.waitForURL(/\/status$/);
    expect(await page.getAttribute('#tuile-dmp', 'data-niveau')).toBe('ok');
    expect(await page.locator('tr.publication').count()).toBe(2);
    await page.evaluate(() => ((window as unknown as { pasRecharge: boolean }).pasRecharge = true));
    const third = studies[2]!;
    const ack = readAck(await sendMllp('127.0.0.1', ports.hl7!, oruForStudy({ studyUid: third.uid, patient: { ...helene, ins: third.ins }, accession: 'ACC-SETUP-3', controlId: 'SETUP-REAL-3' }), { timeoutMs: 10_000 }));
    expect(ack.code).toBe('AA');
    await page.waitForSelector('#tuile-dmp[data-niveau="error"]', { timeout: 60_000 });
    expect(await page.evaluate(() => (window as unknown as { pasRecharge?: boolean }).pasRecharge)).toBe(true); // refreshed in place
    expect(await page.textContent('#tuile-dmp')).toContain('refusées par le DMP');
    const letter = page.locator('li.refus').first();
    const id = Number(await letter.getAttribute('data-id'));
    expect(await letter.textContent()).toMatch(/publication/);
    await noSidewaysScroll(page);
    await shot(page, '17b-status-refus');
    const attempts = runner.box.outbox.get(id)!.attempts;
    await Promise.all([page.waitForURL(/reessaye=1/), letter.locator('button.reessayer').tap()]);
    expect(await page.textContent('#message-statut')).toContain('1 publication(s) remise(s) en file');
    await waitFor(async () => runner.box.outbox.get(id)!.attempts > attempts, 30_000, 'the retried publication sent again');
    await context.close();
  });

  it('at 1280×800: asks for the PIN, shows every screen without sideways scroll, applies again (services restart in place)', async () => {
    const context = await cspWatchedContext(browser, { viewport: { width: 1280, height: 800 }, hasTouch: true, locale: 'fr-FR' }, refusedByCsp);
    const page = await context.newPage();
    const startedBefore = ((await (await fetch(`${kiosk}/setup/etat`)).json()) as { startedAt: string }).startedAt;
    await page.goto(`${kiosk}/`);
    await page.waitForURL(/\/status/); // set up: the touch screen's home is the status
    await page.goto(`${kiosk}/setup`);
    await page.waitForURL(/\/setup\/code/); // changing a setting asks for the PIN
    await typeInto(page, '#champ-pin', PIN);
    await hideKeyboard(page);
    await Promise.all([page.waitForURL(/\/setup\/etape\/identite$/), page.tap('#valider-code')]);
    const steps = ['identite', 'reseau', 'pacs', 'pacs-retour', 'ris', 'certificat', 'dmp', 'psc', 'pin', 'resume'];
    for (const [i, step] of steps.entries()) {
      expect(page.url()).toMatch(new RegExp(`/setup/etape/${step}$`));
      await noSidewaysScroll(page);
      await shot(page, `1280-${String(i + 1).padStart(2, '0')}-${step}`);
      if (step !== 'resume') await next(page, steps[i + 1]!);
    }
    expect(await page.locator('#etapes-incompletes').count()).toBe(0);
    // A restart first lets in-flight work end (up to device.stopGraceSeconds): this test is about the restart, so it
    // applies on an idle box, and says what was still running if the box does not get idle.
    await waitFor(async () => runner.box.busy() === 0, 60_000, 'an idle box before applying').catch((err: Error) => {
      throw new Error(`${err.message}; in flight: ${JSON.stringify(runner.box.appliance.work.byKind())}`);
    });
    // The page that waits for the restart is shown as the services stop: what it would fetch then (its script, its
    // style) may meet a closed port. It must come back on its own with nothing but itself.
    await page.route('**/setup/assets/**', (route) => route.abort('connectionrefused'));
    await Promise.all([page.waitForURL(/\/status/, { timeout: 60_000 }), page.tap('#appliquer')]);
    await page.unroute('**/setup/assets/**');
    const startedAfter = ((await (await fetch(`${kiosk}/setup/etat`)).json()) as { startedAt: string }).startedAt;
    expect(startedAfter > startedBefore).toBe(true); // the services restarted; the process did not
    expect(readFileSync(join(work, 'data', 'config.json.previous'), 'utf8')).toContain('ORTHANC');
    await context.close();
  });

  it('from a LAN browser: the PIN first, a certificate sent from the computer, and no change from a forged form', async () => {
    const context = await cspWatchedContext(browser, { viewport: { width: 1280, height: 800 } }, refusedByCsp);
    const page = await context.newPage();
    expect((await page.request.get(`${lan}/api/device/status`)).status()).toBe(401); // the PIN exists: the detail needs it
    await page.goto(`${lan}/status`);
    await page.waitForURL(/\/setup\/code/);
    await page.fill('#champ-pin', PIN);
    await Promise.all([page.waitForURL(/\/status/), page.click('#valider-code')]);
    expect((await page.request.get(`${lan}/api/device/status`)).status()).toBe(200);
    const certificatePage = await page.goto(`${lan}/setup/etape/certificat`);
    // Served by the running box as the unit tests expect it: not framed, not cached, its own files only.
    expect(await certificatePage!.headerValue('content-security-policy')).toBe(PRACTICE_SCREENS_CSP);
    expect(await certificatePage!.headerValue('x-frame-options')).toBe('DENY');
    expect(await certificatePage!.headerValue('cache-control')).toBe('no-store');
    await page.setInputFiles('#formulaire-envoi input[name="p12"]', dmp.xds.tlsP12File as string);
    await page.setInputFiles('#formulaire-envoi input[name="ca"]', dmp.sim.caCertPath);
    await Promise.all([page.waitForResponse((r) => r.url().endsWith('/setup/certificat/envoi')), page.click('#formulaire-envoi button')]);
    await page.waitForSelector('#p12-retenu');
    expect(await page.textContent('#p12-retenu')).toBe('structure.p12');
    await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('#tester')]);
    await page.waitForSelector('#resultat-certificat[data-ok="true"]');
    await shot(page, '19-lan-certificat-envoye');
    // A form without the session's token changes nothing.
    const forged = await page.request.post(`${lan}/setup/etape/pacs`, { form: { action: 'suivant', pacsHost: '10.6.6.6' }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    expect(runner.box.wizard.answers('pacs').pacsHost).toBe('127.0.0.1');
    await context.close();
  });

  it('locks the touch screen’s PIN after five wrong ones, and not the LAN’s', async () => {
    const context = await cspWatchedContext(browser, { viewport: { width: 800, height: 480 }, hasTouch: true, locale: 'fr-FR' }, refusedByCsp);
    const page = await context.newPage();
    await page.goto(`${kiosk}/setup/etape/pacs`);
    await page.waitForURL(/\/setup\/code/);
    for (let i = 1; i <= 5; i++) {
      await typeInto(page, '#champ-pin', '000000');
      await hideKeyboard(page);
      await submit(page, '#valider-code');
      await page.waitForSelector('#message-pin');
      if (i < 5) expect(await page.textContent('#message-pin')).toContain(`Encore ${5 - i} essai`);
    }
    expect(await page.textContent('#message-pin')).toMatch(/Trop de codes erronés : saisie bloquée pendant 5 minutes/);
    expect(await page.locator('#champ-pin').count()).toBe(0);
    await shot(page, '20-code-bloque');
    const lanPage = await (await cspWatchedContext(browser, { viewport: { width: 1280, height: 800 } }, refusedByCsp)).newPage();
    await lanPage.goto(`${lan}/setup`);
    await lanPage.fill('#champ-pin', PIN);
    await Promise.all([lanPage.waitForURL(/\/setup\/etape\//), lanPage.click('#valider-code')]);
    await context.close();
  });
});
