import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildKeyboard } from '../../ui/keyboard/build.js';
import { loadKeyboardAssets } from '../../ui/keyboard/assets.js';

/**
 * The touch screen's on-screen keyboard (ui/keyboard) in Debian's headless Chromium with touch events, at the 7"
 * screen's 800×480, at 1024×600 and at 1280×800: a form holding one field of each layout is filled only by tapping keys, Enter
 * moves from field to field and submits; the server sees exactly what was typed. Then the keyboard next to a
 * mouse, a hardware keyboard, a page script, and its ways of going away.
 */

const SCREENSHOTS = join(process.cwd(), 'test-results', 'screenshots');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'];
const KEYBOARD = '#clavier-ecran';

const PAGE = `<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Essai du clavier</title>
<link rel="stylesheet" href="/clavier.css"><script src="/clavier.js" defer></script>
<style>body{margin:0;font:18px sans-serif}h1{margin:8px}label{display:block;margin:36px 8px}input{display:block;box-sizing:border-box;width:100%;height:48px;font-size:18px}</style>
<script>window.saisies=[];document.addEventListener('input',function(e){window.saisies.push(e.target.name)});</script>
</head><body><h1 id="titre">Essai du clavier</h1>
<form method="post" action="/envoi">
<label>Nom du cabinet<input name="nom" data-clavier="texte" maxlength="80"></label>
<label>Port<input name="port" data-clavier="numerique" maxlength="5"></label>
<label>AE title<input name="ae" data-clavier="ae" maxlength="16"></label>
<label>Adresse<input name="url" data-clavier="hote" maxlength="2048"></label>
<label>Mot de passe<input type="password" name="secret" data-clavier="secret" maxlength="64"></label>
<button type="submit">Envoyer</button>
</form></body></html>`;

let work: string;
let server: ServerType;
let base: string;
let browser: Browser;
const received: Record<string, unknown>[] = [];

/** The selector of one key, by its simple-keyboard button name. */
const key = (button: string) => `${KEYBOARD} [data-skbtn="${button.replace(/["\\]/g, '\\$&')}"]`;

async function tapKeys(page: Page, buttons: string[]): Promise<void> {
  for (const b of buttons) await page.tap(key(b));
}

/** The taps that type a sentence on the `texte` layout: a capital is {shift} then its key. */
function sentenceKeys(text: string): string[] {
  return [...text].flatMap((c) => (c === ' ' ? ['{space}'] : c !== c.toLowerCase() ? ['{shift}', c] : [c]));
}

const activeName = (page: Page) => page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.name ?? null);
const keyboardVisible = (page: Page) => page.evaluate((sel) => document.querySelector<HTMLElement>(sel)?.hidden === false, KEYBOARD);

async function waitForLayout(page: Page, layout: string): Promise<void> {
  await page.waitForSelector(`${KEYBOARD}:not([hidden])[data-disposition="${layout}"]`);
}

