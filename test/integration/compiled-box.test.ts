import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { request as plainRequest } from 'node:http';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { freePort, waitFor } from '../peers/ports.js';

// The production build (`npm run build`: the bundle dist/box/ beside the viewer's and the portal's assets) runs the box
// without tsx and without the test tree, from another working directory.
const ROOT = join(import.meta.dirname, '../..');
let orthanc: OrthancPeer;
let box: ChildProcess | undefined;
let work: string;
let http: number;
let stdout = '';

const certFile = () => join(work, 'data/tls/self-signed.crt');

/** GET over HTTPS, trusting only the box's own self-signed certificate (and checking it names 127.0.0.1). */
function httpsGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: http, path, ca: readFileSync(certFile()) }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject).end();
  });
}

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

beforeAll(async () => {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  execFileSync('node', ['scripts/copy-build-assets.mjs'], { cwd: ROOT, stdio: 'ignore' });
  execFileSync('node', ['scripts/bundle-box.mjs'], { cwd: ROOT, stdio: 'ignore' });
  work = mkdtempSync(join(tmpdir(), 'drimbox-compiled-'));
  orthanc = await startOrthanc({});
  http = await freePort();
  const env = {
    ...process.env,
    DRIMBOX_RUN_COMPILED: '1',
    DRIMBOX_DATA_DIR: join(work, 'data'),
    DRIMBOX_HTTP_HOST: '127.0.0.1',
    DRIMBOX_HTTP_PORT: String(http),
    DRIMBOX_LAN_HOST: '127.0.0.1',
    DRIMBOX_LAN_PORT: '0',
    DRIMBOX_KIOSK_PORT: '0',
    DRIMBOX_HL7_HOST: '127.0.0.1',
    DRIMBOX_HL7_PORT: '0',
    DRIMBOX_DIMSE_PORT: '0',
    DRIMBOX_PACS_PORT: String(orthanc.dicomPort),
    DRIMBOX_PACS_AE_TITLE: orthanc.aeTitle,
    DRIMBOX_LOG_LEVEL: 'error',
    DRIMBOX_DEVICE_UPDATE_LOCK_FILE: join(work, 'balena/updates.lock'),
  };
  box = spawn(process.execPath, [join(ROOT, 'bin/drimbox.js'), 'serve'], { cwd: work, env, stdio: ['ignore', 'pipe', 'inherit'] });
  box.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  await waitFor(async () => existsSync(certFile()) && (await httpsGet('/health').catch(() => ({ status: 0 }))).status === 200, 60_000, 'the compiled box to answer /health over HTTPS');
}, 180_000);

afterAll(async () => {
  if (box && box.exitCode === null) {
    box.kill('SIGTERM');
    await new Promise((r) => box!.once('exit', r));
  }
  await orthanc?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the compiled box (npm run build)', () => {
  it('answers /health over HTTPS with its own certificate and the PACS reachable, and serves the viewer from dist/', async () => {
    const health = JSON.parse((await httpsGet('/health')).body) as { ok: boolean; checks: { name: string; ok: boolean }[] };
    expect(health.checks.find((c) => c.name === 'pacs')).toEqual({ name: 'pacs', ok: true });
    const viewer = await httpsGet('/viewer/');
    expect(viewer.status).toBe(200);
    expect(viewer.body).toMatch(/<script[^>]+viewer-[A-Z0-9]+\.js/);
  });

  it('sends plain HTTP on its TLS port to HTTPS', async () => {
    const res = await new Promise<{ status: number; location?: string }>((resolve, reject) =>
      plainRequest({ host: '127.0.0.1', port: http, path: '/viewer/?a=1', headers: { host: `drimbox.local:${http}` } }, (r) => {
        r.resume();
        resolve({ status: r.statusCode!, location: r.headers.location });
      })
        .on('error', reject)
        .end(),
    );
    expect(res).toEqual({ status: 308, location: `https://drimbox.local:${http}/viewer/?a=1` });
  });

  it('holds no test code and no demo, and lists no demo command', () => {
    const compiled = [...files(join(ROOT, 'dist'))].filter((f) => f.endsWith('.js') && !f.includes('/ui/viewer/dist/'));
    expect(compiled.filter((f) => f.includes('/test/'))).toEqual([]);
    expect(compiled.filter((f) => /from ['"][./]*test\//.test(readFileSync(f, 'utf8')))).toEqual([]);
    expect(statSync(join(ROOT, 'dist/ui/portal/assets/portail.css')).size).toBeGreaterThan(0);
    const help = execFileSync(process.execPath, [join(ROOT, 'bin/drimbox.js'), '--help'], { env: { ...process.env, DRIMBOX_RUN_COMPILED: '1' }, encoding: 'utf8' });
    expect(help).toMatch(/serve/);
    expect(help).not.toMatch(/\bdemo\b/);
  });

  it('stops on SIGTERM as balena stops it: in-flight work waited for, database checkpointed, exit 0', async () => {
    const exited = new Promise<number | null>((resolve) => box!.once('exit', (code) => resolve(code)));
    box!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/stopping: in-flight work has 45 s to end/);
    const wal = join(work, 'data/drimbox.sqlite-wal');
    expect(existsSync(wal) ? statSync(wal).size : 0).toBe(0);
    expect(existsSync(join(work, 'balena/updates.lock'))).toBe(false);
  });
});
