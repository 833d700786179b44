#!/usr/bin/env node
// Runs the TypeScript sources through tsx; the container image runs the compiled dist/ instead.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const compiled = join(root, 'dist/appliance/src/cli/main.js');
if (process.env.DRIMBOX_RUN_COMPILED === '1' && existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'appliance/src/cli/main.ts')).href);
}
