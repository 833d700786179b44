import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../../appliance/src/store/database.js';
import type { Migration } from '../../../appliance/src/store/migrations/index.js';
import type { EntryStatus } from './codes.js';

/** The simulated DMP's registry and repository: SQLite rows, document bytes in files. */

const schema: Migration[] = [
  {
    version: 1,
    name: 'dmp-sim registry',
    sql: `
      CREATE TABLE submission_sets (
        entry_uuid TEXT PRIMARY KEY,
        unique_id TEXT NOT NULL UNIQUE,
        patient_id TEXT NOT NULL,
        source_id TEXT NOT NULL,
        transaction_name TEXT NOT NULL,
        structure_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        received_at TEXT NOT NULL
      );
      CREATE TABLE entries (
        entry_uuid TEXT PRIMARY KEY,
        unique_id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('kos', 'signature')),
        patient_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('Approved', 'Deprecated', 'Deleted')),
        mime_type TEXT NOT NULL,
        type_code TEXT NOT NULL,
        class_code TEXT NOT NULL,
        format_code TEXT NOT NULL,
        practice_code TEXT NOT NULL,
        facility_code TEXT NOT NULL,
        creation_time TEXT NOT NULL,
        service_start_time TEXT,
        hash TEXT NOT NULL,
        size INTEGER NOT NULL,
        confidentiality TEXT NOT NULL,
        event_codes TEXT NOT NULL,
        reference_ids TEXT NOT NULL,
        submission_set_uuid TEXT NOT NULL REFERENCES submission_sets(entry_uuid),
        document_file TEXT NOT NULL,
        metadata_xml TEXT NOT NULL,
        received_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX entries_by_patient ON entries(patient_id, status);
      CREATE TABLE associations (
        entry_uuid TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        source_uuid TEXT NOT NULL,
        target_uuid TEXT NOT NULL,
        submission_set_uuid TEXT NOT NULL REFERENCES submission_sets(entry_uuid),
        metadata_xml TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX associations_by_source ON associations(source_uuid);
      CREATE INDEX associations_by_target ON associations(target_uuid);
    `,
  },
];

export interface SubmissionSetRow {
  entry_uuid: string;
  unique_id: string;
  patient_id: string;
  source_id: string;
  transaction_name: 'ITI-41' | 'ITI-57';
  structure_id: string;
  message_id: string;
  received_at: string;
}

export interface EntryRow {
  entry_uuid: string;
  unique_id: string;
  kind: 'kos' | 'signature';
  patient_id: string;
  status: EntryStatus;
  mime_type: string;
  /** `code^^scheme`, the form ITI-18 parameters use. */
  type_code: string;
  class_code: string;
  format_code: string;
  practice_code: string;
  facility_code: string;
  creation_time: string;
  service_start_time: string | null;
  hash: string;
  size: number;
  confidentiality: string;
  event_codes: string;
  reference_ids: string;
  submission_set_uuid: string;
  document_file: string;
  metadata_xml: string;
  received_at: string;
  updated_at: string;
}

export interface AssociationRow {
  entry_uuid: string;
  type: string;
  source_uuid: string;
  target_uuid: string;
  submission_set_uuid: string;
  metadata_xml: string;
  created_at: string;
}

export class DuplicateUniqueId extends Error {
  constructor(readonly uniqueId: string, readonly what: 'DocumentEntry' | 'SubmissionSet') {
    super(`${what} uniqueId ${uniqueId} is already in the registry`);
  }
}

export interface NewSubmission {
  set: SubmissionSetRow;
  entries: { row: Omit<EntryRow, 'document_file'>; bytes: Buffer }[];
  associations: AssociationRow[];
  /** entryUUIDs whose status changes in the same transaction (RPLC, ITI-57), with the status they must have now. */
  statusChanges: { entryUuid: string; from: EntryStatus; to: EntryStatus }[];
}

export class StatusConflict extends Error {}

export class SimStore {
  readonly db: Db;
  private readonly documentsDir: string;

  constructor(dataDir: string) {
    this.documentsDir = join(dataDir, 'documents');
    mkdirSync(this.documentsDir, { recursive: true });
    this.db = openDatabase(join(dataDir, 'dmp-sim.sqlite'), schema);
  }

  entryByUniqueId(uniqueId: string): EntryRow | undefined {
    return this.db.prepare('SELECT * FROM entries WHERE unique_id = ?').get(uniqueId) as EntryRow | undefined;
  }

