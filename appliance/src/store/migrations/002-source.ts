import type { Migration } from './index.js';

/** Source side: every HL7/HTTP report as received (written before the ACK), and the DMP outbox. */
export const m002Source: Migration = {
  version: 2,
  name: 'source inbox and outbox',
  sql: `
    CREATE TABLE report_inbox (
      id INTEGER PRIMARY KEY,
      received_at TEXT NOT NULL,
      channel TEXT NOT NULL CHECK (channel IN ('hl7', 'http', 'dicom', 'pacs')),  -- dicom: IOCM note; pacs: late images
      remote TEXT,
      sender TEXT,                 -- MSH-3^MSH-4, or the HTTP caller
      control_id TEXT,             -- MSH-10
      message_type TEXT,           -- MSH-9 or 'CDA'
      raw BLOB NOT NULL,
      digest TEXT NOT NULL,        -- sha256 of raw, to tell a resend from a different message reusing a control id
      state TEXT NOT NULL CHECK (state IN ('received', 'waiting', 'done', 'rejected', 'duplicate', 'failed')),
      error TEXT,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at TEXT,
      first_waiting_at TEXT,
      observed_instances INTEGER,  -- exam size seen at the last look, to tell when it stops growing
      study_instance_uid TEXT,
      updated_at TEXT NOT NULL
    );
    CREATE INDEX report_inbox_state ON report_inbox (state, next_attempt_at);
    CREATE INDEX report_inbox_control ON report_inbox (sender, control_id);

    CREATE TABLE outbox (
      id INTEGER PRIMARY KEY,
      op TEXT NOT NULL CHECK (op IN ('publish', 'replace', 'withdraw')),
      exam_key TEXT NOT NULL,      -- Study Instance UID: operations on one exam are delivered in order
      unique_id TEXT NOT NULL,     -- XDS uniqueId, fixed when queued (the KOS SOP Instance UID)
      target_unique_id TEXT,       -- replace/withdraw: the uniqueId of the entry replaced or withdrawn
      kos_id INTEGER REFERENCES kos_archive (id),
      payload TEXT NOT NULL,       -- JSON: the report event and what the sender needs
      state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'done', 'waiting-retry', 'dead')),
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at TEXT NOT NULL,
      last_error TEXT,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      done_at TEXT,
      UNIQUE (op, unique_id)
    );
    CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
    CREATE INDEX outbox_exam ON outbox (exam_key, id);

    CREATE TABLE kos_archive (
      id INTEGER PRIMARY KEY,
      sop_instance_uid TEXT NOT NULL UNIQUE,
      study_instance_uid TEXT NOT NULL,
      patient_ins TEXT,
      patient_ins_oid TEXT,
      accession TEXT,
      document_id TEXT,            -- the CDA report the KOS was built for
      file TEXT NOT NULL,          -- path under the data dir
      bytes INTEGER NOT NULL,
      sha1 TEXT NOT NULL,
      instance_count INTEGER NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('active', 'replaced', 'withdrawn')),
      replaces_id INTEGER REFERENCES kos_archive (id),
      report TEXT NOT NULL,        -- JSON ReportEvent the KOS was built from (VIHF source for PACS-triggered updates)
      created_at TEXT NOT NULL
    );
    CREATE INDEX kos_archive_study ON kos_archive (study_instance_uid, status);

    CREATE TABLE kos_refs (
      kos_id INTEGER NOT NULL REFERENCES kos_archive (id) ON DELETE CASCADE,
      series_instance_uid TEXT NOT NULL,
      sop_instance_uid TEXT NOT NULL,
      PRIMARY KEY (kos_id, sop_instance_uid)
    ) WITHOUT ROWID;
    CREATE INDEX kos_refs_series ON kos_refs (series_instance_uid);
  `,
};
