import type { Migration } from './index.js';

export const m001Meta: Migration = {
  version: 1,
  name: 'meta',
  sql: `
    CREATE TABLE box_meta (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL,
      updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );
  `,
};
