import { readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The box runs with production dependencies only (the image installs no devDependencies): nothing under
// appliance/src or the server-side ui may import a package that is not a runtime dependency, and every runtime
// dependency is used.
const ROOT = join(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const SERVER_SIDE = ['appliance/src', 'ui/portal'];

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (/\.tsx?$/.test(name)) yield path;
  }
}

const packageOf = (specifier: string) => (specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);
const imported = new Map<string, string>();
for (const dir of SERVER_SIDE) {
  for (const file of sources(join(ROOT, dir))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import\(|require\(|\)\()\s*['"]([^'"./][^'"]*)['"]/g)) {
      const name = packageOf(m[1]!);
      if (!name.startsWith('node:') && !builtinModules.includes(name)) imported.set(name, file.slice(ROOT.length + 1));
    }
  }
}

describe('runtime dependencies', () => {
  it('the box imports runtime dependencies only', () => {
    const notRuntime = [...imported].filter(([name]) => !(name in pkg.dependencies)).map(([name, file]) => `${name} (${file})`);
    expect(notRuntime).toEqual([]);
  });

  it('every runtime dependency is used by the box', () => {
    expect(Object.keys(pkg.dependencies).filter((name) => !imported.has(name))).toEqual([]);
  });
});
