import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { openDatabase } from '../../appliance/src/store/database.js';
import { ReportInbox } from '../../appliance/src/store/report-inbox.js';

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

describe('the report inbox, group commit', () => {
  it('writes messages arriving together in one transaction, each answered only once it is on disk, in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drimbox-db-'));
    try {
      const file = join(dir, 'box.db');
      const inbox = new ReportInbox(openDatabase(file));
      const reader = new Database(file, { readonly: true });
      const commits: number[] = [];
      const visibleWhenAnswered: boolean[] = [];
      const answers = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const r = await inbox.recordSoon({ channel: 'hl7', raw: Buffer.from(`message ${i}`), sender: 'RIS^CAB', controlId: `C${i}` });
          // Another connection sees the row when the caller is answered: the commit came first.
          visibleWhenAnswered.push(reader.prepare('SELECT 1 FROM report_inbox WHERE id = ?').get(r.row.id) !== undefined);
          commits.push(reader.pragma('data_version', { simple: true }) as number);
          return r;
        }),
      );
      expect(visibleWhenAnswered.every(Boolean)).toBe(true);
      expect(answers.map((a) => a.row.controlId)).toEqual(Array.from({ length: 20 }, (_, i) => `C${i}`));
      expect(answers.map((a) => a.row.id)).toEqual([...answers.map((a) => a.row.id)].sort((a, b) => a - b));
      // All twenty were answered after one commit seen by the reader (data_version moved once).
      expect(new Set(commits).size).toBe(1);
      // A resend in a later batch is still told apart.
      const again = await inbox.recordSoon({ channel: 'hl7', raw: Buffer.from('message 3'), sender: 'RIS^CAB', controlId: 'C3' });
      expect(again.kind).toBe('duplicate');
      reader.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
