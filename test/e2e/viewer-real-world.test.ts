import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRINGS } from '../../ui/strings/viewer.js';
import { REAL_WORLD_SERIES } from '../fixtures/real-world.js';
import { startRealWorldRig, type RealWorldRig } from './real-world-rig.js';
import { SCREENSHOT_DIR, meanAbsDiff } from './viewer-harness.js';

// The viewer over 25 public test files nobody here made (every transfer syntax and colour model the field sends),
// served by the box's own DICOMweb over DIMSE from Orthanc, in Debian's Chromium at the box's 800×480 touch screen
// and at 1280×800. Each series must show its own image, or say in French why not.

interface SeriesRef {
  uid: string;
  number: number;
  label: string;
  colour: boolean;
}

/** Series that hold the same picture in different encodings: each must decode to what the others show. */
const SAME_PICTURE = [
  [3, 4, 5, 6, 7], // MR_small: RLE, big endian, implicit, JPEG 2000 lossless, JPEG-LS lossless
  [13, 14, 15, 16, 17, 18], // SC_rgb: JPEG YBR_FULL, JPEG lossless, JPEG 2000, RLE 16 bits, RLE 2 frames, YBR_FULL_422
];
/** Where the proxy refuses the frames (422) during the sweep. */
const REFUSED = 22;

let rig: RealWorldRig;
let series: SeriesRef[];

interface Picture {
  grid: number[];
  /** Share of the canvas that is not black. */
  lit: number;
  /** Mean spread between the colour channels (0 for grey). */
  colourfulness: number;
}

/** A coarse picture of the viewport canvas: 24×24 luminance grid, lit share, colourfulness. */
async function picture(page: Page): Promise<Picture> {
  return page.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>('#viewport canvas')!;
    const { width, height } = canvas;
    const data = canvas.getContext('2d')!.getImageData(0, 0, width, height).data;
    const n = 24;
    const grid: number[] = [];
    let lit = 0;
    let spread = 0;
    let count = 0;
    for (let j = 0; j < n; j++)
      for (let i = 0; i < n; i++) {
        let sum = 0;
        let k = 0;
        for (let y = Math.floor((j * height) / n); y < Math.floor(((j + 1) * height) / n); y += 2)
          for (let x = Math.floor((i * width) / n); x < Math.floor(((i + 1) * width) / n); x += 2) {
            const o = (y * width + x) * 4;
            const [r, g, b] = [data[o]!, data[o + 1]!, data[o + 2]!];
            sum += 0.299 * r + 0.587 * g + 0.114 * b;
            k++;
            count++;
            if (r + g + b > 24) lit++;
            spread += Math.max(r, g, b) - Math.min(r, g, b);
          }
        grid.push(k ? sum / k : 0);
      }
    return { grid, lit: lit / count, colourfulness: spread / count };
  });
}

const shownSeries = (page: Page) => page.getAttribute('body', 'data-shown-series');

async function openByLink(page: Page, s: SeriesRef): Promise<void> {
  await page.goto(`${rig.baseUrl}/viewer/?study=${rig.study.studyInstanceUid}&series=${s.uid}#token=${rig.token}`);
}

async function waitShown(page: Page, s: SeriesRef): Promise<void> {
  await page.waitForSelector(`body[data-shown-series="${s.uid}"]`, { timeout: 30_000 });
  await page.waitForTimeout(250); // the canvas is drawn in the frame after the event
}

beforeAll(async () => {
  rig = await startRealWorldRig();
  const res = await fetch(`${rig.baseUrl}/dicom-web/studies/${rig.study.studyInstanceUid}/series`, { headers: { authorization: `Bearer ${rig.token}` } });
  const rows = (await res.json()) as Record<string, { Value?: unknown[] }>[];
  series = rows
    .filter((r) => r['00080060']?.Value?.[0] !== 'KO')
    .map((r) => {
      const number = Number(r['00200011']!.Value![0]);
      const fixture = REAL_WORLD_SERIES[number - 1]!;
      return { uid: String(r['0020000E']!.Value![0]), number, label: fixture.label, colour: fixture.colour };
    })
    .sort((a, b) => a.number - b.number);
}, 240_000);

