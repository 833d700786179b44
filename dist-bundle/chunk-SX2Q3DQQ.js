import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import L from"better-sqlite3";import{mkdirSync as u}from"node:fs";import{dirname as c,join as m}from"node:path";var a={version:1,name:"meta",sql:`
    CREATE TABLE box_meta (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL,
      updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );
  `};var n={version:2,name:"source inbox and outbox",sql:`
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
  `};var r={version:3,name:"audit trail",sql:`
    CREATE TABLE audit_events (
      id INTEGER PRIMARY KEY,
      at TEXT NOT NULL,                -- request start, ISO 8601 UTC
      subject_name_id TEXT,            -- Pro Sant\xE9 Connect SubjectNameID of the professional
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
  `};var o={version:4,name:"dicomweb series metadata cache",sql:`
    CREATE TABLE dicomweb_series_metadata (
      study_uid TEXT NOT NULL,
      series_uid TEXT NOT NULL,
      instance_count INTEGER NOT NULL,
      base_url TEXT NOT NULL,
      json_gz BLOB NOT NULL,
      bytes INTEGER NOT NULL,
      built_at TEXT NOT NULL,
      used_at TEXT NOT NULL,
      PRIMARY KEY (study_uid, series_uid)
    );
    CREATE INDEX dicomweb_series_metadata_used ON dicomweb_series_metadata (used_at);
  `};var N={version:5,name:"consumer portal and image cache",sql:`
    CREATE TABLE consumer_sessions (
      id TEXT PRIMARY KEY,               -- SHA-256 (hex) of the cookie value
      created_at INTEGER NOT NULL,       -- epoch ms
      last_seen_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,       -- absolute end, whatever the activity
      pending_login TEXT,                -- JSON: state, nonce, PKCE verifier, redirect URI, where to go next
      resume_context TEXT,               -- JSON: a contextual call waiting for the login
      user TEXT,                         -- JSON: the logged-in professional (from PSC userinfo)
      access_token TEXT,
      id_token TEXT,
      token_expires_at INTEGER           -- epoch s
    );
    CREATE INDEX consumer_sessions_expiry ON consumer_sessions (expires_at);

    CREATE TABLE consumer_session_patients (
      session_id TEXT NOT NULL REFERENCES consumer_sessions (id) ON DELETE CASCADE,
      handle TEXT NOT NULL,              -- random, used in URLs instead of the INS
      ins TEXT NOT NULL,
      ins_oid TEXT NOT NULL,
      traits TEXT NOT NULL,              -- JSON: INS traits as received
      local_id TEXT,                     -- IPP in this practice (contextual call)
      local_id_issuer TEXT,
      situation TEXT,
      consent INTEGER,                   -- InformationEtConsentement: 1 yes, 0 no, NULL not asked (search)
      origin TEXT NOT NULL CHECK (origin IN ('contexte', 'recherche')),
      opened_at INTEGER NOT NULL,
      PRIMARY KEY (session_id, handle),
      UNIQUE (session_id, ins)
    );

    CREATE TABLE consumer_session_studies (
      session_id TEXT NOT NULL REFERENCES consumer_sessions (id) ON DELETE CASCADE,
      study_uid TEXT NOT NULL,
      patient_handle TEXT NOT NULL,
      document_unique_id TEXT NOT NULL,  -- XDS uniqueId of the KOS in the DMP
      kos_sop_instance_uid TEXT NOT NULL,
      manifest TEXT NOT NULL,            -- JSON: series, Retrieve URLs and instances the KOS references
      opened_at INTEGER NOT NULL,
      PRIMARY KEY (session_id, study_uid)
    );

    CREATE TABLE consumer_pending_contexts (
      id TEXT PRIMARY KEY,               -- SHA-256 (hex) of the one-time token in the redirect URL
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      context TEXT NOT NULL              -- JSON: the validated parameters
    );

    CREATE TABLE consumer_context_calls (
      id INTEGER PRIMARY KEY,
      at TEXT NOT NULL,                  -- ISO 8601 UTC
      status TEXT NOT NULL CHECK (status IN ('succes', 'erreur')),
      reason TEXT                        -- why it was refused (no patient data)
    );
    CREATE INDEX consumer_context_calls_at ON consumer_context_calls (at);

    CREATE TABLE consumer_cache_studies (
      study_uid TEXT PRIMARY KEY,
      bytes INTEGER NOT NULL DEFAULT 0,
      instances INTEGER NOT NULL DEFAULT 0,
      study_json TEXT NOT NULL,          -- QIDO study-level attributes (DICOM JSON)
      created_at INTEGER NOT NULL,
      last_used_at INTEGER NOT NULL      -- LRU key
    );
    CREATE INDEX consumer_cache_studies_lru ON consumer_cache_studies (last_used_at);

    CREATE TABLE consumer_cache_series (
      study_uid TEXT NOT NULL REFERENCES consumer_cache_studies (study_uid) ON DELETE CASCADE,
      series_uid TEXT NOT NULL,
      series_json TEXT NOT NULL,
      PRIMARY KEY (study_uid, series_uid)
    );

    CREATE TABLE consumer_cache_instances (
      study_uid TEXT NOT NULL,
      series_uid TEXT NOT NULL,
      sop_instance_uid TEXT NOT NULL,
      sop_class_uid TEXT NOT NULL,
      transfer_syntax_uid TEXT NOT NULL,
      bytes INTEGER NOT NULL,
      instance_number INTEGER,
      instance_json TEXT NOT NULL,
      stored_at INTEGER NOT NULL,
      PRIMARY KEY (study_uid, sop_instance_uid),
      FOREIGN KEY (study_uid, series_uid) REFERENCES consumer_cache_series (study_uid, series_uid) ON DELETE CASCADE
    );
    CREATE INDEX consumer_cache_instances_series ON consumer_cache_instances (study_uid, series_uid, instance_number);

    CREATE TABLE consumer_series_metadata (
      study_uid TEXT NOT NULL REFERENCES consumer_cache_studies (study_uid) ON DELETE CASCADE,
      series_uid TEXT NOT NULL,
      instance_count INTEGER NOT NULL,
      base_url TEXT NOT NULL,
      gzipped_json BLOB NOT NULL,
      built_at TEXT NOT NULL,
      PRIMARY KEY (study_uid, series_uid)
    );
  `};var d={version:6,name:"inbox: held reports and their release",sql:`
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
  `};var _=[a,n,r,o,N,d];function G(e,E=_){e!==":memory:"&&u(c(e),{recursive:!0});let t;try{t=new L(e)}catch(i){throw new Error(`cannot open database ${e}: ${i.message}`)}return t.pragma("journal_mode = WAL"),t.pragma("synchronous = NORMAL"),t.pragma("foreign_keys = ON"),t.pragma("busy_timeout = 5000"),p(t,E),t}function O(e){return e.pragma("user_version",{simple:!0})}function p(e,E){let t=[...E].sort((s,T)=>s.version-T.version);t.forEach((s,T)=>{if(s.version!==T+1)throw new Error(`migrations must be numbered 1..n without gaps: found ${s.version} at position ${T+1}`)});let i=O(e);if(i>t.length)throw new Error(`database schema version ${i} is newer than this software (knows ${t.length}): refusing to run on it`);for(let s of t.slice(i))e.transaction(()=>{try{e.exec(s.sql)}catch(T){throw new Error(`migration ${s.version} (${s.name}) failed: ${T.message}`)}e.pragma(`user_version = ${s.version}`)})()}function Y(e){return m(e,"drimbox.sqlite")}export{G as a,Y as b};
