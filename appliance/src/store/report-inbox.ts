import { createHash } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import type { Db } from './database.js';
import { clockWentBackAfter, nextWake } from './due-time.js';

/**
 * Every report-carrying message exactly as received, written before it is acknowledged: what the box
 * has ACKed it can always process again after a crash. States: received → (waiting →)* done | rejected | failed;
 * held (the PACS study's patient is not the report's) until a person releases or refuses it; a resend of an
 * accepted message is kept as 'duplicate'.
 */

/** How much of a refused message is kept: enough to read its header and see what was wrong. */
export const REJECTED_PREFIX_BYTES = 64 * 1024;

export type InboxChannel = 'hl7' | 'http' | 'dicom' | 'pacs';
export type InboxState = 'received' | 'waiting' | 'held' | 'done' | 'rejected' | 'duplicate' | 'failed';

export interface InboxRow {
  id: number;
  receivedAt: string;
  channel: InboxChannel;
  remote: string | null;
  sender: string | null;
  controlId: string | null;
  messageType: string | null;
  raw: Buffer;
  state: InboxState;
  error: string | null;
  attempts: number;
  nextAttemptAt: string | null;
  firstWaitingAt: string | null;
  observedInstances: number | null;
  studyInstanceUid: string | null;
  updatedAt: string;
  /** Who released this report after it was held: its patient check is not run again. */
  releasedBy: string | null;
}

export interface RecordInput {
  channel: InboxChannel;
  raw: Buffer;
  remote?: string;
  sender?: string;
  controlId?: string;
  messageType?: string;
  studyInstanceUid?: string;
}

export type RecordResult =
  | { kind: 'new'; row: InboxRow }
  /** Same sender, same control id, same bytes: a resend because our ACK was lost. Not processed again. */
  | { kind: 'duplicate'; row: InboxRow; original: InboxRow }
  /** Same sender and control id but different content: refused, kept for the technician. */
  | { kind: 'conflict'; row: InboxRow; original: InboxRow };

interface Raw {
  id: number;
  received_at: string;
  channel: InboxChannel;
  remote: string | null;
  sender: string | null;
  control_id: string | null;
  message_type: string | null;
  raw: Buffer;
  digest: string;
  state: InboxState;
  error: string | null;
  attempts: number;
  next_attempt_at: string | null;
  first_waiting_at: string | null;
  observed_instances: number | null;
  study_instance_uid: string | null;
  updated_at: string;
  released_by: string | null;
}

const fromRaw = (r: Raw): InboxRow => ({
  id: r.id,
  receivedAt: r.received_at,
  channel: r.channel,
  remote: r.remote,
  sender: r.sender,
  controlId: r.control_id,
  messageType: r.message_type,
  raw: r.raw,
  state: r.state,
  error: r.error,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  firstWaitingAt: r.first_waiting_at,
  observedInstances: r.observed_instances,
  studyInstanceUid: r.study_instance_uid,
  updatedAt: r.updated_at,
  releasedBy: r.released_by,
});

const SELECT_ORIGINAL = `SELECT * FROM report_inbox WHERE channel = ? AND sender IS ? AND control_id = ? AND state NOT IN ('duplicate', 'rejected') ORDER BY id LIMIT 1`;
const INSERT_ROW = `INSERT INTO report_inbox (received_at, channel, remote, sender, control_id, message_type, raw, digest, state, error, next_attempt_at, study_instance_uid, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`;

/** No recheck of a waiting report is set further ahead than this (see due-time.ts). */
const LONGEST_RECHECK_MS = 24 * 3_600_000;

interface PendingRecord {
  input: RecordInput;
  resolve: (r: RecordResult) => void;
  reject: (err: unknown) => void;
}