/** What must hold whenever the keyboard is up: finger-sized keys, no sideways scroll, the field above it. */
async function checkGeometry(page: Page, viewport: { width: number; height: number }): Promise<void> {
  const g = await page.evaluate((sel) => {
    const kb = document.querySelector(sel)!.getBoundingClientRect();
    const field = document.activeElement!.getBoundingClientRect();
    const small = Array.from(document.querySelectorAll(`${sel} .hg-button`))
      .map((b) => ({ name: b.getAttribute('data-skbtn'), r: b.getBoundingClientRect() }))
      .filter((b) => b.r.width < 44 || b.r.height < 44)
      .map((b) => `${b.name} ${b.r.width.toFixed(1)}×${b.r.height.toFixed(1)}`);
    const clipped = Array.from(document.querySelectorAll(`${sel} .hg-button`)).filter((b) => b.scrollWidth > b.clientWidth).map((b) => b.getAttribute('data-skbtn'));
    return {
      keys: document.querySelectorAll(`${sel} .hg-button`).length,
      clipped,
      small,
      scrollWidth: document.documentElement.scrollWidth,
      kbTop: kb.top,
      kbHeight: kb.height,
      kbBottom: kb.bottom,
      kbWidth: kb.width,
      fieldTop: field.top,
      fieldBottom: field.bottom,
      padding: parseFloat(getComputedStyle(document.body).paddingBottom),
    };
  }, KEYBOARD);
  expect(g.keys).toBeGreaterThan(10);
  expect(g.small).toEqual([]);
  expect(g.clipped).toEqual([]);
  expect(g.scrollWidth).toBeLessThanOrEqual(viewport.width);
  expect(g.kbWidth).toBeLessThanOrEqual(viewport.width);
  expect(g.kbBottom).toBeCloseTo(viewport.height, 0);
  expect(g.kbHeight).toBeLessThanOrEqual(viewport.height / 2);
  expect(Math.abs(g.padding - g.kbHeight)).toBeLessThan(1);
  expect(g.fieldTop).toBeGreaterThanOrEqual(0);
  expect(g.fieldBottom).toBeLessThanOrEqual(g.kbTop);
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `keyboard-${name}.png`) });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'drimbox-keyboard-'));
  await buildKeyboard({ outDir: work });
  const assets = await loadKeyboardAssets(pathToFileURL(`${work}/`));
  const app = new Hono();
  app.get('/', (c) => c.html(PAGE));
  app.get('/clavier.js', (c) => c.body(assets.js, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  app.get('/clavier.css', (c) => c.body(assets.css, 200, { 'content-type': 'text/css; charset=utf-8' }));
  app.post('/envoi', async (c) => {
    received.push(await c.req.parseBody());
    return c.html('<!doctype html><p id="recu">Reçu</p>');
  });
  const port = await new Promise<number>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(info.port));
  });
  base = `http://127.0.0.1:${port}`;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('on-screen keyboard: a form filled by tapping keys only', () => {
  for (const viewport of [
    { width: 800, height: 480 },
    { width: 1024, height: 600 },
    { width: 1280, height: 800 },
  ]) {
    const size = `${viewport.width}x${viewport.height}`;
    it(`types every layout, moves with Enter and submits (${size})`, async () => {
      const context = await browser.newContext({ viewport, hasTouch: true, locale: 'fr-FR' });
      try {
        const page = await context.newPage();
        const problems: string[] = [];
        page.on('pageerror', (e) => problems.push(e.message));
        await page.goto(`${base}/`);
        expect(await keyboardVisible(page)).toBe(false);

        await page.tap('input[name="nom"]');
        await waitForLayout(page, 'texte');
        await checkGeometry(page, viewport);
        await tapKeys(page, sentenceKeys("Cabinet d'imagerie à Évryz"));
        expect(await page.inputValue('input[name="nom"]')).toBe("Cabinet d'imagerie à Évryz");
        await tapKeys(page, ['{bksp}']);
        expect(await page.inputValue('input[name="nom"]')).toBe("Cabinet d'imagerie à Évry");
        expect(await activeName(page)).toBe('nom');
        expect(await page.textContent(key('{enter}'))).toBe('Suivant');
        await shot(page, `texte-${size}`);

        await tapKeys(page, ['{enter}']);
        await waitForLayout(page, 'numerique');
        expect(await activeName(page)).toBe('port');
        await checkGeometry(page, viewport);
        await tapKeys(page, ['8', '0', '4', '2', '1']);
        expect(await page.inputValue('input[name="port"]')).toBe('80421');
        await tapKeys(page, ['7']); // maxlength="5"
        expect(await page.inputValue('input[name="port"]')).toBe('80421');
        await tapKeys(page, ['{bksp}']);
        expect(await page.inputValue('input[name="port"]')).toBe('8042');
        await shot(page, `numerique-${size}`);

        await tapKeys(page, ['{enter}']);
        await waitForLayout(page, 'ae');
        expect(await activeName(page)).toBe('ae');
        await checkGeometry(page, viewport);
        expect(await page.textContent(key('d'))).toBe('D');
        await tapKeys(page, [...'drimbox', '_', '1']);
        expect(await page.inputValue('input[name="ae"]')).toBe('DRIMBOX_1');
        await shot(page, `ae-${size}`);

        await tapKeys(page, ['{enter}']);
        await waitForLayout(page, 'hote');
        expect(await activeName(page)).toBe('url');
        await checkGeometry(page, viewport);
        await tapKeys(page, ['https://', ...'pacs', '.', ...'local', ':', ...'8042', '/', ...'dicom', '-', ...'web']);
        expect(await page.inputValue('input[name="url"]')).toBe('https://pacs.local:8042/dicom-web');
        await shot(page, `hote-${size}`);

        await tapKeys(page, ['{enter}']);
        await waitForLayout(page, 'secret');
        expect(await activeName(page)).toBe('secret');
        await checkGeometry(page, viewport);
        expect(await page.textContent(key('{enter}'))).toBe('Valider');
        await tapKeys(page, ['{shift}', 'Z', 'é', '{sym}']);
        await checkGeometry(page, viewport);
        await shot(page, `symboles-${size}`);
        await tapKeys(page, ['9', '!', '{accents}']);
        await checkGeometry(page, viewport);
        expect(await page.textContent(key('<'))).toBe('<');
        await tapKeys(page, ['ô', '<', '{sym}']);
        expect(await page.textContent(key('&'))).toBe('&');
        await tapKeys(page, ['&', '{abc}', 'a']);
        expect(await page.inputValue('input[name="secret"]')).toBe('Zé9!ô<&a');
        await shot(page, `secret-${size}`);

        // Page scripts saw the typing: one input event per change of each field.
        const events = await page.evaluate(() => (window as unknown as { saisies: string[] }).saisies);
        const count = (name: string) => events.filter((n) => n === name).length;
        expect(count('nom')).toBe("Cabinet d'imagerie à Évryz".length + 1);
        expect(count('port')).toBe(6);
        expect(count('ae')).toBe(9);
        expect(count('url')).toBe(1 + 'pacs.local:8042/dicom-web'.length);
        expect(count('secret')).toBe(8);

        const before = received.length;
        await Promise.all([page.waitForURL(`${base}/envoi`), tapKeys(page, ['{enter}'])]);
        await page.waitForSelector('#recu');
        expect(received.length).toBe(before + 1);
        expect(received[before]).toEqual({
          nom: "Cabinet d'imagerie à Évry",
          port: '8042',
          ae: 'DRIMBOX_1',
          url: 'https://pacs.local:8042/dicom-web',
          secret: 'Zé9!ô<&a',
        });
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    });
  }
});

describe('on-screen keyboard: alongside a mouse, a hardware keyboard and page scripts', () => {
  let context: BrowserContext;
  let page: Page;
  const viewport = { width: 800, height: 480 };

  beforeAll(async () => {
    context = await browser.newContext({ viewport, hasTouch: true, locale: 'fr-FR' });
    page = await context.newPage();
    await page.goto(`${base}/`);
  });
  afterAll(async () => {
    await context?.close();
  });

  it('asks Chromium for no keyboard of its own', async () => {
    const modes = await page.$$eval('input[data-clavier]', (fields) => fields.map((f) => f.getAttribute('inputmode')));
    expect(modes).toEqual(['none', 'none', 'none', 'none', 'none']);
  });

  it('types with the mouse at the caret, and follows what a hardware keyboard typed', async () => {
    await page.click('input[name="nom"]');
    await waitForLayout(page, 'texte');
    await page.click(key('q'));
    expect(await page.inputValue('input[name="nom"]')).toBe('q');
    expect(await activeName(page)).toBe('nom');
    await page.$eval('input[name="nom"]', (f: HTMLInputElement) => f.setSelectionRange(0, 0));
    await page.tap(key('w'));
    expect(await page.inputValue('input[name="nom"]')).toBe('wq');
    await page.keyboard.type('xy');
    expect(await page.inputValue('input[name="nom"]')).toBe('wxyq');
    await page.tap(key('k'));
    expect(await page.inputValue('input[name="nom"]')).toBe('wxykq');
  });

  it('keeps an AE title uppercase when typed on a hardware keyboard', async () => {
    await page.tap('input[name="ae"]');
    await waitForLayout(page, 'ae');
    await page.keyboard.type('ab');
    expect(await page.inputValue('input[name="ae"]')).toBe('AB');
    await page.tap(key('c'));
    expect(await page.inputValue('input[name="ae"]')).toBe('ABC');
  });

  it('starts from the value a page script put in the field', async () => {
    await page.$eval('input[name="port"]', (f: HTMLInputElement) => {
      f.value = '12';
    });
    await page.tap('input[name="port"]');
    await waitForLayout(page, 'numerique');
    await page.tap(key('3'));
    expect(await page.inputValue('input[name="port"]')).toBe('123');
  });

  it('hides with its "Masquer" key, a tap outside, or clavier.hide(), and comes back on a tap into the field', async () => {
    const padding = () => page.evaluate(() => getComputedStyle(document.body).paddingBottom);
    await page.tap(key('{hide}'));
    await page.waitForSelector(KEYBOARD, { state: 'hidden' });
    expect(await activeName(page)).toBe(null);
    expect(await padding()).toBe('0px');

    await page.tap('input[name="port"]');
    await waitForLayout(page, 'numerique');
    await checkGeometry(page, viewport);
    await page.tap('#titre');
    await page.waitForSelector(KEYBOARD, { state: 'hidden' });

    await page.tap('input[name="url"]');
    await waitForLayout(page, 'hote');
    await page.evaluate(() => (window as unknown as { clavier: { hide(): void } }).clavier.hide());
    expect(await keyboardVisible(page)).toBe(false);
    expect(await padding()).toBe('0px');
    // Nothing typed stays in the keyboard once hidden; nothing else is made global.
    const left = await page.evaluate(() => {
      const instances = (window as unknown as { SimpleKeyboardInstances: Record<string, { getInput(): string }> }).SimpleKeyboardInstances;
      return Object.values(instances).map((k) => k.getInput());
    });
    expect(left).toEqual(['']);
    expect(await page.evaluate(() => Object.keys(window).filter((k) => /clavier|keyboard/i.test(k)))).toEqual(['SimpleKeyboardInstances', 'clavier']);
  });
});

describe('on-screen keyboard assets', () => {
  it('says to build the UI when the bundle is missing', async () => {
    await expect(loadKeyboardAssets(pathToFileURL(join(work, 'absent') + '/'))).rejects.toThrow(/run npm run build:ui/);
  });
});
