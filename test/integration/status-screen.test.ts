import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../appliance/src/store/database.js';
import { Outbox } from '../../appliance/src/store/outbox.js';
import { ReportInbox } from '../../appliance/src/store/report-inbox.js';
import { KosArchive } from '../../appliance/src/store/kos-archive.js';
import { createStatusReporter } from '../../appliance/src/device/status-report.js';
import { runHealthChecks, type HealthCheck } from '../../appliance/src/device/health.js';
import { mllpHealth } from '../../appliance/src/device/box-health.js';
import { DiskGuard } from '../../appliance/src/device/disk-guard.js';
import { FolderSize } from '../../appliance/src/device/folder-size.js';
import { Appliance } from '../../appliance/src/device/appliance.js';
import { deviceConfigSchema } from '../../appliance/src/device/config-schema.js';
import { createPacsBridge } from '../../appliance/src/dimse/index.js';
import { readAck, sendMllp, startMllpServer, type MllpServer } from '../../appliance/src/hl7/index.js';
import { createHl7Intake } from '../../appliance/src/source/report-intake.js';
import { AdminGate } from '../../appliance/src/setup/admin-gate.js';
import { createLanApp, type LanEnv, type LanOrigin } from '../../appliance/src/http/lan-app.js';
import { createStatusRoutes } from '../../appliance/src/http/status-routes.js';
import { RisCredential } from '../../appliance/src/auth/ris/index.js';
import { createLogger } from '../../appliance/src/log/logger.js';
import { BOX_VERSION } from '../../appliance/src/version.js';
import { startStorescp, type StoreScpPeer } from '../peers/dcmtk.js';
import { freePort } from '../peers/ports.js';
import { oruForStudy, testNir } from '../fixtures/hl7/report-message.js';
import { helene } from '../fixtures/hl7/generate.js';
import { cspWatchedContext } from '../e2e/csp-watch.js';

/**
 * The status screen as the touch screen shows it, in Debian's Chromium with touch events: real stores on a SQLite file,
 * a real C-ECHO to dcmtk's storescp (the PACS), a real MLLP listener and intake (the RIS), the real disk, cache walker
 * and host sampler; the routes behind the real session and form-token middleware. Changes in the data show on the open
 * page without a reload; "Réessayer" retries a dead letter; the page says when the box cannot be reached.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SHOTS = join(process.cwd(), 'test-results', 'screenshots');
const log = createLogger({ test: 'status-screen' });

let work: string;
let db: Db;
let outbox: Outbox;
let inbox: ReportInbox;
let archive: KosArchive;
let pacs: StoreScpPeer;
let mllp: MllpServer;
let appliance: Appliance;
let browser: Browser;
let kioskServer: ServerType;
let kioskPort: number;
let lanServer: ServerType;
let lan: string;
let dmpNotAfter = new Date(Date.now() + 10 * DAY);
/** How far ahead of the real clock the report looks: "two hours later" without waiting two hours. */
let later = 0;
let messages = 0;
const testReports: string[] = [];

async function sendReport(controlId: string): Promise<void> {
  messages++;
  const message = oruForStudy({ studyUid: `1.2.826.0.1.3680043.10.1558.7.${messages}`, patient: { ...helene, ins: testNir(`28512751122${String(messages).padStart(2, '0')}`) }, accession: `ACC-ST-${messages}`, controlId });
  const ack = readAck(await sendMllp('127.0.0.1', mllp.port, message, { timeoutMs: 10_000 }));
  if (ack.code !== 'AA') throw new Error(`test report ${controlId}: ${ack.code} ${ack.text ?? ''}`);
}

