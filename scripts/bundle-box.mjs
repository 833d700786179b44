// After `tsc` and the asset copy: the box as a few ES module files in dist/box/ (esbuild), for the image. One bundle
// instead of some 900 module files: the image carries a handful of npm packages instead of node_modules, and the box
// starts with less memory (the module graph is parsed once, minified). Left outside the bundle, loaded from
// node_modules at run time (dist/box/runtime-packages.json lists them for the image's build stage):
//   better-sqlite3 (native addon), dcmjs-codecs (finds its .wasm next to its own file), dcmjs (required at run time
//   by the box and by dcmjs-codecs: one copy for both).
import { build } from 'esbuild';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = resolve(ROOT, 'dist/box');
const EXTERNAL = ['better-sqlite3', 'dcmjs-codecs', 'dcmjs', 'pkcs11js'];

// A module that finds files next to itself (import.meta.url: the viewer's and the portal's assets) keeps finding
// them: its import.meta.url becomes the URL its file has in the tsc build (dist/<same path>.js), where
// scripts/copy-build-assets.mjs put the assets.
const keepOwnLocation = {
  name: 'keep-own-location',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes('import.meta.url') || args.path.includes('node_modules')) return undefined;
      const compiled = resolve(ROOT, 'dist', relative(ROOT, args.path)).replace(/\.ts$/, '.js');
      const fromBundle = relative(OUT, compiled).split('\\').join('/');
      return { contents: source.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`), loader: 'ts', resolveDir: dirname(args.path) };
    });
  },
};

rmSync(OUT, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: { main: 'appliance/src/cli/main.ts' },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  // Readable stack traces in the box's logs: whitespace and syntax minified, names kept.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  // CommonJS packages inside an ES module bundle still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __drimboxRequire } from 'node:module'; const require = __drimboxRequire(import.meta.url);" },
  plugins: [keepOwnLocation],
  metafile: true,
  logLevel: 'warning',
});
writeFileSync(resolve(OUT, 'runtime-packages.json'), JSON.stringify(EXTERNAL, null, 2) + '\n');
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`build: dist/box/ ${Object.keys(result.metafile.outputs).length} files, ${(bytes / 1e6).toFixed(1)} MB (outside: ${EXTERNAL.join(', ')})`);