export class ReportInbox {
  private pending: PendingRecord[] = [];
  private readonly statements = new Map<string, Statement>();

  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * `record`, with group commit: a message is committed at once when nothing else is waiting (the next turn of the
   * event loop); the messages that arrive while a commit is being synced are written together in the next
   * transaction, one sync for all of them. Each promise settles only once its message is on disk (no ACK before its
   * fsync). A batch that fails is retried message by message, so one bad message fails alone (a lock held by another
   * process fails them all at once).
   */
  recordSoon(input: RecordInput): Promise<RecordResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    let results: RecordResult[];
    try {
      results = this.db.transaction(() => batch.map((b) => this.insert(b.input))).immediate();
    } catch (err) {
      // The database is locked by another process past the busy timeout: every message of the batch waits the
      // same way, so all are refused now (the sender resends) rather than each waiting again.
      if ((err as { code?: string }).code === 'SQLITE_BUSY') {
        for (const b of batch) b.reject(err);
        return;
      }
      for (const b of batch) {
        try {
          b.resolve(this.record(b.input));
        } catch (err) {
          b.reject(err);
        }
      }
      return;
    }
    batch.forEach((b, i) => b.resolve(results[i]!));
  }

  /** Persists the message (fsync'd by SQLite at commit) and tells whether it is new. */
  record(input: RecordInput): RecordResult {
    return this.db.transaction(() => this.insert(input)).immediate();
  }

  /** The write of `record`, inside the caller's transaction. */
  private insert(input: RecordInput): RecordResult {
    const ts = this.now().toISOString();
    const digest = createHash('sha256').update(input.raw).digest('hex');
    const original =
      input.controlId !== undefined
        ? (this.sql(SELECT_ORIGINAL).get(input.channel, input.sender ?? null, input.controlId) as Raw | undefined)
        : undefined;
    const kind = !original ? 'new' : original.digest === digest ? 'duplicate' : 'conflict';
    const state: InboxState = kind === 'new' ? 'received' : kind === 'duplicate' ? 'duplicate' : 'rejected';
    const error =
      kind === 'duplicate'
        ? `resend of message #${original!.id}`
        : kind === 'conflict'
          ? `control id ${input.controlId} already used by message #${original!.id} with different content`
          : null;
    const row = fromRaw(
      this.sql(INSERT_ROW).get(ts, input.channel, input.remote ?? null, input.sender ?? null, input.controlId ?? null, input.messageType ?? null, kind === 'new' ? input.raw : input.raw.subarray(0, REJECTED_PREFIX_BYTES), digest, state, error, kind === 'new' ? ts : null, input.studyInstanceUid ?? null, ts) as Raw,
    );
    return kind === 'new' ? { kind, row } : { kind, row, original: fromRaw(original!) };
  }

  /** Statements are compiled once per inbox: compiling costs more than running most of them. */
  private sql(text: string): Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  get(id: number): InboxRow | undefined {
    const r = this.sql('SELECT * FROM report_inbox WHERE id = ?').get(id) as Raw | undefined;
    return r && fromRaw(r);
  }

  list(filter: { state?: InboxState; limit?: number } = {}): InboxRow[] {
    const rows = filter.state
      ? this.sql('SELECT * FROM report_inbox WHERE state = ? ORDER BY id DESC LIMIT ?').all(filter.state, filter.limit ?? 100)
      : this.sql('SELECT * FROM report_inbox ORDER BY id DESC LIMIT ?').all(filter.limit ?? 100);
    return (rows as Raw[]).map(fromRaw);
  }

  /**
   * Messages to (re)process now. New messages first, in arrival order; then rechecks, the longest overdue first:
   * reports waiting for their images never starve new ones.
   */
  due(limit = 16): InboxRow[] {
    return (
      this.sql(
        `SELECT * FROM report_inbox WHERE state = 'received' OR (state = 'waiting' AND (next_attempt_at <= ? OR next_attempt_at > ?))
         ORDER BY CASE state WHEN 'received' THEN 0 ELSE 1 END, next_attempt_at, id LIMIT ?`,
      ).all(this.now().toISOString(), clockWentBackAfter(this.now(), LONGEST_RECHECK_MS), limit) as Raw[]
    ).map(fromRaw);
  }

  /** What the processor has not finished: for health. */
  backlog(): { received: number; waiting: number; held: number; oldestReceivedAt?: string } {
    const counts = this.sql(`SELECT state, COUNT(*) AS n, MIN(received_at) AS oldest FROM report_inbox WHERE state IN ('received', 'waiting', 'held') GROUP BY state`)
      .all() as { state: InboxState; n: number; oldest: string }[];
    const of = (state: InboxState) => counts.find((c) => c.state === state);
    return { received: of('received')?.n ?? 0, waiting: of('waiting')?.n ?? 0, held: of('held')?.n ?? 0, oldestReceivedAt: of('received')?.oldest };
  }

  nextDueAt(): Date | undefined {
    const r = this.sql(`SELECT MIN(next_attempt_at) AS earliest, SUM(state = 'received') AS fresh FROM report_inbox WHERE state IN ('received', 'waiting')`)
      .get() as { earliest: string | null; fresh: number | null };
    return nextWake(r, this.now(), LONGEST_RECHECK_MS);
  }

  /** A message about this exam is still to be processed. */
  hasOpenForStudy(studyInstanceUid: string): boolean {
    return (
      this.sql(`SELECT 1 FROM report_inbox WHERE study_instance_uid = ? AND state IN ('received', 'waiting') LIMIT 1`).get(studyInstanceUid) !== undefined
    );
  }

  /**
   * A report documenting several exams is worked as one row per exam: the copies of `row` for the other studies,
   * made once (a row of the same message for that study already there is kept). Returns how many were made.
   */
  ensureExamCopies(row: InboxRow, studyInstanceUids: string[]): number {
    return this.db.transaction((): number => {
      const digest = createHash('sha256').update(row.raw).digest('hex');
      let made = 0;
      const ts = this.now().toISOString();
      for (const study of studyInstanceUids) {
        const exists = this.sql('SELECT 1 FROM report_inbox WHERE digest = ? AND channel = ? AND study_instance_uid = ? AND id != ?').get(digest, row.channel, study, row.id);
        if (exists) continue;
        this.sql(
          `INSERT INTO report_inbox (received_at, channel, remote, sender, control_id, message_type, raw, digest, state, error, next_attempt_at, study_instance_uid, updated_at)
           VALUES (?, ?, ?, ?, NULL, ?, ?, ?, 'received', NULL, ?, ?, ?)`,
        ).run(row.receivedAt, row.channel, row.remote, row.sender, row.messageType, row.raw, digest, ts, study, ts);
        made++;
      }
      return made;
    }).immediate();
  }

  setStudy(id: number, studyInstanceUid: string): void {
    this.sql('UPDATE report_inbox SET study_instance_uid = ? WHERE id = ?').run(studyInstanceUid, id);
  }

  markDone(id: number, note?: string): void {
    const ts = this.now().toISOString();
    this.sql(`UPDATE report_inbox SET state = 'done', error = ?, next_attempt_at = NULL, updated_at = ?, attempts = attempts + 1 WHERE id = ?`).run(note ?? null, ts, id);
  }

  /**
   * Refused for good: only the first REJECTED_PREFIX_BYTES are kept (the digest column still names the whole), so
   * a flood of large bad messages cannot fill the disk.
   */
  markRejected(id: number, reason: string): void {
    const ts = this.now().toISOString();
    this.sql(`UPDATE report_inbox SET state = 'rejected', error = ?, raw = substr(raw, 1, ?), next_attempt_at = NULL, updated_at = ? WHERE id = ?`)
      .run(reason, REJECTED_PREFIX_BYTES, ts, id);
  }

  /** Deletes refused and resent messages older than `before` (they were answered; the log keeps their trace). */
  purgeRejected(before: Date): number {
    return this.sql(`DELETE FROM report_inbox WHERE state IN ('rejected', 'duplicate') AND updated_at < ?`).run(before.toISOString()).changes;
  }

  markFailed(id: number, reason: string): void {
    const ts = this.now().toISOString();
    this.sql(`UPDATE report_inbox SET state = 'failed', error = ?, next_attempt_at = NULL, updated_at = ?, attempts = attempts + 1 WHERE id = ?`).run(reason, ts, id);
  }

  /** Not yet possible (exam not in the PACS, still arriving, PACS down): look again at `nextAt`. */
  markWaiting(id: number, reason: string, nextAt: Date, observedInstances?: number): void {
    const ts = this.now().toISOString();
    this.sql(
      `UPDATE report_inbox SET state = 'waiting', error = ?, next_attempt_at = ?, first_waiting_at = COALESCE(first_waiting_at, ?),
       observed_instances = COALESCE(?, observed_instances), updated_at = ?, attempts = attempts + 1 WHERE id = ?`,
    ).run(reason, nextAt.toISOString(), ts, observedInstances ?? null, ts, id);
  }

  /** Set aside until a person decides (the PACS study's patient is not the report's): never retried by itself. */
  markHeld(id: number, reason: string): void {
    const ts = this.now().toISOString();
    this.sql(`UPDATE report_inbox SET state = 'held', error = ?, next_attempt_at = NULL, updated_at = ?, attempts = attempts + 1 WHERE id = ?`).run(reason, ts, id);
  }

  /** A person checked a held report and lets it through: processed again, without the patient check. */
  release(id: number, by: string): boolean {
    const ts = this.now().toISOString();
    return (
      this.sql(`UPDATE report_inbox SET state = 'received', released_by = ?, next_attempt_at = ?, first_waiting_at = NULL, observed_instances = NULL, updated_at = ? WHERE id = ? AND state = 'held'`)
        .run(by, ts, ts, id).changes === 1
    );
  }

  /** A person refuses a held report: it is never published. */
  refuse(id: number, by: string): boolean {
    const ts = this.now().toISOString();
    return (
      this.sql(`UPDATE report_inbox SET state = 'rejected', error = 'refused by ' || ? || ' after the patient check: ' || COALESCE(error, ''), updated_at = ? WHERE id = ? AND state = 'held'`)
        .run(by, ts, id).changes === 1
    );
  }

  /** Technician action: process failed or rejected messages again. */
  retry(id: number): boolean {
    const ts = this.now().toISOString();
    return (
      this.sql(`UPDATE report_inbox SET state = 'received', next_attempt_at = ?, first_waiting_at = NULL, observed_instances = NULL, updated_at = ? WHERE id = ? AND state IN ('failed', 'rejected', 'waiting')`)
        .run(ts, ts, id).changes === 1
    );
  }
}
