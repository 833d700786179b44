import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDemo } from '../demo/demo.js';

/** The README's main command keeps working: `npm run demo -- --check` runs the two-site story and exits 0. */
describe('the demonstration', () => {
  it('runs the whole story headless: publish, contextual call and login, DMP search, retrieve, viewer path, import', async () => {
    const work = mkdtempSync(join(tmpdir(), 'drimbox-demo-'));
    try {
      expect(await runDemo({ check: true, slices: 8, workDir: work })).toBe(0);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 240_000);
});