afterAll(async () => {
  await rig?.stop();
});

const bySize = [
  { width: 1280, height: 800 },
  { width: 800, height: 480 },
];

describe.each(bySize)('25 real-world series at $width×$height', (size) => {
  let context: BrowserContext;
  let page: Page;
  const pictures = new Map<number, Picture>();
  const tag = `${size.width}x${size.height}`;
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `viewer-real-${tag}-${name}.png`) });

  beforeAll(async () => {
    context = await rig.newBrowser(size);
    page = await context.newPage();
    page.on('pageerror', (e) => console.error(`viewer page error (${tag}):`, e.message));
  });
  afterAll(async () => {
    rig.refuseFramesOf.clear();
    await context?.close();
  });

  it('shows every series by its thumbnail, each its own image, a refused one blank with its French error', async () => {
    expect(series).toHaveLength(REAL_WORLD_SERIES.length);
    rig.refuseFramesOf.add(series[REFUSED - 1]!.uid);
    await openByLink(page, series[0]!);
    await waitShown(page, series[0]!);
    for (const s of series) {
      await page.click(`.series-item[data-series-uid="${s.uid}"]`);
      if (s.number === REFUSED) {
        await page.waitForSelector(`body[data-failed-series="${s.uid}"]`, { timeout: 30_000 });
        expect((await page.textContent('#status'))?.trim(), s.label).toBe(STRINGS.errors.formatRefused(422));
        expect(await shownSeries(page)).toBeNull();
        expect(await page.getAttribute('#viewport', 'data-blank')).toBe('true');
        expect(await page.isVisible('#viewport canvas')).toBe(false); // the previous series' image is not left on screen
        expect((await page.textContent('#image-counter'))?.trim()).toBe('');
        await shot(`${String(s.number).padStart(2, '0')}-refused`);
        continue;
      }
      await waitShown(page, s);
      expect(await page.getAttribute('#status', 'data-state'), s.label).toBe('ready');
      expect(await page.getAttribute('#viewport', 'data-blank'), s.label).toBeNull();
      const p = await picture(page);
      pictures.set(s.number, p);
      expect(p.lit, `${s.label}: something is drawn`).toBeGreaterThan(0.01);
      if (s.number <= 12) expect(p.colourfulness, `${s.label}: grey stays grey`).toBeLessThan(1);
      if (s.number >= 13 && s.number <= 19) expect(p.colourfulness, `${s.label}: colour stays colour`).toBeGreaterThan(15);
      expect((await page.textContent('#series-label'))?.trim()).toBe(`#${s.number} ${s.label}`);
      await shot(String(s.number).padStart(2, '0'));
    }
    // The same picture in other encodings decodes the same; every other pair of series differs.
    const group = (n: number) => SAME_PICTURE.findIndex((g) => g.includes(n));
    const numbers = [...pictures.keys()];
    for (const a of numbers)
      for (const b of numbers) {
        if (a >= b) continue;
        const diff = meanAbsDiff(pictures.get(a)!.grid, pictures.get(b)!.grid);
        if (group(a) >= 0 && group(a) === group(b)) expect(diff, `series ${a} and ${b} hold one picture`).toBeLessThan(6);
        else expect(diff, `series ${a} and ${b} are different images`).toBeGreaterThan(2);
      }
  });

  it('draws a thumbnail for every series but the refused one, colour ones in colour', async () => {
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.series-item canvas')).every((c) => (c as HTMLElement).dataset.drawn), undefined, { timeout: 60_000 });
    const states = await page.$$eval('.series-item', (items) =>
      items.map((b) => {
        const c = b.querySelector('canvas')!;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let spread = 0;
        for (let i = 0; i < d.length; i += 4) spread += Math.max(d[i]!, d[i + 1]!, d[i + 2]!) - Math.min(d[i]!, d[i + 1]!, d[i + 2]!);
        return { uid: (b as HTMLElement).dataset.seriesUid, drawn: c.dataset.drawn, colourfulness: spread / (d.length / 4) };
      }),
    );
    for (const s of series) {
      const st = states.find((x) => x.uid === s.uid)!;
      // The refused series' thumbnail may have been drawn before the refusal began (frames cached): either is fine.
      if (s.number !== REFUSED) expect(st.drawn, s.label).toBe('true');
      if (s.number >= 13 && s.number <= 19) expect(st.colourfulness, `${s.label} thumbnail in colour`).toBeGreaterThan(10);
      if (s.number <= 12) expect(st.colourfulness, `${s.label} thumbnail grey`).toBeLessThan(1);
    }
  });

  it('gives the image most of the screen, more in full screen', async () => {
    await page.click(`.series-item[data-series-uid="${series[0]!.uid}"]`);
    await waitShown(page, series[0]!);
    const share = async () => {
      const box = (await page.locator('#viewport').boundingBox())!;
      return (box.width * box.height) / (size.width * size.height);
    };
    const normal = await share();
    const toolbar = (await page.locator('#toolbar').boundingBox())!;
    const button = (await page.locator('#toolbar button').first().boundingBox())!;
    expect(toolbar.height, 'toolbar on one row').toBeLessThan(button.height * 1.6);
    await page.click('[data-action="fullscreen"]');
    await page.waitForFunction(() => document.body.classList.contains('immersive'));
    await page.waitForTimeout(300);
    const full = await share();
    console.log(`viewer ${tag}: image area ${(normal * 100).toFixed(0)} % of the screen, ${(full * 100).toFixed(0)} % in full screen`);
    expect(normal).toBeGreaterThan(0.55);
    expect(full).toBeGreaterThan(normal + 0.05);
    expect(await page.isVisible('.banner')).toBe(false);
    await shot('fullscreen');
    await page.click('[data-action="fullscreen"]');
    await page.waitForFunction(() => !document.body.classList.contains('immersive'));
  });
});

