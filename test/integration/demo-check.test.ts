import { describe, it, expect } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDemo } from '../demo/demo.js';

/** The README's main command keeps working: `npm run demo -- --check` runs the two-site story and exits 0. */
describe('the demonstration', () => {
  it('runs the whole story headless: publish, contextual call and login, DMP search, retrieve, viewer path, import', async () => {
    const work = mkdtempSync(join(tmpdir(), 'drimbox-demo-'));
    try {
      expect(await runDemo({ check: true, slices: 8, workDir: work })).toBe(0);
      // Each box ran as `drimbox serve` on the file a device reads, its output in its own log.
      for (const site of ['saint-pierre', 'strasbourg']) {
        expect(JSON.parse(readFileSync(join(work, site, 'config.json'), 'utf8')).dataDir).toBe(join(work, site));
        expect(readFileSync(join(work, `${site}.log`), 'utf8')).toContain('DRIMbox running: http://127.0.0.1:');
      }
      expect(existsSync(join(work, 'saint-pierre', 'drimbox.sqlite'))).toBe(true);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 240_000);
});
