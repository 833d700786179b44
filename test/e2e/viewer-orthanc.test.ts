import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRINGS } from '../../ui/strings/viewer.js';
import { SCREENSHOT_DIR, grid, meanAbsDiff, profile, sampleImage, startViewerRig, type ViewerRig } from './viewer-harness.js';

// The viewer in Debian's headless Chromium, loading a synthetic head CT (Shepp–Logan phantom: bright skull ring,
// mid-grey brain, dark ventricles, black air) from Orthanc's DICOMweb through a token-checking same-origin proxy.

const SERIES = 2;
const PER_SERIES = 20;
const SIZE = 256;

let rig: ViewerRig;
let page: Page;
let pixelSpacingMm: number;

const shot = (name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `viewer-${name}.png`) });
const text = async (selector: string) => (await page.textContent(selector))?.trim();

/** Waits until the counter shows `index` (0-based) and Cornerstone has drawn it. */
async function waitForIndex(index: number): Promise<void> {
  await page.waitForSelector(`#image-counter[data-index="${index}"]`);
  await page.waitForTimeout(150);
}

beforeAll(async () => {
  rig = await startViewerRig({ instances: SERIES * PER_SERIES, seriesCount: SERIES, rows: SIZE, columns: SIZE });
  const series = rig.study.series[0]!;
  const meta = await rig.orthanc.rest<Record<string, { Value?: unknown[] }>[]>(
    `/dicom-web/studies/${rig.study.studyInstanceUid}/series/${series.seriesInstanceUid}/metadata`,
  );
  pixelSpacingMm = Number(meta[0]!['00280030']!.Value![1]);
  page = await rig.browser.newPage();
  page.on('pageerror', (e) => console.error('viewer page error:', e.message));
});

afterAll(async () => {
  await rig?.stop();
});