describe('what a radiologist needs on a real study', () => {
  let context: BrowserContext;
  let page: Page;
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `viewer-real-${name}.png`) });
  const ref = (n: number) => series[n - 1]!;

  beforeAll(async () => {
    rig.refuseFramesOf.clear();
    context = await rig.newBrowser({ width: 1280, height: 800 });
    page = await context.newPage();
  });
  afterAll(async () => {
    rig.refuseFramesOf.clear();
    await context?.close();
  });

  it('a refused first series: no "first image" signal, the French error, the other thumbnails still drawn', async () => {
    rig.refuseFramesOf.add(ref(REFUSED).uid);
    await openByLink(page, ref(REFUSED));
    await page.waitForSelector(`body[data-failed-series="${ref(REFUSED).uid}"]`, { timeout: 30_000 });
    expect((await page.textContent('#status'))?.trim()).toBe(STRINGS.errors.formatRefused(422));
    await page.waitForFunction((uid) => document.querySelector(`.series-item[data-series-uid="${uid}"] canvas`)?.getAttribute('data-drawn') === 'true', ref(1).uid, { timeout: 60_000 });
    expect(await page.getAttribute('body', 'data-first-image-ms')).toBeNull();
    await shot('refused-first');
    rig.refuseFramesOf.clear();
  });

  it('corner text, orientation letters, CT presets on CT only, the attribute view', async () => {
    await openByLink(page, ref(1));
    await waitShown(page, ref(1));
    expect(await page.isVisible('#preset-select')).toBe(true);
    // Axial CT (IOP 1\0\0\0\1\0): the patient's left on the right edge, posterior at the bottom.
    expect(await page.textContent('#orientation-right')).toBe('L');
    expect(await page.textContent('#orientation-left')).toBe('R');
    expect(await page.textContent('#orientation-top')).toBe('A');
    expect(await page.textContent('#orientation-bottom')).toBe('P');
    expect(await page.textContent('#slice-info')).toMatch(/^Position -?\d+,\d mm/);
    await page.click('[data-action="tags"]');
    await page.waitForSelector('#tags-dialog[open]');
    await page.fill('#tags-filter', '0010,0010');
    const rows = await page.$$eval('#tags-table tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
    expect(rows).toEqual([['(0010,0010)', 'PatientName', 'PN', 'REEL^Series']]);
    await shot('tags');
    await page.click('#tags-close');
    await page.click(`.series-item[data-series-uid="${ref(24).uid}"]`);
    await waitShown(page, ref(24));
    expect(await page.isVisible('#preset-select')).toBe(false);
  });

  it('magnifies a small image pixel by pixel, never smoothed', async () => {
    await openByLink(page, ref(10)); // CR, 16×16
    await waitShown(page, ref(10));
    const row = await page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('#viewport canvas')!;
      const d = c.getContext('2d')!.getImageData(0, Math.floor(c.height / 2), c.width, 1).data;
      return Array.from({ length: c.width }, (_, x) => d[x * 4]!);
    });
    // Nearest neighbour: one flat run per image column (16), plus the black margins; smoothing gives hundreds.
    const changes = row.filter((v, i) => i > 0 && v !== row[i - 1]).length;
    expect(changes).toBeLessThanOrEqual(20);
  });

  it('marks the key images a KOS of the study selects, and jumps to them', async () => {
    await page.click(`.series-item[data-series-uid="${ref(1).uid}"]`);
    await waitShown(page, ref(1));
    await page.waitForFunction(() => document.querySelectorAll('.series-item .badge:not(:empty)').length === 2, undefined, { timeout: 30_000 });
    const badges = await page.$$eval('.series-item', (items) => items.filter((b) => b.querySelector('.badge')!.textContent).map((b) => (b as HTMLElement).dataset.seriesUid));
    expect(badges.sort()).toEqual([ref(1).uid, ref(25).uid].sort());
    expect(await page.textContent('#key-image-mark')).toBe(STRINGS.keyImageMark);
    await page.click('[data-action="key-image"]');
    await waitShown(page, ref(25));
    await shot('key-image');
  });

  it('plays a multi-frame ultrasound as cine, and stops', async () => {
    await page.click(`.series-item[data-series-uid="${ref(25).uid}"]`);
    await waitShown(page, ref(25));
    const seen = new Set<string>();
    await page.click('[data-action="cine"]');
    for (let i = 0; i < 20; i++) {
      seen.add((await page.getAttribute('#image-counter', 'data-index')) ?? '');
      await page.waitForTimeout(100);
    }
    expect(seen.size).toBeGreaterThan(4);
    await page.click('[data-action="cine"]');
    await page.waitForTimeout(300);
    const stopped = await page.getAttribute('#image-counter', 'data-index');
    await page.waitForTimeout(500);
    expect(await page.getAttribute('#image-counter', 'data-index')).toBe(stopped);
  });

  it('measures an angle and a region (mean in HU on the CT), and keeps zoom within bounds', async () => {
    await page.click(`.series-item[data-series-uid="${ref(1).uid}"]`);
    await waitShown(page, ref(1));
    const vp = (await page.locator('#viewport').boundingBox())!;
    const at = (fx: number, fy: number) => ({ x: vp.x + vp.width * fx, y: vp.y + vp.height * fy });
    await page.click('[data-tool="roi"]');
    const a = at(0.45, 0.45);
    const b = at(0.55, 0.55);
    await page.mouse.move(a.x, a.y);
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) await page.mouse.move(a.x + ((b.x - a.x) * i) / 10, a.y + ((b.y - a.y) * i) / 10);
    await page.mouse.up();
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#viewport svg text')).some((t) => /Moyenne -?\d+,\d HU/.test(t.textContent ?? '')), undefined, { timeout: 10_000 });
    await page.click('[data-tool="angle"]');
    for (const [fx, fy] of [
      [0.3, 0.3],
      [0.3, 0.6],
      [0.6, 0.6],
    ] as const) {
      const p = at(fx, fy);
      await page.mouse.click(p.x, p.y);
    }
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#viewport svg text')).some((t) => /^\d+,\d°$/.test(t.textContent ?? '')), undefined, { timeout: 10_000 });
    await shot('measures');
    // Zoom far past any sense with the right button, out then in: held between 10 % and 1600 %.
    const c = at(0.5, 0.5);
    const drag = async (dy: number) => {
      await page.mouse.move(c.x, c.y);
      await page.mouse.down({ button: 'right' });
      for (let i = 1; i <= 20; i++) await page.mouse.move(c.x, c.y + (i * dy) / 20);
      await page.mouse.up({ button: 'right' });
      await page.waitForTimeout(200);
      return Number(/(\d+)/.exec((await page.textContent('#zoom-label')) ?? '')?.[1]);
    };
    for (let i = 0; i < 3; i++) await drag(-vp.height * 0.45);
    expect(await page.textContent('#zoom-label')).toBe(STRINGS.zoom(10));
    for (let i = 0; i < 10; i++) await drag(vp.height * 0.45);
    expect(await page.textContent('#zoom-label')).toBe(STRINGS.zoom(1600));
  });

  it('scrolls a stack with one finger in the Défiler mode', async () => {
    // The box's touch screen: 800×480, touch events only.
    const touchScreen = await rig.newBrowser({ width: 800, height: 480 }, { touch: true });
    page = await touchScreen.newPage();
    const cdp = await touchScreen.newCDPSession(page);
    await openByLink(page, ref(12));
    await waitShown(page, ref(12));
    await page.tap('[data-tool="scroll"]');
    const before = Number(await page.getAttribute('#image-counter', 'data-index'));
    const vp = (await page.locator('#viewport').boundingBox())!;
    const x = vp.x + vp.width / 2;
    const y = vp.y + vp.height / 2;
    const touch = (type: string, points: { x: number; y: number }[]) => cdp.send('Input.dispatchTouchEvent', { type: type as 'touchStart', touchPoints: points.map((p, id) => ({ ...p, id })) });
    await touch('touchStart', [{ x, y }]);
    for (let i = 1; i <= 12; i++) await touch('touchMove', [{ x, y: y + i * 20 }]);
    await touch('touchEnd', []);
    await page.waitForFunction((b) => Number(document.querySelector('#image-counter')?.getAttribute('data-index')) > b, before, { timeout: 5_000 });
    await shot('touch-scroll');

    // One ordinary pinch (fingers from 80 to 240 px apart) on the small screen: a sensible zoom, not thousands of %.
    await touch('touchStart', [{ x: x - 40, y }, { x: x + 40, y }]);
    for (let i = 1; i <= 8; i++) await touch('touchMove', [{ x: x - 40 - i * 10, y }, { x: x + 40 + i * 10, y }]);
    await touch('touchEnd', []);
    await page.waitForFunction((z) => document.querySelector('#zoom-label')?.textContent !== z, STRINGS.zoom(100), { timeout: 5_000 });
    const zoom = Number(/(\d+)/.exec((await page.textContent('#zoom-label')) ?? '')?.[1]);
    console.log(`viewer 800x480: one pinch ×3 of the finger spread gives zoom ${zoom} %`);
    // Proportional to the fingers' spread (×3): about 300 %.
    expect(zoom).toBeGreaterThan(240);
    expect(zoom).toBeLessThan(360);
  });
});
