import { build, type Plugin } from 'esbuild';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

/**
 * Builds the on-screen keyboard into ui/keyboard/dist: clavier.js (minified IIFE) and clavier.css (simple-keyboard's
 * sheet followed by ours). Served by the box: no CDN.
 *
 *   npx tsx ui/keyboard/build.ts [outDir]
 */

const HERE = dirname(fileURLToPath(import.meta.url));
export const KEYBOARD_DIST = join(HERE, 'dist');
const require = createRequire(import.meta.url);

/** simple-keyboard's modern-browsers build (no polyfills): the kiosk Chromium is recent. */
const modernSimpleKeyboard: Plugin = {
  name: 'simple-keyboard-modern',
  setup(b) {
    b.onResolve({ filter: /^simple-keyboard$/ }, () => ({ path: require.resolve('simple-keyboard/build/index.modern.esm.js') }));
  },
};

export interface KeyboardBuildReport {
  outDir: string;
  files: { name: string; bytes: number; gzipBytes: number }[];
}

export async function buildKeyboard(options: { outDir?: string; minify?: boolean } = {}): Promise<KeyboardBuildReport> {
  const outDir = resolve(options.outDir ?? KEYBOARD_DIST);
  const result = await build({
    entryPoints: [
      { in: join(HERE, 'clavier.ts'), out: 'clavier' },
      { in: join(HERE, 'clavier.css'), out: 'clavier' },
    ],
    outdir: outDir,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['chrome100'],
    minify: options.minify ?? true,
    legalComments: 'eof',
    plugins: [modernSimpleKeyboard],
    logLevel: 'warning',
    absWorkingDir: resolve(HERE, '../..'),
    write: false,
  });
  await mkdir(outDir, { recursive: true });
  const files: KeyboardBuildReport['files'] = [];
  for (const out of result.outputFiles) {
    // Written aside then renamed: a box or a test reading the bundle meanwhile never sees half a file.
    const partial = `${out.path}.${process.pid}.tmp`;
    await writeFile(partial, out.contents);
    await rename(partial, out.path);
    files.push({ name: basename(out.path), bytes: out.contents.length, gzipBytes: gzipSync(out.contents, { level: 9 }).length });
  }
  const names = files.map((f) => f.name).sort();
  if (names.join(',') !== 'clavier.css,clavier.js') throw new Error(`keyboard build: expected clavier.js and clavier.css, got ${names.join(', ')}`);
  return { outDir, files };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  buildKeyboard({ outDir: process.argv[2] })
    .then((r) => {
      for (const f of r.files) process.stdout.write(`${f.name.padEnd(12)} ${String(f.bytes).padStart(7)} B  (gzip ${f.gzipBytes} B)\n`);
      process.stdout.write(`keyboard built into ${r.outDir}\n`);
    })
    .catch((err: unknown) => {
      process.stderr.write(`keyboard build failed: ${(err as Error).message}\n`);
      process.exitCode = 1;
    });
}