describe('viewer against Orthanc DICOMweb in headless Chromium', () => {
  it('opens the study from a link with a token: banner, notice, and the phantom drawn on the canvas', async () => {
    const started = Date.now();
    await page.goto(`${rig.baseUrl}/viewer/?study=${rig.study.studyInstanceUid}&token=${rig.token}`);
    await page.waitForSelector('body[data-first-image-ms]', { timeout: 30_000 });
    await page.waitForTimeout(200);
    const firstImageMs = Number(await page.getAttribute('body', 'data-first-image-ms'));
    console.log(
      `viewer: first image ${firstImageMs} ms after navigation (wall ${Date.now() - started} ms), renderer ${await page.getAttribute('body', 'data-renderer')}, ` +
        `bundle ${(rig.build.initialBytes / 1024).toFixed(0)} KiB (${(rig.build.initialBrotliBytes / 1024).toFixed(0)} KiB brotli)`,
    );
    await shot('1-first-image');

    expect(await text('#patient-name')).toBe('DURAND-LÉGER Hélène');
    expect(await text('#patient-birth-date')).toBe('12/03/1979');
    expect(await text('#patient-sex')).toBe('Féminin');
    expect(await text('#study-description')).toBe('Scanner cérébral sans injection');
    expect(await text('#study-date')).toMatch(/^\d{2}\/\d{2}\/\d{4}$/);
    expect(await text('#institution')).not.toBe(STRINGS.unknown);
    expect(await page.isVisible('#notice')).toBe(true);
    expect(await text('#notice')).toBe(STRINGS.notDiagnostic);
    expect(await page.getAttribute('#status', 'data-state')).toBe('ready');
    expect(await text('#image-counter')).toBe(STRINGS.image(10, PER_SERIES));
    expect(await text('#window-label')).toBe(STRINGS.window(40, 80));
    // The token leaves the address bar at once.
    expect(page.url()).not.toContain('token=');

    // Every DICOMweb call carried the bearer token; frames came as WADO-RS octet-stream parts.
    expect(rig.calls.length).toBeGreaterThanOrEqual(3);
    for (const call of rig.calls) expect(call.authorization, call.path).toBe(`Bearer ${rig.token}`);
    expect(rig.calls.some((c) => /\/frames\/1$/.test(c.path) && c.status === 200 && /application\/octet-stream/.test(c.accept ?? ''))).toBe(true);

    const { box, values } = await sampleImage(page, [
      { fx: 0.03, fy: 0.03 },
      { fx: 0.97, fy: 0.03 },
      { fx: 0.03, fy: 0.97 },
      { fx: 0.97, fy: 0.97 },
      { fx: 0.5, fy: 0.5, r: 3 },
    ]);
    expect(box.side).toBeGreaterThan(200);
    const [c1, c2, c3, c4, centre] = values as [number, number, number, number, number];
    for (const corner of [c1, c2, c3, c4]) expect(corner).toBeLessThan(10); // air, black
    // Brain (35 HU) in the 40/80 window: about 0.44 of full scale.
    expect(centre).toBeGreaterThan(70);
    expect(centre).toBeLessThan(160);
    // Along the middle row: black air, then the bright skull ring, then grey brain, on both sides.
    const row = await profile(page, 'row', 0.5);
    const firstBright = row.findIndex((v) => v > 235);
    const lastBright = row.length - 1 - [...row].reverse().findIndex((v) => v > 235);
    expect(firstBright).toBeGreaterThan(0.05 * row.length);
    expect(firstBright).toBeLessThan(0.4 * row.length);
    expect(lastBright).toBeGreaterThan(0.6 * row.length);
    expect(lastBright).toBeLessThan(0.95 * row.length);
    expect(Math.max(...row.slice(0, firstBright))).toBeLessThan(10);
    const column = await profile(page, 'column', 0.5);
    expect(column.slice(0, 0.3 * column.length).some((v) => v > 235)).toBe(true);
  });

  it('draws a thumbnail for each series and switches series from the list', async () => {
    const items = page.locator('.series-item');
    expect(await items.count()).toBe(SERIES);
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.series-item canvas')).every((c) => (c as HTMLElement).dataset.drawn === 'true'));
    const thumbs = await page.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLCanvasElement>('.series-item canvas')).map((c) => {
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        // Mean of a 9×9 patch: single pixels carry the phantom's noise.
        const at = (fx: number, fy: number) => {
          let sum = 0;
          for (let dy = -4; dy <= 4; dy++)
            for (let dx = -4; dx <= 4; dx++) {
              const x = Math.min(c.width - 1, Math.max(0, Math.floor(fx * c.width) + dx));
              const y = Math.min(c.height - 1, Math.max(0, Math.floor(fy * c.height) + dy));
              sum += d[(y * c.width + x) * 4]!;
            }
          return sum / 81;
        };
        let max = 0;
        for (let i = 0; i < d.length; i += 4) max = Math.max(max, d[i]!);
        return { corner: at(0.02, 0.02), centre: at(0.5, 0.5), max };
      }),
    );
    for (const t of thumbs) {
      expect(t.corner).toBeLessThan(10);
      expect(t.max).toBeGreaterThan(150);
    }
    // Series 1 is windowed for the brain, series 2 (bone kernel) for bone: its brain is darker.
    expect(thumbs[0]!.centre).toBeGreaterThan(thumbs[1]!.centre + 20);
    expect(await items.nth(0).getAttribute('aria-current')).toBe('true');
    expect(await items.nth(1).textContent()).toContain('Crâne fenêtre osseuse');

    await items.nth(1).click();
    await page.waitForFunction(() => document.querySelector('.series-item[aria-current="true"]')?.textContent?.includes('osseuse'));
    await page.waitForFunction((label) => document.querySelector('#window-label')?.textContent === label, STRINGS.window(600, 2800));
    await shot('2-second-series');
    await items.nth(0).click();
    await page.waitForFunction((label) => document.querySelector('#window-label')?.textContent === label, STRINGS.window(40, 80));
    await waitForIndex(9);
  });

  it('scrolls the stack with the wheel, the keyboard and the slider, and shows another slice', async () => {
    const before = await grid(page);
    const vp = await page.locator('#viewport').boundingBox();
    await page.mouse.move(vp!.x + vp!.width / 2, vp!.y + vp!.height / 2);
    await page.mouse.wheel(0, 120);
    await waitForIndex(10);
    expect(await text('#image-counter')).toBe(STRINGS.image(11, PER_SERIES));
    await page.keyboard.press('ArrowDown');
    await waitForIndex(11);
    await page.locator('#slice-slider').fill('3');
    await waitForIndex(2);
    const low = await grid(page);
    await shot('3-slice-3');
    // Slice 3 cuts the head 60 mm lower: the ellipses differ across much of the image.
    expect(meanAbsDiff(before, low)).toBeGreaterThan(8);
    await page.keyboard.press('End');
    await waitForIndex(PER_SERIES - 1);
    await page.locator('#slice-slider').fill('10');
    await waitForIndex(9);
    expect(meanAbsDiff(before, await grid(page))).toBeLessThan(1);
  });

  it('applies the window presets (os darkens brain and skull) and adjusts the window by dragging', async () => {
    const points = [
      { fx: 0.5, fy: 0.5, r: 3 }, // brain
      { fx: 0.03, fy: 0.03 }, // air
    ];
    const row = await profile(page, 'row', 0.5);
    const skullAt = row.findIndex((v) => v > 235) / row.length + 1.5 / row.length;
    points.push({ fx: skullAt, fy: 0.5, r: 0 });
    const [brainCerveau, , skullCerveau] = (await sampleImage(page, points)).values as [number, number, number];

    await page.selectOption('#preset-select', 'os');
    await page.waitForFunction((label) => document.querySelector('#window-label')?.textContent === label, STRINGS.window(600, 2800));
    await page.waitForTimeout(150);
    await shot('4-preset-os');
    const [brainOs, airOs, skullOs] = (await sampleImage(page, points)).values as [number, number, number];
    // 600/2800: brain (35 HU) → ~0.30 of full scale, skull (1000 HU) → ~0.64, air stays black.
    expect(brainOs).toBeLessThan(brainCerveau - 15);
    expect(brainOs).toBeGreaterThan(50);
    expect(brainOs).toBeLessThan(110);
    expect(skullOs).toBeLessThan(skullCerveau - 40);
    expect(skullOs).toBeGreaterThan(brainOs + 40);
    expect(airOs).toBeLessThan(10);

    await page.selectOption('#preset-select', 'poumon');
    await page.waitForFunction((label) => document.querySelector('#window-label')?.textContent === label, STRINGS.window(-600, 1500));
    await page.waitForTimeout(150);
    const [brainLung] = (await sampleImage(page, points)).values as [number];
    expect(brainLung).toBeGreaterThan(200); // −600/1500 puts soft tissue near white

    await page.selectOption('#preset-select', 'cerveau');
    await page.waitForFunction((label) => document.querySelector('#window-label')?.textContent === label, STRINGS.window(40, 80));

    // Contrast tool (the default) dragged to the right widens the window.
    expect(await page.getAttribute('[data-tool="windowLevel"]', 'aria-pressed')).toBe('true');
    const vp = (await page.locator('#viewport').boundingBox())!;
    await page.mouse.move(vp.x + vp.width / 2, vp.y + vp.height / 2);
    await page.mouse.down();
    await page.mouse.move(vp.x + vp.width / 2 + 120, vp.y + vp.height / 2, { steps: 8 });
    await page.mouse.up();
    await page.waitForTimeout(150);
    const label = await text('#window-label');
    const match = /^C (-?\d+) \/ L (\d+)$/.exec(label ?? '');
    expect(match, label).not.toBeNull();
    expect(Number(match![2])).toBeGreaterThan(80);
    await shot('5-window-drag');
  });

  it('measures a distance in millimetres consistent with Pixel Spacing', async () => {
    await page.selectOption('#preset-select', 'cerveau');
    await page.click('[data-tool="measure"]');
    expect(await page.getAttribute('[data-tool="measure"]', 'aria-pressed')).toBe('true');
    const { box } = await sampleImage(page, []);
    const vp = (await page.locator('#viewport').boundingBox())!;
    const dragCss = 200;
    const x0 = vp.x + vp.width / 2 - dragCss / 2;
    const y0 = vp.y + vp.height / 2 + 40;
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    await page.mouse.move(x0 + dragCss, y0, { steps: 10 });
    await page.mouse.up();
    await page.waitForSelector('#viewport svg text');
    await page.waitForTimeout(150);
    const label = (await page.locator('#viewport svg text').first().textContent())?.trim() ?? '';
    await shot('6-measure');
    const m = /^(\d+),(\d) mm$/.exec(label);
    expect(m, label).not.toBeNull();
    const shownMm = Number(`${m![1]}.${m![2]}`);
    // CSS px → canvas px → image pixels (the image's width fills `side` canvas px) → mm.
    const expectedMm = ((dragCss * box.scale) / box.side) * SIZE * pixelSpacingMm;
    expect(pixelSpacingMm).toBeCloseTo(250 / SIZE, 3);
    expect(Math.abs(shownMm - expectedMm) / expectedMm).toBeLessThan(0.02);
  });

  it('zooms, pans and resets to the first view', async () => {
    await page.click('[data-tool="zoom"]');
    const vp = (await page.locator('#viewport').boundingBox())!;
    await page.mouse.move(vp.x + vp.width / 2, vp.y + vp.height / 2);
    await page.mouse.down();
    await page.mouse.move(vp.x + vp.width / 2, vp.y + vp.height / 2 + 150, { steps: 10 });
    await page.mouse.up();
    await page.waitForTimeout(150);
    const zoom = Number(/(\d+)/.exec((await text('#zoom-label')) ?? '')?.[1]);
    expect(zoom).not.toBe(100);
    await page.click('[data-tool="pan"]');
    const beforePan = await grid(page, 16);
    await page.mouse.move(vp.x + vp.width / 2, vp.y + vp.height / 2);
    await page.mouse.down();
    await page.mouse.move(vp.x + vp.width / 2 + 150, vp.y + vp.height / 2 + 60, { steps: 10 });
    await page.mouse.up();
    await page.waitForTimeout(150);
    expect(meanAbsDiff(beforePan, await grid(page, 16))).toBeGreaterThan(5);
    await page.selectOption('#preset-select', 'os');
    await shot('7-zoom-pan');

    await page.click('[data-action="reset"]');
    await page.waitForFunction((label) => document.querySelector('#window-label')?.textContent === label, STRINGS.window(40, 80));
    expect(await text('#zoom-label')).toBe(STRINGS.zoom(100));
    // The measurement is gone (the annotation layer redraws on the next animation frame).
    await page.waitForFunction(() => document.querySelectorAll('#viewport svg text').length === 0, undefined, { timeout: 5_000 });
    const row = await profile(page, 'row', 0.5);
    expect(row.findIndex((v) => v > 235)).toBeGreaterThan(0.05 * row.length);
    await shot('8-reset');
  });

  it('works by touch (the box has a touch screen): one finger adjusts the window, two fingers pinch-zoom', async () => {
    const tab = await rig.browser.newPage();
    try {
      const cdp = await rig.browser.newCDPSession(tab);
      await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 5 });
      await tab.goto(`${rig.baseUrl}/viewer/?study=${rig.study.studyInstanceUid}&token=${rig.token}`);
      await tab.waitForSelector('body[data-first-image-ms]', { timeout: 30_000 });
      const vp = (await tab.locator('#viewport').boundingBox())!;
      const cx = vp.x + vp.width / 2;
      const cy = vp.y + vp.height / 2;
      const touch = (type: string, points: { x: number; y: number }[]) =>
        cdp.send('Input.dispatchTouchEvent', { type: type as 'touchStart', touchPoints: points.map((p, id) => ({ ...p, id })) });
      await touch('touchStart', [{ x: cx, y: cy }]);
      for (let i = 1; i <= 8; i++) await touch('touchMove', [{ x: cx + i * 15, y: cy }]);
      await touch('touchEnd', []);
      await tab.waitForFunction((before) => document.querySelector('#window-label')?.textContent !== before, STRINGS.window(40, 80));
      await touch('touchStart', [{ x: cx - 40, y: cy }, { x: cx + 40, y: cy }]);
      for (let i = 1; i <= 8; i++) await touch('touchMove', [{ x: cx - 40 - i * 10, y: cy }, { x: cx + 40 + i * 10, y: cy }]);
      await touch('touchEnd', []);
      await tab.waitForFunction((before) => document.querySelector('#zoom-label')?.textContent !== before, STRINGS.zoom(100));
      const zoom = Number(/(\d+)/.exec((await tab.textContent('#zoom-label')) ?? '')?.[1]);
      expect(zoom).toBeGreaterThan(120);
      await tab.screenshot({ path: join(SCREENSHOT_DIR, 'viewer-9-touch.png') });
    } finally {
      await tab.close();
    }
  });

  it('draws the same phantom on the canvas 2D fallback when the browser has no WebGL', async () => {
    const noGl = await rig.launchBrowser(['--disable-webgl', '--disable-3d-apis']);
    const tab = await noGl.newPage();
    await tab.goto(`${rig.baseUrl}/viewer/?study=${rig.study.studyInstanceUid}&token=${rig.token}`);
    await tab.waitForSelector('body[data-first-image-ms]', { timeout: 30_000 });
    await tab.waitForTimeout(200);
    expect(await tab.getAttribute('body', 'data-renderer')).toBe('cpu');
    expect((await tab.textContent('#zoom-label'))?.trim()).toBe(STRINGS.zoom(100));
    console.log(`viewer (canvas 2D, no WebGL): first image ${await tab.getAttribute('body', 'data-first-image-ms')} ms after navigation`);
    const [corner, centre] = (await sampleImage(tab, [{ fx: 0.03, fy: 0.03 }, { fx: 0.5, fy: 0.5, r: 3 }])).values as [number, number];
    expect(corner).toBeLessThan(10);
    expect(centre).toBeGreaterThan(70);
    expect(centre).toBeLessThan(160);
    const row = await profile(tab, 'row', 0.5);
    const firstBright = row.findIndex((v) => v > 235);
    expect(firstBright).toBeGreaterThan(0.05 * row.length);
    expect(firstBright).toBeLessThan(0.4 * row.length);
    await tab.selectOption('#preset-select', 'os');
    await tab.waitForFunction((label) => document.querySelector('#window-label')?.textContent === label, STRINGS.window(600, 2800));
    await tab.waitForTimeout(150);
    const [centreOs] = (await sampleImage(tab, [{ fx: 0.5, fy: 0.5, r: 3 }])).values as [number];
    expect(centreOs).toBeLessThan(centre - 15);
    await tab.screenshot({ path: join(SCREENSHOT_DIR, 'viewer-11-canvas2d-fallback.png') });
    await tab.close();
  });

  it('shows an earlier exam beside the current one and scrolls it with it', async () => {
    const tab = await rig.browser.newPage();
    try {
      await tab.goto(`${rig.baseUrl}/viewer/?study=${rig.study.studyInstanceUid}&prior=${rig.prior.studyInstanceUid}#token=${rig.token}`);
      await tab.waitForSelector('body[data-first-image-ms]', { timeout: 30_000 });
      expect(await tab.isVisible('#pane-prior')).toBe(false);
      await tab.click('[data-action="compare"]');
      await tab.waitForSelector('#prior-status[data-state="ready"]', { state: 'attached', timeout: 30_000 });
      expect(await tab.getAttribute('#pane-prior', 'data-prior-series')).toBe(rig.prior.series[0]!.seriesInstanceUid);
      expect(await tab.textContent('#prior-label')).toContain('Scanner cérébral antérieur');
      const priorIndex = async () => Number(/Image (\d+)/.exec((await tab.textContent('#prior-counter')) ?? '')?.[1]);
      const before = await priorIndex();
      await tab.click('#viewport');
      for (let i = 0; i < 6; i++) await tab.keyboard.press('ArrowDown');
      await tab.waitForFunction((b) => Number(/Image (\d+)/.exec(document.querySelector('#prior-counter')?.textContent ?? '')?.[1]) > b, before, { timeout: 5_000 });
      // The prior's own phantom is drawn in its pane: bright skull ring across its middle row.
      const row = await tab.evaluate(() => {
        const c = document.querySelector<HTMLCanvasElement>('#prior-viewport canvas')!;
        const d = c.getContext('2d')!.getImageData(0, Math.floor(c.height / 2), c.width, 1).data;
        return Array.from({ length: c.width }, (_, x) => d[x * 4]!);
      });
      expect(row.some((v) => v > 235)).toBe(true);
      await tab.screenshot({ path: join(SCREENSHOT_DIR, 'viewer-12-compare.png') });
      await tab.click('[data-action="compare"]');
      expect(await tab.isVisible('#pane-prior')).toBe(false);
    } finally {
      await tab.close();
    }
  });

  it('refuses a link that would send the token to another origin, and says so when access is refused', async () => {
    const other = await rig.browser.newPage();
    try {
      const callsBefore = rig.calls.length;
      await other.goto(`${rig.baseUrl}/viewer/?study=${rig.study.studyInstanceUid}&base=//evil.example/dicom-web&token=${rig.token}`);
      await other.waitForSelector('#status[data-state="error"]');
      expect((await other.textContent('#status'))?.trim()).toBe(STRINGS.errors.badBase);
      expect(rig.calls.length).toBe(callsBefore);

      // A fresh tab without the token: the proxy answers 401 and the page says why.
      await other.evaluate(() => sessionStorage.clear());
      await other.goto(`${rig.baseUrl}/viewer/?study=${rig.study.studyInstanceUid}`);
      await other.waitForSelector('#status[data-state="error"]');
      expect((await other.textContent('#status'))?.trim()).toBe(STRINGS.errors.sessionExpired);
      expect(rig.calls.at(-1)!.status).toBe(401);
      expect(rig.calls.at(-1)!.authorization).toBeUndefined();
      await other.screenshot({ path: join(SCREENSHOT_DIR, 'viewer-10-unauthorized.png') });
    } finally {
      await other.close();
    }
  });
});
