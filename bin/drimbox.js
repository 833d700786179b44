#!/usr/bin/env node
// From a checkout: runs the TypeScript sources through tsx. On the box (no tsx) or with DRIMBOX_RUN_COMPILED=1: runs
// the bundle `npm run build` made (dist/box/main.js).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const compiled = join(root, 'dist/box/main.js');
let tsx;
if (process.env.DRIMBOX_RUN_COMPILED !== '1') {
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    // no tsx: an installed box
  }
}
if (tsx) {
  tsx.register();
  await import(pathToFileURL(join(root, 'appliance/src/cli/main.ts')).href);
} else if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else {
  process.stderr.write('drimbox: neither tsx (a checkout) nor dist/ (npm run build) is available\n');
  process.exit(1);
}
