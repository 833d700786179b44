// After `tsc -p tsconfig.build.json`: the files the compiled box reads at run time besides its JavaScript, at the
// same relative places as in the source tree (the code finds them relative to its own module).
import { cpSync, existsSync } from 'node:fs';

const copies = [
  ['ui/portal/assets', 'dist/ui/portal/assets'],
  ['ui/viewer/dist', 'dist/ui/viewer/dist'],
  ['ui/keyboard/dist', 'dist/ui/keyboard/dist'],
  ['ui/setup/assets', 'dist/ui/setup/assets'],
  ['ui/status/assets', 'dist/ui/status/assets'],
];
for (const [from, to] of copies) {
  if (!existsSync(from)) {
    console.error(`build: ${from} is missing (run npm run build:ui first)`);
    process.exit(1);
  }
  cpSync(from, to, { recursive: true });
}
console.log(`build: copied ${copies.map(([from]) => from).join(', ')} into dist/`);
