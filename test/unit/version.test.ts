import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOX_VERSION } from '../../appliance/src/version.js';

describe('the box version the fleet sees', () => {
  it('is package.json’s', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(BOX_VERSION).toBe(pkg.version);
  });
});