function appFor(origin: LanOrigin, gate: AdminGate): Hono<LanEnv> {
  const checks: HealthCheck[] = [
    {
      name: 'pacs',
      run: async () => {
        await bridge.echo();
        return 'C-ECHO OK';
      },
    },
    { name: 'hl7', run: async () => mllpHealth(mllp.port, mllp.stats()) },
  ];
  const disk = new DiskGuard(work, 1_048_576);
  const cache = new FolderSize(join(work, 'consumer-cache'), 0);
  const reporter = createStatusReporter({
    health: () => runHealthChecks(checks),
    outbox,
    inbox,
    archive,
    dmpConfigured: true,
    certificates: () => [
      { id: 'dmp', notAfter: dmpNotAfter },
      { id: 'tls', notAfter: new Date(Date.now() + 400 * DAY) },
    ],
    disk: () => disk.check(),
    minFreeBytes: 1_048_576,
    cacheBytes: () => cache.current(),
    host: () => appliance.host.latest(),
    device: () => appliance.status(),
    version: BOX_VERSION,
    now: () => Date.now() + later,
  });
  const setupCss = readFileSync(new URL('../../ui/setup/assets/setup.css', import.meta.url), 'utf8');
  return createLanApp(
    {
      clientAddress: () => '127.0.0.1',
      ris: new RisCredential({ httpToken: '', allowedAddresses: [] }),
      mount: (lanApp) => {
        lanApp.get('/setup/assets/setup.css', (c) => c.body(setupCss, 200, { 'content-type': 'text/css; charset=utf-8' }));
        lanApp.route(
          '/status',
          createStatusRoutes({
            access: { gate, isSetUp: () => true, secureLan: false },
            report: reporter.report,
            outbox,
            wake: () => undefined,
            boxName: 'Cabinet Test',
            sendTestReport: async () => {
              const id = `STATUS-TEST-${testReports.length + 1}`;
              testReports.push(id);
              await sendReport(id);
            },
            log,
          }),
        );
      },
    },
    origin,
  );
}

let bridge: ReturnType<typeof createPacsBridge>;
let gate: AdminGate;

async function start(app: Hono<LanEnv>, port = 0): Promise<ServerType> {
  const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
  return server;
}

async function stop(server: ServerType): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}

const kiosk = () => `http://127.0.0.1:${kioskPort}`;

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `status-${name}.png`), fullPage: true });
}

const level = (page: Page, id: string) => page.getAttribute(`#tuile-${id}`, 'data-niveau');

/** Every tile's level, by id. */
async function levels(page: Page): Promise<Record<string, string | null>> {
  return page.$$eval('.tuile', (tiles) => Object.fromEntries(tiles.map((t) => [t.id.replace('tuile-', ''), t.getAttribute('data-niveau')])));
}

