import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../appliance/src/store/database.js';

describe('the box database', () => {
  it('is in WAL mode and syncs every commit (a report ACKed to the RIS survives a power cut)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drimbox-db-'));
    try {
      const db = openDatabase(join(dir, 'box.db'));
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
      expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
