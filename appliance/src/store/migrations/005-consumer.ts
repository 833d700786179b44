import type { Migration } from './index.js';

/**
 * The consumer side: portal sessions and what each one opened, contextual calls waiting for a login and the call
 * counters ANS asks for (ModelStat), and the index of the local image cache. Session rows are keyed by a digest of
 * the cookie value, so the file never holds a usable session id; everything a session opened goes with it
 * (ON DELETE CASCADE).
 */
export const m005Consumer: Migration = {
  version: 5,
  name: 'consumer portal and image cache',
  sql: `
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
  `,
};
