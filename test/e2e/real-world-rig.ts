import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { chromium, type BrowserContext } from 'playwright-core';
import { configSchema } from '../../appliance/src/config/schema.js';
import { createDimseUpstream } from '../../appliance/src/dicomweb/index.js';
import { createPacsBridge } from '../../appliance/src/dimse/index.js';
import { createViewerRoutes } from '../../appliance/src/http/viewer-routes.js';
import { buildViewer } from '../../ui/viewer/build.js';
import { buildRealWorldStudy, writeKeyImageKos, type RealWorldStudy } from '../fixtures/real-world.js';
import { startBox, TEST_TOKEN } from '../integration/dicomweb-box.js';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { freePort, reservedPort } from '../peers/ports.js';
import { CHROMIUM_ARGS } from './viewer-harness.js';

/**
 * The viewer over a study of public files nobody here made: Orthanc holds them, the box's own DICOMweb service
 * serves them over its DIMSE upstream (C-FIND, C-GET: the box cuts every frame itself), and a same-origin front
 * serves the freshly built viewer and relays /dicom-web to the box. The front can refuse one series' frames (as a
 * source box answers 422 for a syntax it cannot serve) to prove a failed series says so.
 */

export interface RealWorldRig {
  baseUrl: string;
  token: string;
  study: RealWorldStudy;
  orthanc: OrthancPeer;
  /** Instances a key-image KOS of the study points at (series 1 and the 30-frame ultrasound). */
  keyImageSops: string[];
  /** Series whose frames the front answers 422. */
  refuseFramesOf: Set<string>;
  newBrowser(viewport: { width: number; height: number }, options?: { touch?: boolean }): Promise<BrowserContext>;
  stop(): Promise<void>;
}

export async function startRealWorldRig(): Promise<RealWorldRig> {
  const work = mkdtempSync(join(tmpdir(), 'drimbox-real-world-'));
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(work, { recursive: true, force: true })];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c();
  };
  try {
    const build = await buildViewer({ outDir: join(work, 'dist') });
    const study = buildRealWorldStudy(join(work, 'study'));
    const orthanc = await startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: await reservedPort() } } });
    cleanups.push(() => orthanc.stop());
    for (const file of study.files) await orthanc.upload(readFileSync(file));
    const keyImages = await writeKeyImageKos(join(work, 'key'), [study.files[0]!, study.files.at(-1)!], study.patientId);
    await orthanc.upload(readFileSync(keyImages.path));

    const config = configSchema.parse({ pacs: { aeTitle: orthanc.aeTitle, host: '127.0.0.1', port: orthanc.dicomPort, retrieve: 'C-GET' } });
    const bridge = createPacsBridge(config.pacs, { aeTitle: 'DRIMBOX' }, config.dimse);
    const box = await startBox((tempDir) => createDimseUpstream({ bridge, tempDir }));
    cleanups.push(() => box.stop());

    const refuseFramesOf = new Set<string>();
    const app = new Hono();
    app.route('/viewer', createViewerRoutes({ root: build.outDir }));
    app.all('/dicom-web/*', async (c) => {
      const url = new URL(c.req.url);
      const series = /\/series\/([0-9.]+)\/instances\/[0-9.]+\/frames\//.exec(url.pathname)?.[1];
      if (series && refuseFramesOf.has(series)) return c.json({ error: 'frames of this instance cannot be located' }, 422);
      // The page may still be asking while the rig stops: a relay that fails answers 502 instead of throwing.
      const upstream = await fetch(`http://127.0.0.1:${box.port}${url.pathname}${url.search}`, {
        headers: { accept: c.req.header('accept') ?? '*/*', authorization: c.req.header('authorization') ?? '' },
      }).catch(() => undefined);
      if (!upstream) return c.json({ error: 'box unreachable' }, 502);
      return new Response(upstream.body, { status: upstream.status, headers: { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' } });
    });
    const port = await freePort();
    const server: ServerType = await new Promise((resolve) => {
      const s = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => resolve(s));
    });
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          server.close(() => r());
          (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
    );

    let profiles = 0;
    const newBrowser = async (viewport: { width: number; height: number }, options: { touch?: boolean } = {}) => {
      const context = await chromium.launchPersistentContext(join(work, `chromium-profile-${++profiles}`), {
        executablePath: '/usr/bin/chromium',
        args: [...CHROMIUM_ARGS],
        viewport,
        hasTouch: options.touch === true,
      });
      cleanups.push(() => context.close());
      return context;
    };
    return { baseUrl: `http://127.0.0.1:${port}`, token: TEST_TOKEN, study, orthanc, keyImageSops: keyImages.sopInstanceUids, refuseFramesOf, newBrowser, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
