import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { log as defaultLog, type Logger } from '../log/logger.js';

/**
 * The web viewer's built assets (ui/viewer/dist, `npm run build:ui`) under /viewer/. Static serving that trusts
 * nothing in the path: each segment is a plain file name from a short alphabet, no dot segments, no hidden files,
 * the resolved real path must stay inside the root (symlinks included), and only known file types are served.
 * Entry: GET /viewer/?study=UID[&series=UID][&base=/dicom-web][&token=...] — the page reads its query itself.
 */

export const VIEWER_DIST_DIR = fileURLToPath(new URL('../../../ui/viewer/dist/', import.meta.url));

const MIME: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** esbuild's `[name]-[hash]` output: the content never changes under that name. */
const HASHED = /-[A-Z0-9]{8}\.(js|css)$/;
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const MAX_SEGMENTS = 4;

/**
 * Same-origin only: scripts, workers, WASM and DICOMweb calls come from the box itself. 'wasm-unsafe-eval' lets
 * the codecs compile; inline styles are set by the imaging library on its own elements.
 */
export const VIEWER_CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'self'",
].join('; ');

export interface ViewerRoutesOptions {
  /** Folder of the built viewer; default ui/viewer/dist of this checkout. */
  root?: string;
  /** Where the routes are mounted (`app.route(mountPath, createViewerRoutes())`); default /viewer. */
  mountPath?: string;
  log?: Logger;
}

/** The path under /viewer/ as a list of safe segments, or undefined when anything about it is suspect. */
export function safeSegments(rawPath: string): string[] | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const segments = decoded.split('/');
  if (segments.length > MAX_SEGMENTS) return undefined;
  for (const s of segments) if (!SEGMENT.test(s) || s.includes('..')) return undefined;
  return segments;
}

function refusal(status: 404 | 405 | 503, text: string, extra: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', ...extra } });
}

function preferredEncodings(acceptEncoding: string | undefined): ('br' | 'gzip')[] {
  const accepted = new Map<string, number>();
  for (const part of (acceptEncoding ?? '').split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    accepted.set(name.trim(), q ? Number(q.slice(2)) || 0 : 1);
  }
  return (['br', 'gzip'] as const).filter((e) => (accepted.get(e) ?? 0) > 0);
}

export function createViewerRoutes(options: ViewerRoutesOptions = {}): Hono {
  const log = options.log ?? defaultLog;
  const configuredRoot = options.root ?? VIEWER_DIST_DIR;
  let rootReal: Promise<string | undefined> | undefined;
  const root = () => (rootReal ??= realpath(configuredRoot).catch(() => undefined));
  let warnedMissing = false;
  const mountPath = (options.mountPath ?? '/viewer').replace(/\/+$/, '');

  async function serve(request: Request, segments: string[]): Promise<Response> {
    const base = await root();
    if (base === undefined) {
      rootReal = undefined; // the build may arrive later
      if (!warnedMissing) log.warn('viewer: assets not built, run `npm run build:ui`', { root: configuredRoot });
      warnedMissing = true;
      return refusal(503, 'viewer not built on this box');
    }
    const type = MIME[extname(segments[segments.length - 1]!)];
    if (type === undefined) return refusal(404, 'not found');
    const wanted = join(base, ...segments);
    let real: string;
    try {
      real = await realpath(wanted);
    } catch {
      return refusal(404, 'not found');
    }
    if (!real.startsWith(base + sep)) return refusal(404, 'not found');
    const info = await stat(real).catch(() => undefined);
    if (!info?.isFile()) return refusal(404, 'not found');

    const isHtml = type.startsWith('text/html');
    const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    const headers: Record<string, string> = {
      'content-type': type,
      'x-content-type-options': 'nosniff',
      'cache-control': HASHED.test(real) ? 'public, max-age=31536000, immutable' : 'no-cache',
      etag,
      vary: 'Accept-Encoding',
      'content-security-policy': VIEWER_CSP,
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
    };
    if (isHtml) headers['x-frame-options'] = 'SAMEORIGIN';
    const ifNoneMatch = request.headers.get('if-none-match');
    if (ifNoneMatch !== null && ifNoneMatch.split(',').some((t) => t.trim() === etag)) return new Response(null, { status: 304, headers });

    // Precompressed siblings written by the build (file.br, file.gz), when the client takes them.
    let file = real;
    let size = info.size;
    for (const encoding of preferredEncodings(request.headers.get('accept-encoding') ?? undefined)) {
      const candidate = `${real}.${encoding === 'br' ? 'br' : 'gz'}`;
      const s = await stat(candidate).catch(() => undefined);
      if (s?.isFile()) {
        file = candidate;
        size = s.size;
        headers['content-encoding'] = encoding;
        break;
      }
    }
    headers['content-length'] = String(size);
    if (request.method === 'HEAD') return new Response(null, { status: 200, headers });
    const body = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
    return new Response(body, { status: 200, headers });
  }

  const app = new Hono();
  app.use('*', async (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : refusal(405, 'method not allowed', { allow: 'GET, HEAD' })));
  app.get('*', (c) => {
    const url = new URL(c.req.url);
    if (url.pathname === mountPath) return c.redirect(`${mountPath}/${url.search}`, 308); // relative asset URLs need the slash
    if (!url.pathname.startsWith(`${mountPath}/`)) return refusal(404, 'not found');
    const rest = url.pathname.slice(mountPath.length + 1);
    const segments = rest === '' ? ['index.html'] : safeSegments(rest);
    if (!segments) return refusal(404, 'not found');
    return serve(c.req.raw, segments);
  });
  return app;
}
