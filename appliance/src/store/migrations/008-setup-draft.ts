import type { Migration } from './index.js';

/** The setup wizard's answers, step by step: a power cut in the middle of the wizard loses nothing typed. */
export const m008SetupDraft: Migration = {
  version: 8,
  name: 'setup wizard draft',
  sql: `CREATE TABLE setup_draft (
    step TEXT PRIMARY KEY,
    answers TEXT NOT NULL,
    test_outcome TEXT,
    updated_at TEXT NOT NULL
  );`,
};
