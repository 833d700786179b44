import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { BERNARD, startConsumerBed, type ConsumerBed } from './consumer-bed.js';
import { sampleImage, profile, SCREENSHOT_DIR } from '../e2e/viewer-harness.js';
import { bernardContextCall } from '../fixtures/patients.js';

/** Each screen a radiologist sees, kept with the test results. */
async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `portal-${name}.png`), fullPage: true });
}

/**
 * The portal in Debian's headless Chromium, as a radiologist uses it: the RIS's page posts the contextual call, the
 * PSC simulator's login page, the exam list, the live progress of the transfer (the page's own script), the import.
 * The session cookie is Secure, as in production: Chromium accepts it on loopback.
 */

let bed: ConsumerBed;
let browser: Browser;
let ris: Server;
let risUrl: string;

beforeAll(async () => {
  // The source box on HTTPS, as its public port serves other DRIMboxes (consumer-flow.test.ts keeps plain HTTP: its
  // cut-and-resume test reads the requests it cuts).
  bed = await startConsumerBed({ examSizes: [30], settings: { secureCookies: true }, sourceTls: true });
  // The RIS: a page of another origin whose form posts the contextual call to the portal.
  const fields: Record<string, string> = bernardContextCall();
  const inputs = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`)
    .join('');
  ris = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>RIS</title><form id="f" method="post" action="${bed.portal}/portal/contexte">${inputs}<button id="voir">Voir les images</button></form>`);
  });
  await new Promise<void>((r) => ris.listen(0, '127.0.0.1', r));
  risUrl = `http://127.0.0.1:${(ris.address() as AddressInfo).port}/`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await new Promise<void>((r) => (ris ? ris.close(() => r()) : r()));
  await bed?.stop();
});

describe('consumer portal in headless Chromium', () => {
  it('RIS button → PSC login → exam list → live transfer → import into the local PACS', async () => {
    const page = await browser.newPage();
    const scriptErrors: string[] = [];
    page.on('pageerror', (e) => scriptErrors.push(e.message));
    page.on('response', (r) => {
      // The browser's own favicon requests are not the portal's business.
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) scriptErrors.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(risUrl);
    await shot(page, '1-ris');
    await Promise.all([page.waitForURL((u) => u.href.startsWith(bed.psc.issuer)), page.click('#voir')]);
    await page.selectOption('#professionnel', 'claire.martin');
    await page.fill('#motdepasse', 'psc-sim-2026');
    await shot(page, '2-psc-login');
    await Promise.all([page.waitForURL((u) => u.href.startsWith(`${bed.portal}/portal/patient/`)), page.click('#se-connecter')]);
    const cookies = await page.context().cookies(`${bed.portal}/portal/`);
    const session = cookies.find((c) => c.name === 'drimbox_portail');
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/portal' });

    expect(await page.textContent('#trait-nom-naissance')).toBe('BERNARD');
    expect(await page.textContent('#trait-ins')).toBe(BERNARD.ins);
    expect(await page.locator('tr.examen').count()).toBe(1);
    await shot(page, '3-patient-exams');

    bed.proxy.delayMs = 150; // a slow link, so that the transfer is seen in progress
    await Promise.all([page.waitForURL(/\/portal\/travaux\//), page.click('.ouvrir-examen')]);
    expect(await page.getAttribute('#travail', 'data-finished')).toBe('0');
    expect(['En attente', 'En cours']).toContain(await page.textContent('#etat-travail'));
    // The page's script moves the bar as the images arrive, on the same document (no reload yet).
    const initial = await page.evaluate(() => (document.querySelector('#progression') as HTMLProgressElement).value);
    await page.waitForFunction(
      (from) => {
        const bar = document.querySelector('#progression') as HTMLProgressElement | null;
        return !!bar && bar.value > from && bar.value < 30 && document.querySelector('#travail')?.getAttribute('data-finished') === '0';
      },
      initial,
      { timeout: 30_000 },
    );
    // The page's script follows the job and reloads the page once it is finished.
    await page.waitForSelector('#lien-visionneuse', { timeout: 60_000 });
    expect(await page.textContent('#etat-travail')).toBe('Terminé');
    expect(await page.textContent('#compteurs')).toContain('30 / 30 images');
    bed.proxy.delayMs = 0;
    await shot(page, '4-transfer-done');

    // The viewer, from the portal, over the box's own DICOMweb of its cache: the phantom on the canvas.
    const jobUrl = page.url();
    await Promise.all([page.waitForURL(/\/viewer\//), page.click('#lien-visionneuse')]);
    await page.waitForSelector('body[data-first-image-ms]', { timeout: 30_000 });
    await page.waitForTimeout(200);
    await shot(page, '5-viewer');
    expect(await page.textContent('#patient-name')).toContain('BERNARD');
    const { values } = await sampleImage(page, [{ fx: 0.03, fy: 0.03 }, { fx: 0.97, fy: 0.97 }, { fx: 0.5, fy: 0.5, r: 3 }]);
    const [cornerA, cornerB, centre] = values as [number, number, number];
    expect(cornerA).toBeLessThan(10); // air
    expect(cornerB).toBeLessThan(10);
    expect(centre).toBeGreaterThan(40); // brain, mid-grey in the brain window
    expect(centre).toBeLessThan(200);
    expect((await profile(page, 'column', 0.5)).some((v) => v > 235)).toBe(true); // the skull ring, top and bottom
    await page.goto(jobUrl);

    expect(await page.inputValue('#import-ipp')).toBe('STRAS-0042');
    expect(await page.isChecked('#import-coercion')).toBe(true);
    await Promise.all([page.waitForURL(/\/portal\/travaux\//), page.click('#bouton-import')]);
    await page.waitForFunction(() => document.querySelector('#travail')?.getAttribute('data-finished') === '1', undefined, { timeout: 60_000 });
    expect(await page.textContent('#etat-travail')).toBe('Terminé');
    await shot(page, '6-import-done');
    const patients = await bed.localPacs.rest<string[]>('/patients');
    const patient = await bed.localPacs.rest<{ MainDicomTags: { PatientID: string } }>(`/patients/${patients[0]}`);
    expect(patient.MainDicomTags.PatientID).toBe('STRAS-0042');
    expect((await bed.localPacs.rest<string[]>('/instances')).length).toBe(30);
    expect(scriptErrors).toEqual([]);
    await page.close();
  });
});