  entryByUuid(uuid: string): EntryRow | undefined {
    return this.db.prepare('SELECT * FROM entries WHERE entry_uuid = ?').get(uuid) as EntryRow | undefined;
  }

  submissionSetByUniqueId(uniqueId: string): SubmissionSetRow | undefined {
    return this.db.prepare('SELECT * FROM submission_sets WHERE unique_id = ?').get(uniqueId) as SubmissionSetRow | undefined;
  }

  submissionSetByUuid(uuid: string): SubmissionSetRow | undefined {
    return this.db.prepare('SELECT * FROM submission_sets WHERE entry_uuid = ?').get(uuid) as SubmissionSetRow | undefined;
  }

  entriesOfPatient(patientId: string, statuses: EntryStatus[]): EntryRow[] {
    if (statuses.length === 0) return [];
    const marks = statuses.map(() => '?').join(',');
    return this.db
      .prepare(`SELECT * FROM entries WHERE patient_id = ? AND status IN (${marks}) ORDER BY received_at, rowid`)
      .all(patientId, ...statuses) as EntryRow[];
  }

  associationsOf(uuids: string[]): AssociationRow[] {
    if (uuids.length === 0) return [];
    const marks = uuids.map(() => '?').join(',');
    return this.db
      .prepare(`SELECT * FROM associations WHERE source_uuid IN (${marks}) OR target_uuid IN (${marks}) ORDER BY created_at, rowid`)
      .all(...uuids, ...uuids) as AssociationRow[];
  }

  allEntries(): EntryRow[] {
    return this.db.prepare('SELECT * FROM entries ORDER BY received_at, rowid').all() as EntryRow[];
  }

  documentPath(row: Pick<EntryRow, 'document_file'>): string {
    return join(this.documentsDir, row.document_file);
  }

  /**
   * Writes the documents, then records everything in one transaction that re-checks uniqueness and
   * the expected statuses (requests are checked concurrently; the commit is the arbiter).
   */
  commit(submission: NewSubmission): void {
    const written: string[] = [];
    try {
      const entries = submission.entries.map(({ row, bytes }) => {
        const file = `${row.entry_uuid.replace(/^urn:uuid:/, '')}.bin`;
        if (!/^[0-9a-f-]{36}\.bin$/.test(file)) throw new Error(`refusing document file name ${file}`);
        const path = join(this.documentsDir, file);
        writeFileSync(`${path}.tmp`, bytes);
        renameSync(`${path}.tmp`, path);
        written.push(path);
        return { ...row, document_file: file };
      });
      this.db.transaction(() => {
        if (this.submissionSetByUniqueId(submission.set.unique_id)) throw new DuplicateUniqueId(submission.set.unique_id, 'SubmissionSet');
        for (const e of entries) if (this.entryByUniqueId(e.unique_id)) throw new DuplicateUniqueId(e.unique_id, 'DocumentEntry');
        for (const change of submission.statusChanges) {
          const current = this.entryByUuid(change.entryUuid);
          if (current?.status !== change.from) throw new StatusConflict(`entry ${change.entryUuid} is ${current?.status ?? 'unknown'}, not ${change.from}`);
        }
        this.db.prepare(`INSERT INTO submission_sets VALUES (@entry_uuid, @unique_id, @patient_id, @source_id, @transaction_name, @structure_id, @message_id, @received_at)`).run(submission.set);
        const insertEntry = this.db.prepare(`INSERT INTO entries VALUES (@entry_uuid, @unique_id, @kind, @patient_id, @status, @mime_type, @type_code, @class_code,
          @format_code, @practice_code, @facility_code, @creation_time, @service_start_time, @hash, @size, @confidentiality, @event_codes, @reference_ids, @submission_set_uuid,
          @document_file, @metadata_xml, @received_at, @updated_at)`);
        for (const e of entries) insertEntry.run(e);
        const insertAssociation = this.db.prepare(`INSERT INTO associations VALUES (@entry_uuid, @type, @source_uuid, @target_uuid, @submission_set_uuid, @metadata_xml, @created_at)`);
        for (const a of submission.associations) insertAssociation.run(a);
        const update = this.db.prepare('UPDATE entries SET status = ?, updated_at = ? WHERE entry_uuid = ?');
        for (const change of submission.statusChanges) update.run(change.to, submission.set.received_at, change.entryUuid);
      })();
    } catch (err) {
      for (const path of written) rmSync(path, { force: true });
      throw err;
    }
  }

  close(): void {
    this.db.close();
  }
}