/** Layout facts at this viewport: sideways scroll, the smallest touch target, the tiles' columns. */
async function layout(page: Page): Promise<{ scrollWidth: number; width: number; small: string[]; columns: number }> {
  return page.evaluate(() => {
    const small: string[] = [];
    for (const el of Array.from(document.querySelectorAll('a, button, input:not([type="hidden"])'))) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue; // not shown
      if (r.width < 44 || r.height < 44) small.push(`${el.tagName} "${el.textContent?.trim()}" ${Math.round(r.width)}×${Math.round(r.height)}`);
    }
    const lefts = new Set(Array.from(document.querySelectorAll('.tuile')).map((t) => Math.round(t.getBoundingClientRect().left)));
    return { scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth, small, columns: lefts.size };
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'status-screen-'));
  mkdirSync(join(work, 'consumer-cache', 'study-1'), { recursive: true });
  writeFileSync(join(work, 'consumer-cache', 'study-1', 'frames.bin'), Buffer.alloc(3 * 1_048_576));
  db = openDatabase(join(work, 'drimbox.sqlite'));
  outbox = new Outbox(db);
  inbox = new ReportInbox(db);
  archive = new KosArchive(db);
  const pacsPort = await freePort();
  pacs = await startStorescp({ port: pacsPort, aeTitle: 'PACS', outDir: join(work, 'pacs') });
  bridge = createPacsBridge(
    { aeTitle: 'PACS', host: '127.0.0.1', port: pacsPort, retrieve: 'C-GET', dicomwebUrl: '', maxAssociations: 2 },
    { aeTitle: 'DRIMBOX' },
    { connectTimeoutMs: 3_000, responseTimeoutMs: 5_000, maxPduLength: 65_536 },
  );
  mllp = await startMllpServer({ port: 0, host: '127.0.0.1', handler: createHl7Intake({ inbox, log }), logger: log });
  appliance = new Appliance(deviceConfigSchema.parse({ updateLockFile: '' }), {}, log);
  await appliance.host.sample();
  await sendReport('STATUS-1');
  // A publication the DMP took.
  const { record } = archive.add({ sopInstanceUid: '1.2.826.0.1.3680043.10.1558.9.1', studyInstanceUid: '1.2.826.0.1.3680043.10.1558.8.1', patientIns: '285127511223309', accession: 'ACC-PUBLIEE', file: 'kos-1.dcm', bytes: 1, sha1: 'x', report: {}, refs: [{ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }] });
  outbox.enqueue({ op: 'publish', examKey: record.studyInstanceUid, uniqueId: record.sopInstanceUid, kosId: record.id, payload: {} });
  outbox.complete(outbox.claimDue(1)[0]!, { kind: 'success' });
  gate = new AdminGate({ maxPinFailures: 5, pinLockMinutes: 5, sessionIdleMinutes: 30 }, () => '');
  kioskServer = await start(appFor('kiosk', gate));
  kioskPort = (kioskServer.address() as AddressInfo).port;
  lanServer = await start(appFor('lan', gate));
  lan = `http://127.0.0.1:${(lanServer.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
});

afterAll(async () => {
  await browser?.close();
  if (kioskServer) await stop(kioskServer);
  if (lanServer) await stop(lanServer);
  await mllp?.close(0);
  await pacs?.stop();
  appliance?.stop();
  db?.close();
  rmSync(work, { recursive: true, force: true });
});
/** Pages the screens' Content Security Policy broke (a script, style or image it refused). */
const refusedByCsp: string[] = [];
afterEach(() => {
  expect(refusedByCsp.splice(0), 'refused by the Content Security Policy').toEqual([]);
});


describe('the status screen', () => {
  it('shows every tile with its level, fits 800×480, 1024×600 and 1280×800 without sideways scroll, fingers-sized', async () => {
    for (const [width, height, columns] of [
      [800, 480, 2],
      [1024, 600, 3],
      [1280, 800, 3],
    ] as const) {
      const context = await cspWatchedContext(browser, { viewport: { width, height }, hasTouch: true, locale: 'fr-FR' }, refusedByCsp);
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(err.message));
      page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && problems.push(m.text()));
      // Every resource the page asks for is served (the browser's own favicon request aside).
      page.on('response', (r) => r.status() >= 400 && !r.url().endsWith('/favicon.ico') && problems.push(`${r.status()} ${r.url()}`));
      const res = await page.goto(`${kiosk()}/status`);
      expect(res?.status()).toBe(200);
      expect(await levels(page)).toMatchObject({ pacs: 'ok', ris: 'ok', dmp: 'ok', certificates: 'warn', disk: 'ok', software: 'ok' });
      expect(await level(page, 'host')).not.toBe('unknown'); // sampled before: read, never probed on request
      expect(await page.textContent('#tuile-certificates')).toContain('expire dans moins de 30 jours');
      expect(await page.textContent('#tuile-ris')).toContain('ORU^R01');
      expect(await page.textContent('#tuile-software')).toContain(BOX_VERSION);
      expect(await page.locator('tr.publication').count()).toBe(1);
      expect(await page.textContent('tr.publication')).toContain('ACC-PUBLIEE');
      expect(await page.textContent('tr.publication')).toContain('publiée');
      expect(await page.getAttribute('a[href="/portal/"]', 'href')).toBe('/portal/');
      expect(await page.locator('a[href="/setup"]').count()).toBe(1);
      expect(await page.locator('#envoyer-essai').count()).toBe(1);
      const facts = await layout(page);
      expect(facts.scrollWidth, `${width}×${height} scrolls sideways`).toBeLessThanOrEqual(facts.width);
      expect(facts.small, `${width}×${height}: touch targets under 44 px`).toEqual([]);
      if (columns === 3) expect(facts.columns).toBeGreaterThanOrEqual(3);
      else expect(facts.columns).toBe(columns);
      await shot(page, `${width}x${height}`);
      expect(problems).toEqual([]); // no CSP refusal, no script error
      await context.close();
    }
  });

  it('shows a change in the data on the open page without a reload, and retries a dead letter when "Réessayer" is tapped', async () => {
    const context = await cspWatchedContext(browser, { viewport: { width: 800, height: 480 }, hasTouch: true, locale: 'fr-FR' }, refusedByCsp);
    const page = await context.newPage();
    await page.goto(`${kiosk()}/status`);
    expect(await level(page, 'dmp')).toBe('ok');
    expect(await page.locator('li.refus').count()).toBe(0);
    await page.evaluate(() => ((window as unknown as { sansRecharge: boolean }).sansRecharge = true));

    // The image cache is walked in the background: its size comes with a later refresh.
    await page.waitForFunction(() => document.querySelector('#tuile-disk')?.textContent?.includes('3 Mo'), undefined, { timeout: 60_000 });

    // The DMP refuses a publication for good.
    const row = outbox.enqueue({ op: 'publish', examKey: '1.2.826.0.1.3680043.10.1558.8.2', uniqueId: '1.2.826.0.1.3680043.10.1558.9.2', payload: {} });
    outbox.complete(outbox.claimDue(1)[0]!, { kind: 'permanent', code: 'XDSUnknownPatientId', text: 'aucun DMP pour ce patient' });
    expect(outbox.get(row.id)!.state).toBe('dead');
    await page.waitForSelector('#tuile-dmp[data-niveau="error"]', { timeout: 60_000 });
    const letter = page.locator(`li.refus[data-id="${row.id}"]`);
    await letter.waitFor({ timeout: 60_000 });
    expect(await letter.textContent()).toContain('XDSUnknownPatientId');
    expect(await page.textContent('#tuile-dmp')).toContain('refusées par le DMP');
    expect(await page.evaluate(() => (window as unknown as { sansRecharge?: boolean }).sansRecharge)).toBe(true); // refreshed in place
    const { scrollWidth, width } = await layout(page);
    expect(scrollWidth).toBeLessThanOrEqual(width);
    await shot(page, 'dead-letter-800x480');

    await Promise.all([page.waitForURL(/reessaye=1/), letter.locator('button.reessayer').tap()]);
    expect(outbox.get(row.id)!.state).toBe('pending');
    expect(await page.textContent('#message-statut')).toContain('1 publication(s) remise(s) en file');
    expect(await level(page, 'dmp')).toBe('ok');
    expect(await page.locator('li.refus').count()).toBe(0);

    // Two hours later the retried operation still waits: the tile turns amber, still without a reload...
    await page.evaluate(() => ((window as unknown as { sansRecharge: boolean }).sansRecharge = true));
    later = 2 * HOUR;
    // ... and an expired certificate turns its tile red.
    dmpNotAfter = new Date(Date.now() - DAY);
    await page.waitForSelector('#tuile-dmp[data-niveau="warn"]', { timeout: 60_000 });
    await page.waitForSelector('#tuile-certificates[data-niveau="error"]', { timeout: 60_000 });
    expect(await page.textContent('#tuile-dmp')).toContain('plus d’une heure');
    expect(await page.textContent('#tuile-certificates')).toMatch(/Certificat DMP \(jours restants\)expiré/);
    expect(await page.evaluate(() => (window as unknown as { sansRecharge?: boolean }).sansRecharge)).toBe(true);
    await shot(page, 'late-queue-800x480');
    later = 0;
    await context.close();
  });

  it('sends a test report through the RIS listener, and says when the PACS stops answering', async () => {
    const context = await cspWatchedContext(browser, { viewport: { width: 1280, height: 800 }, hasTouch: true, locale: 'fr-FR' }, refusedByCsp);
    const page = await context.newPage();
    await page.goto(`${kiosk()}/status`);
    const before = inbox.list({ limit: 1 })[0]!.id;
    await Promise.all([page.waitForURL(/essai=envoye/), page.locator('#envoyer-essai').tap()]);
    expect(testReports).toEqual(['STATUS-TEST-1']);
    const last = inbox.list({ limit: 1 })[0]!;
    expect(last.id).toBeGreaterThan(before);
    expect(last.controlId).toBe('STATUS-TEST-1');
    expect(await page.textContent('#message-statut')).toContain('Compte rendu de test envoyé');

    expect(await level(page, 'pacs')).toBe('ok');
    await pacs.stop();
    await page.waitForSelector('#tuile-pacs[data-niveau="error"]', { timeout: 60_000 });
    expect(await page.textContent('#tuile-pacs')).toContain('ne répond pas au C-ECHO');
    await shot(page, 'pacs-down-1280x800');
    await context.close();
  });

  it('says the box cannot be reached while it restarts, keeps trying, and comes back on its own', async () => {
    const context = await cspWatchedContext(browser, { viewport: { width: 800, height: 480 }, hasTouch: true, locale: 'fr-FR' }, refusedByCsp);
    const page = await context.newPage();
    await page.goto(`${kiosk()}/status`);
    await page.evaluate(() => window.scrollTo(0, 200));
    const scrolled = await page.evaluate(() => window.scrollY);
    expect(scrolled).toBeGreaterThan(0);
    await page.evaluate(() => ((window as unknown as { sansRecharge: boolean }).sansRecharge = true));
    await stop(kioskServer);
    await page.waitForSelector('#hors-ligne:not([hidden])', { timeout: 60_000 });
    expect(await page.textContent('#hors-ligne')).toContain('injoignable, nouvel essai');
    await shot(page, 'unreachable-800x480');
    kioskServer = await start(appFor('kiosk', gate), kioskPort);
    // Back: a change made while it was away shows, the notice goes, the page was never reloaded, the scroll kept.
    const row = outbox.enqueue({ op: 'publish', examKey: '1.2.826.0.1.3680043.10.1558.8.4', uniqueId: '1.2.826.0.1.3680043.10.1558.9.4', payload: {} });
    for (const claimed of outbox.claimDue(10)) outbox.complete(claimed, claimed.id === row.id ? { kind: 'permanent', text: 'refus pendant le redémarrage' } : { kind: 'success' });
    expect(outbox.get(row.id)!.state).toBe('dead');
    await page.locator(`li.refus[data-id="${row.id}"]`).waitFor({ timeout: 60_000 });
    await page.waitForSelector('#hors-ligne', { state: 'hidden', timeout: 60_000 });
    expect(await page.evaluate(() => (window as unknown as { sansRecharge?: boolean }).sansRecharge)).toBe(true);
    expect(await page.evaluate(() => window.scrollY)).toBe(scrolled);
    await context.close();
  });

  it('from the LAN: nothing without the PIN, and a form without the session’s token changes nothing', async () => {
    const page = await fetch(`${lan}/status`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toMatch(/^\/setup\/code/);
    expect((await fetch(`${lan}/status/report.json`, { redirect: 'manual' })).status).toBe(303);
    const dead = outbox.list({ state: 'dead', limit: 1 })[0]!;
    const forged = await fetch(`${kiosk()}/status/dead-letters/retry`, { method: 'POST', body: new URLSearchParams({ id: String(dead.id) }), redirect: 'manual' });
    expect(forged.status).toBe(403);
    expect(outbox.get(dead.id)!.state).toBe('dead');
  });

  it('refuses a retry that names no dead letter, and gives the report as JSON', async () => {
    const res = await fetch(`${kiosk()}/status`);
    const cookie = res.headers.getSetCookie()[0]!.split(';')[0]!;
    const token = /name="_csrf" value="([^"]+)"/.exec(await res.text())![1]!;
    for (const id of ['', '0', '-1', '1e3', 'tous', '12345678901234', ' 1']) {
      const r = await fetch(`${kiosk()}/status/dead-letters/retry`, { method: 'POST', headers: { cookie }, body: new URLSearchParams({ _csrf: token, id }), redirect: 'manual' });
      expect(r.status, `id "${id}"`).toBe(400);
      expect(await r.text()).toMatch(/Demande invalide/);
    }
    const report = (await (await fetch(`${kiosk()}/status/report.json`)).json()) as { tiles: { id: string; level: string; code: string }[]; deadLetters: { reason: string }[] };
    expect(report.tiles.find((t) => t.id === 'dmp')).toMatchObject({ level: 'error', code: 'dmp-dead-letters' });
    expect(report.deadLetters.map((d) => d.reason)).toContain('refus pendant le redémarrage');
    const all = await fetch(`${kiosk()}/status/dead-letters/retry`, { method: 'POST', headers: { cookie }, body: new URLSearchParams({ _csrf: token, id: 'all' }), redirect: 'manual' });
    expect(all.status).toBe(303);
    expect(all.headers.get('location')).toMatch(/reessaye=[1-9]/);
    expect(outbox.counts().dead).toBe(0);
  });
});
