// The image's build stage: copies the packages the bundle leaves outside (dist/box/runtime-packages.json) and
// everything they depend on, from node_modules into the folder given (the run stage's node_modules).
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const [target] = process.argv.slice(2);
if (!target) {
  console.error('usage: node scripts/runtime-packages.mjs TARGET_NODE_MODULES');
  process.exit(2);
}
const ROOT = resolve(import.meta.dirname, '..');
const wanted = JSON.parse(readFileSync(join(ROOT, 'dist/box/runtime-packages.json'), 'utf8'));
// Install-time only (better-sqlite3 finds its compiled addon through `bindings`, never downloads at run time).
const INSTALL_TIME = new Set(['prebuild-install']);
const copied = new Set();
function copy(name) {
  if (copied.has(name)) return;
  const from = join(ROOT, 'node_modules', name);
  if (!existsSync(join(from, 'package.json'))) throw new Error(`runtime package ${name} is not installed (npm ci first)`);
  copied.add(name);
  cpSync(from, join(target, name), { recursive: true, dereference: true, filter: (src) => !src.includes('/node_modules/', from.length) });
  const manifest = JSON.parse(readFileSync(join(from, 'package.json'), 'utf8'));
  for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies })) {
    if (!INSTALL_TIME.has(dep) && existsSync(join(ROOT, 'node_modules', dep, 'package.json'))) copy(dep);
  }
}
for (const name of wanted) copy(name);
console.log(`runtime packages: ${[...copied].sort().join(', ')}`);
