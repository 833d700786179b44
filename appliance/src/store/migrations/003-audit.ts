import type { Migration } from './index.js';

/** Audit trail of image access: one row per DICOMweb request, written when its answer has been sent (or dropped). */
export const m003Audit: Migration = {
  version: 3,
  name: 'audit trail',
  sql: `
    CREATE TABLE audit_events (
      id INTEGER PRIMARY KEY,
      at TEXT NOT NULL,                -- request start, ISO 8601 UTC
      subject_name_id TEXT,            -- Pro Santé Connect SubjectNameID of the professional
      rpps TEXT,                       -- RPPS/ADELI number when known apart from SubjectNameID
      calling_box TEXT,                -- whitelisted DRIMbox (domain or certificate DN) that made the call
      client_address TEXT,
      kos_sop_instance_uid TEXT,       -- KOS-SOPInstanceUID header
      method TEXT NOT NULL,
      path TEXT NOT NULL,              -- path and query as received
      action TEXT NOT NULL,            -- search, retrieve, metadata, frames, bulk, health
      study_uid TEXT,
      series_uid TEXT,
      sop_instance_uid TEXT,
      status INTEGER NOT NULL,         -- HTTP status sent
      outcome TEXT NOT NULL CHECK (outcome IN ('complete', 'interrupted', 'refused', 'failed')),
      reason TEXT,                     -- why refused or failed, in words
      instances INTEGER NOT NULL DEFAULT 0,
      skipped INTEGER NOT NULL DEFAULT 0,
      bytes_sent INTEGER NOT NULL DEFAULT 0,
      duration_ms INTEGER NOT NULL
    );
    CREATE INDEX audit_events_at ON audit_events (at);
    CREATE INDEX audit_events_study ON audit_events (study_uid, at);
    CREATE INDEX audit_events_subject ON audit_events (subject_name_id, at);
  `,
};
