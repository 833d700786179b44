import type { Migration } from './index.js';

/**
 * Reports held for a person's decision (the PACS study's patient is not the report's: issue 13, patient safety),
 * and the mark a person leaves when releasing one. SQLite cannot change a CHECK constraint in place: the table is
 * rebuilt with the same rows (https://www.sqlite.org/lang_altertable.html, "other kinds of table schema changes").
 */
export const m006InboxHeld: Migration = {
  version: 6,
  name: 'inbox: held reports and their release',
  sql: `
    CREATE TABLE report_inbox_v6 (
      id INTEGER PRIMARY KEY,
      received_at TEXT NOT NULL,
      channel TEXT NOT NULL CHECK (channel IN ('hl7', 'http', 'dicom', 'pacs')),
      remote TEXT,
      sender TEXT,
      control_id TEXT,
      message_type TEXT,
      raw BLOB NOT NULL,
      digest TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('received', 'waiting', 'held', 'done', 'rejected', 'duplicate', 'failed')),
      error TEXT,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at TEXT,
      first_waiting_at TEXT,
      observed_instances INTEGER,
      study_instance_uid TEXT,
      updated_at TEXT NOT NULL,
      released_by TEXT              -- who released a held report (the patient check is then skipped for it)
    );
    INSERT INTO report_inbox_v6 (id, received_at, channel, remote, sender, control_id, message_type, raw, digest, state, error, attempts,
                                 next_attempt_at, first_waiting_at, observed_instances, study_instance_uid, updated_at)
      SELECT id, received_at, channel, remote, sender, control_id, message_type, raw, digest, state, error, attempts,
             next_attempt_at, first_waiting_at, observed_instances, study_instance_uid, updated_at FROM report_inbox;
    DROP TABLE report_inbox;
    ALTER TABLE report_inbox_v6 RENAME TO report_inbox;
    CREATE INDEX report_inbox_state ON report_inbox (state, next_attempt_at);
    CREATE INDEX report_inbox_control ON report_inbox (sender, control_id);
    CREATE INDEX report_inbox_study ON report_inbox (study_instance_uid, state);
  `,
};
