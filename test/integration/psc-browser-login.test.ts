import { createServer, type Server } from 'node:http';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPscClient } from '../../appliance/src/auth/psc/index.js';
import { freePort } from '../peers/ports.js';
import { startPscSimulator, type PscSimulator } from '../peers/psc-sim/server.js';

// The login page as a person (and issue 6's end-to-end tests) use it: Debian's Chromium, headless.
let sim: PscSimulator;
let browser: Browser;
let callback: Server;
let redirectUri: string;

beforeAll(async () => {
  const port = await freePort();
  redirectUri = `http://127.0.0.1:${port}/auth/psc/callback`;
  callback = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<p id="retour">retour au DRIMbox</p>');
  });
  await new Promise<void>((r) => callback.listen(port, '127.0.0.1', r));
  sim = await startPscSimulator({ clients: [{ clientId: 'drimbox-browser', clientSecret: 'browser-secret', redirectUris: [redirectUri] }] });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});
afterAll(async () => {
  await browser?.close();
  await sim?.stop();
  await new Promise<void>((r) => (callback ? callback.close(() => r()) : r()));
});

describe('PSC simulator login page in headless Chromium', () => {
  it('logs the radiologist in by the page ids and lands on the client callback with a code', async () => {
    const psc = createPscClient({ issuer: sim.issuer, clientId: 'drimbox-browser', clientSecret: 'browser-secret', timeoutMs: 5000 });
    const { url, pending } = await psc.startLogin(redirectUri);
    const page = await browser.newPage();
    await page.goto(url.toString());
    expect(await page.title()).toContain('Pro Santé Connect');
    await page.selectOption('#professionnel', 'marie.hoarau');
    await page.fill('#motdepasse', 'wrong');
    await page.click('#se-connecter');
    expect(await page.textContent('#erreur')).toBe('Identifiant ou mot de passe incorrect.');
    await page.selectOption('#professionnel', 'marie.hoarau');
    await page.fill('#motdepasse', sim.testPassword);
    await Promise.all([page.waitForURL((u) => u.toString().startsWith(redirectUri)), page.click('#se-connecter')]);
    expect(await page.textContent('#retour')).toBe('retour au DRIMbox');
    const landed = new URL(page.url());

    const tokens = await psc.finishLogin(landed.searchParams, pending);
    const info = await psc.userInfo(tokens.accessToken, tokens.sub);
    expect(info.SubjectNameID).toBe('810000000003');
    expect(info.SubjectRefPro?.exercices[0]?.activities[0]?.raisonSocialeSite).toBe('Imagerie médicale de Saint-Pierre');

    // PSC logout with id_token_hint ends the session without a question.
    await page.goto((await psc.logoutUrl(tokens.idToken)).toString());
    await page.waitForSelector('#deconnecte');
    expect(await page.textContent('#deconnecte')).toBe('Vous êtes déconnecté.');
    await page.close();
  });
});
