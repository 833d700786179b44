import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync } from 'node:zlib';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createViewerRoutes, safeSegments, VIEWER_CSP } from '../../appliance/src/http/viewer-routes.js';
import type { Logger } from '../../appliance/src/log/logger.js';

let dir: string;
let root: string;
let app: Hono;
const SECRET = 'outside the viewer root';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drimbox-viewer-routes-'));
  root = join(dir, 'dist');
  mkdirSync(join(root, 'wasm'), { recursive: true });
  writeFileSync(join(dir, 'secret.txt'), SECRET);
  writeFileSync(join(dir, 'secret.js'), SECRET);
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>viewer</title>');
  const js = 'console.log("viewer");'.repeat(50);
  writeFileSync(join(root, 'viewer-ABCD1234.js'), js);
  writeFileSync(join(root, 'viewer-ABCD1234.js.br'), brotliCompressSync(js));
  writeFileSync(join(root, 'viewer-ABCD1234.js.gz'), gzipSync(js));
  writeFileSync(join(root, 'viewer-ABCD1234.css'), 'body{}');
  writeFileSync(join(root, 'decodeImageFrameWorker.js'), 'self.onmessage=()=>{}');
  writeFileSync(join(root, 'wasm', 'codec.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  writeFileSync(join(root, '.hidden.js'), SECRET);
  writeFileSync(join(root, 'study.dcm'), SECRET);
  symlinkSync(join(dir, 'secret.js'), join(root, 'link.js'));
  symlinkSync(dir, join(root, 'up'));
  app = new Hono();
  app.route('/viewer', createViewerRoutes({ root }));
  app.notFound((c) => c.text('app 404', 404));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const get = (path: string, headers: Record<string, string> = {}) => app.request(`http://box.test${path}`, { headers });

describe('viewer static route', () => {
  it('serves the page at /viewer/ with its query, HTML type, no-cache and a same-origin CSP', async () => {
    const res = await get('/viewer/?study=1.2.3&base=/dicom-web');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toBe(VIEWER_CSP);
    expect(VIEWER_CSP).toContain("connect-src 'self'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await res.text()).toContain('<title>viewer</title>');
  });

  it('redirects /viewer to /viewer/ keeping the query, so relative asset URLs resolve', async () => {
    const res = await get('/viewer?study=1.2.3');
    expect(res.status).toBe(308);
    expect(res.headers.get('location')).toBe('/viewer/?study=1.2.3');
  });

  it('gives each asset its MIME type; hashed names are immutable, others revalidate', async () => {
    const js = await get('/viewer/viewer-ABCD1234.js');
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await js.text()).toContain('console.log("viewer")');
    expect((await get('/viewer/viewer-ABCD1234.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
    const worker = await get('/viewer/decodeImageFrameWorker.js');
    expect(worker.headers.get('cache-control')).toBe('no-cache');
    const wasm = await get('/viewer/wasm/codec.wasm');
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    expect(new Uint8Array(await wasm.arrayBuffer()).slice(0, 4)).toEqual(new Uint8Array([0, 0x61, 0x73, 0x6d]));
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const first = await get('/viewer/decodeImageFrameWorker.js');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    const again = await get('/viewer/decodeImageFrameWorker.js', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
  });

  it('serves the precompressed sibling the client accepts, Brotli first', async () => {
    const br = await get('/viewer/viewer-ABCD1234.js', { 'accept-encoding': 'gzip, deflate, br' });
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(br.headers.get('vary')).toBe('Accept-Encoding');
    const gz = await get('/viewer/viewer-ABCD1234.js', { 'accept-encoding': 'gzip, br;q=0' });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    const plain = await get('/viewer/viewer-ABCD1234.js', { 'accept-encoding': 'identity' });
    expect(plain.headers.get('content-encoding')).toBeNull();
  });

  it.each([
    '/viewer/..%2fsecret.txt',
    '/viewer/..%2Fsecret.js',
    '/viewer/%2e%2e%2fsecret.txt',
    '/viewer/wasm/..%2f..%2fsecret.txt',
    '/viewer/wasm%2f..%2f..%2fsecret.js',
    '/viewer/%5c..%5csecret.txt',
    '/viewer/..%5csecret.js',
    '/viewer/%2fetc%2fpasswd',
    '/viewer//etc/passwd',
    '/viewer/index.html%00.js',
    '/viewer/%E0%A4%A',
    '/viewer/.hidden.js',
    '/viewer/link.js',
    '/viewer/up/secret.js',
    '/viewer/study.dcm',
    '/viewer/wasm',
    '/viewer/a/b/c/d/e.js',
  ])('refuses %s', async (path) => {
    const res = await get(path);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain(SECRET);
  });

  it('never reaches outside through dot segments the URL parser resolves first', async () => {
    for (const path of ['/viewer/../secret.txt', '/viewer/%2e%2e/secret.txt', '/viewer/wasm/../../secret.js']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain(SECRET);
    }
  });

  it('refuses other methods', async () => {
    const res = await app.request('http://box.test/viewer/index.html', { method: 'POST', body: 'x' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });

  it('says the viewer is not built rather than failing when the folder is missing, and warns once', async () => {
    const warnings: string[] = [];
    const log: Logger = { debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {}, child: () => log };
    const bare = new Hono();
    bare.route('/viewer', createViewerRoutes({ root: join(dir, 'not-built'), log }));
    expect((await bare.request('http://box.test/viewer/')).status).toBe(503);
    expect((await bare.request('http://box.test/viewer/viewer-ABCD1234.js')).status).toBe(503);
    expect(warnings).toEqual(['viewer: assets not built, run `npm run build:ui`']);
  });
});

describe('safeSegments', () => {
  it('keeps plain names and refuses anything else', () => {
    expect(safeSegments('wasm/codec.wasm')).toEqual(['wasm', 'codec.wasm']);
    expect(safeSegments('viewer-ABCD1234.js.LEGAL.txt')).toEqual(['viewer-ABCD1234.js.LEGAL.txt']);
    for (const bad of ['', '..', '../x.js', 'a/../x.js', './x.js', 'a//b.js', '/x.js', 'x.js/', '.env', 'a\\b.js', 'x\0.js', '%ZZ', 'é.js', 'a:b.js']) {
      expect(safeSegments(bad), bad).toBeUndefined();
    }
  });
});
