import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { synthesizeStudy, type SynthResult } from '../../appliance/src/dicom/synth/index.js';
import { createViewerRoutes } from '../../appliance/src/http/viewer-routes.js';
import { buildViewer, type BuildReport } from '../../ui/viewer/build.js';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { freePort } from '../peers/ports.js';

/**
 * The viewer as the box serves it, against a real DICOMweb server: Orthanc (DICOMweb plugin) holding a synthetic
 * head CT, behind a same-origin proxy that demands a bearer token (as the source box's /dicom-web does) and
 * records every call, and the freshly built viewer under /viewer/.
 */

export const SCREENSHOT_DIR = join(process.cwd(), 'test-results', 'screenshots');

export interface DicomwebCall {
  path: string;
  accept: string | undefined;
  authorization: string | undefined;
  status: number;
}

export interface ViewerRig {
  baseUrl: string;
  token: string;
  study: SynthResult;
  /** An earlier head CT of the same patient (one series, other noise), for the comparison view. */
  prior: SynthResult;
  build: BuildReport;
  orthanc: OrthancPeer;
  /** A fresh Chromium profile (its own --user-data-dir in the rig's temp folder). */
  browser: BrowserContext;
  calls: DicomwebCall[];
  /** Another fresh Chromium (own profile), e.g. with WebGL off; closed by stop(). */
  launchBrowser(extraArgs: string[]): Promise<BrowserContext>;
  stop(): Promise<void>;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export async function startViewerRig(options: { instances: number; seriesCount: number; rows: number; columns: number }): Promise<ViewerRig> {
  const work = mkdtempSync(join(tmpdir(), 'drimbox-viewer-e2e-'));
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(work, { recursive: true, force: true })];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c();
  };
  try {
    const build = await buildViewer({ outDir: join(work, 'dist') });
    const study = await synthesizeStudy({ modality: 'CT', outDir: join(work, 'study'), ...options });
    const prior = await synthesizeStudy({
      modality: 'CT',
      outDir: join(work, 'prior'),
      ...options,
      seriesCount: 1,
      instances: Math.max(2, Math.floor(options.instances / options.seriesCount / 2)),
      patient: study.patient,
      studyDescription: 'Scanner cérébral antérieur',
      seed: 77,
    });
    const orthanc = await startOrthanc();
    cleanups.push(() => orthanc.stop());
    for (const file of [...study.files, ...prior.files]) await orthanc.upload(readFileSync(file));

    const token = 'viewer-e2e.' + Math.random().toString(36).slice(2);
    const calls: DicomwebCall[] = [];
    const app = new Hono();
    app.route('/viewer', createViewerRoutes({ root: build.outDir }));
    app.all('/dicom-web/*', async (c) => {
      const url = new URL(c.req.url);
      const call: DicomwebCall = { path: url.pathname + url.search, accept: c.req.header('accept'), authorization: c.req.header('authorization'), status: 0 };
      calls.push(call);
      if (call.authorization !== `Bearer ${token}`) {
        call.status = 401;
        return c.json({ error: 'authentication required' }, 401, { 'www-authenticate': 'Bearer' });
      }
      const upstream = await fetch(`${orthanc.httpUrl}${url.pathname}${url.search}`, { headers: { accept: call.accept ?? '*/*' } });
      call.status = upstream.status;
      return new Response(upstream.body, { status: upstream.status, headers: { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' } });
    });
    const port = await freePort();
    const server: ServerType = await new Promise((resolve) => {
      const s = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => resolve(s));
    });
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));

    let profiles = 0;
    const launchBrowser = async (extraArgs: string[]) => {
      const profile = join(work, `chromium-profile-${++profiles}`);
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: '/usr/bin/chromium',
        args: [...CHROMIUM_ARGS, ...extraArgs],
        viewport: { width: 1280, height: 800 },
      });
      cleanups.push(() => context.close());
      return context;
    };
    const browser = await launchBrowser([]);
    return { baseUrl: `http://127.0.0.1:${port}`, token, study, prior, build, orthanc, browser, calls, launchBrowser, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Where the image lies on the viewport canvas: Cornerstone fits a square image to the smaller side, centred. */
export interface ImageBox {
  canvasWidth: number;
  canvasHeight: number;
  /** Canvas pixels per CSS pixel. */
  scale: number;
  left: number;
  top: number;
  side: number;
}

/**
 * Mean luminance (0–255) of the viewport canvas around points given as fractions of the displayed (square) image,
 * over a (2r+1)² patch of canvas pixels; read with getImageData in the page.
 */
export async function sampleImage(page: Page, points: { fx: number; fy: number; r?: number }[]): Promise<{ box: ImageBox; values: number[] }> {
  return page.evaluate((pts) => {
    const canvas = document.querySelector<HTMLCanvasElement>('#viewport canvas');
    if (!canvas) throw new Error('no viewport canvas');
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('viewport canvas has no 2d context');
    const { width, height } = canvas;
    const data = ctx.getImageData(0, 0, width, height).data;
    const side = Math.min(width, height);
    const box = { canvasWidth: width, canvasHeight: height, scale: width / canvas.getBoundingClientRect().width, left: (width - side) / 2, top: (height - side) / 2, side };
    const lum = (x: number, y: number) => {
      const o = (y * width + x) * 4;
      return 0.299 * data[o]! + 0.587 * data[o + 1]! + 0.114 * data[o + 2]!;
    };
    const values = pts.map(({ fx, fy, r = 2 }) => {
      const cx = Math.round(box.left + fx * side);
      const cy = Math.round(box.top + fy * side);
      let sum = 0;
      let n = 0;
      for (let y = Math.max(0, cy - r); y <= Math.min(height - 1, cy + r); y++)
        for (let x = Math.max(0, cx - r); x <= Math.min(width - 1, cx + r); x++) {
          sum += lum(x, y);
          n++;
        }
      return n ? sum / n : NaN;
    });
    return { box, values };
  }, points);
}

/** Luminance along a horizontal (or vertical) line through the image, `samples` points from edge to edge. */
export async function profile(page: Page, axis: 'row' | 'column', at: number, samples = 256): Promise<number[]> {
  const pts = Array.from({ length: samples }, (_, i) => {
    const t = (i + 0.5) / samples;
    return axis === 'row' ? { fx: t, fy: at, r: 0 } : { fx: at, fy: t, r: 0 };
  });
  return (await sampleImage(page, pts)).values;
}

/** A coarse grid of the image's luminance, to tell whether two displayed images differ. */
export async function grid(page: Page, n = 32): Promise<number[]> {
  const pts = [];
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) pts.push({ fx: (i + 0.5) / n, fy: (j + 0.5) / n, r: 1 });
  return (await sampleImage(page, pts)).values;
}

export function meanAbsDiff(a: number[], b: number[]): number {
  return a.reduce((s, v, i) => s + Math.abs(v - (b[i] ?? 0)), 0) / a.length;
}
