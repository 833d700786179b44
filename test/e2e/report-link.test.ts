import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { reservedPorts, waitFor } from '../peers/ports.js';
import { startDmpForBox } from '../peers/dmp-for-box.js';
import type { DmpSimulator } from '../peers/dmp-sim/simulator.js';
import { startPscSimulator, type PscSimulator } from '../peers/psc-sim/server.js';
import { loopbackBoxConfig } from '../peers/box-config.js';
import { loadConfig } from '../../appliance/src/config/load.js';
import { startBox, type RunningBox } from '../../appliance/src/start-box.js';
import { synthesizeStudy } from '../../appliance/src/dicom/synth/index.js';
import { sendMllp } from '../../appliance/src/hl7/index.js';
import { oruForStudy } from '../fixtures/hl7/report-message.js';
import { BERNARD } from '../fixtures/patients.js';
import { CHROMIUM_ARGS, SCREENSHOT_DIR, sampleImage } from './viewer-harness.js';

/**
 * The link a source box puts in its reports: a professional clicks it, logs in with Pro Santé Connect on the source
 * box, and its viewer shows the exam the KOS published, loaded over the box's own DICOMweb with their token.
 */

let work: string;
let orthanc: OrthancPeer;
let dmp: DmpSimulator;
let psc: PscSimulator;
let box: RunningBox;
let browser: Browser;
let link: string;
let study: string;

const shot = async (page: Page, name: string) => {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `report-link-${name}.png`) });
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'drimbox-report-link-'));
  const [httpPort, dimsePort] = (await reservedPorts(2)) as [number, number];
  orthanc = await startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: dimsePort } } });
  const s = await synthesizeStudy({
    modality: 'CT', instances: 12, rows: 128, columns: 128, outDir: join(work, 'ct'), studyDescription: 'SCANNER CEREBRAL',
    patient: { name: 'BERNARD^JEAN', id: BERNARD.ins, issuer: 'ASIP-SANTE-INS-NIR', insOid: '1.2.250.1.213.1.4.10', birthDate: BERNARD.birthDate, sex: 'M' },
  });
  for (const f of s.files) await orthanc.upload(readFileSync(f));
  study = s.studyInstanceUid;
  const started = await startDmpForBox(join(work, 'dmp'));
  dmp = started.sim;
  const origin = `http://127.0.0.1:${httpPort}`;
  psc = await startPscSimulator({ clients: [{ clientId: 'source', clientSecret: 'source-secret', redirectUris: [`${origin}/portal/callback`], postLogoutRedirectUris: [`${origin}/portal/`] }] });
  box = await startBox(
    loadConfig({
      env: {},
      overrides: loopbackBoxConfig({
        dataDir: join(work, 'box'), pacsPort: orthanc.dicomPort, dimsePort, httpPort, xds: started.xds,
        psc: { issuer: psc.issuer, clientId: 'source', clientSecret: 'source-secret' },
      }) as never,
    }),
  );
  await sendMllp('127.0.0.1', box.hl7Port, oruForStudy({ studyUid: study, patient: BERNARD, accession: 'LINK-1', controlId: 'LINK-1' }));
  await waitFor(async () => box.outbox.counts().done === 1, 30_000, 'KOS published to the DMP');
  const kos = box.archive.activeForStudy(study)!;
  link = `${origin}/portal/visionneuse?study=${study}&kos=${kos.sopInstanceUid}`;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await box?.stop();
  await psc?.stop();
  await dmp?.stop();
  await orthanc?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the viewer link of the report, on the source box', () => {
  it('asks for the PSC login, then shows the published exam', async () => {
    const page = await browser.newPage();
    await page.goto(link);
    expect(page.url().startsWith(psc.issuer)).toBe(true);
    await page.selectOption('#professionnel', 'paul.durand');
    await page.fill('#motdepasse', 'psc-sim-2026');
    await shot(page, '1-psc-login');
    await Promise.all([page.waitForURL(/\/viewer\//), page.click('#se-connecter')]);
    await page.waitForSelector('body[data-first-image-ms]', { timeout: 30_000 });
    await page.waitForTimeout(200);
    await shot(page, '2-viewer');
    expect(page.url()).not.toContain('token=');
    expect(await page.textContent('#patient-name')).toContain('BERNARD');
    const { values } = await sampleImage(page, [{ fx: 0.03, fy: 0.03 }, { fx: 0.5, fy: 0.5, r: 3 }]);
    expect(values[0]).toBeLessThan(10); // air
    expect(values[1]).toBeGreaterThan(40); // brain
    // Every image request was checked and written to the audit trail under Dr Durand's national id.
    const rows = box.db.prepare(`SELECT subject_name_id AS who, outcome FROM audit_events WHERE study_uid = ?`).all(study) as { who: string; outcome: string }[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.who === '810000000002' && r.outcome === 'complete')).toBe(true);
    await page.close();
  });

  it('shows nothing of a study this box did not publish, even after login', async () => {
    const page = await browser.newPage();
    const other = '1.2.826.0.1.3680043.10.1558.999.1';
    await page.goto(link.replace(study, other).replace(/&kos=[0-9.]+/, ''));
    if (page.url().startsWith(psc.issuer)) {
      await page.selectOption('#professionnel', 'paul.durand');
      await page.fill('#motdepasse', 'psc-sim-2026');
      await Promise.all([page.waitForURL(/\/viewer\//), page.click('#se-connecter')]);
    }
    await page.waitForSelector('#status[data-state="error"]', { timeout: 30_000 });
    await shot(page, '3-not-published');
    expect(await page.$('body[data-first-image-ms]')).toBeNull();
    await page.close();
  });

  it('takes the IHE Invoke Image Display form of the link (RIS vendors, the ANS demonstrator’s idCDA): login, then the viewer; a link whose report is not the published one is refused in French', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const origin = new URL(link).origin;
    const iid = `${origin}/IHEInvokeImageDisplay?requestType=STUDY&studyUID=${study}&accessionNumber=LINK-1&idCDA=1.2.250.1.213.1.1.9.77_CR-LINK-1`;
    await page.goto(iid);
    expect(page.url().startsWith(psc.issuer)).toBe(true); // nothing about the exam before the login
    await page.selectOption('#professionnel', 'paul.durand');
    await page.fill('#motdepasse', 'psc-sim-2026');
    await Promise.all([page.waitForURL(/\/viewer\//), page.click('#se-connecter')]);
    await page.waitForSelector('body[data-first-image-ms]', { timeout: 30_000 });
    expect(new URL(page.url()).searchParams.get('study')).toBe(study);
    await shot(page, '4-iid-viewer');

    // The accession number alone finds the exam too; another report's id does not.
    await page.goto(`${origin}/IHEInvokeImageDisplay?requestType=STUDY&accessionNumber=LINK-1`);
    await page.waitForURL(/\/viewer\//);
    const refused = await page.goto(`${origin}/IHEInvokeImageDisplay?requestType=STUDY&studyUID=${study}&idCDA=1.2.250.1.213.1.1.9.77_CR-AUTRE`);
    expect(refused!.status()).toBe(404);
    expect(await page.textContent('#message-erreur')).toBe('ce lien ne correspond pas au compte rendu publié pour cet examen');
    const patient = await page.goto(`${origin}/IHEInvokeImageDisplay?requestType=PATIENT&patientID=${BERNARD.ins}`);
    expect(patient!.status()).toBe(400);
    await context.close();
  });
});
