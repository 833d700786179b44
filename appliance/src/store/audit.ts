import type { Db } from './database.js';

/**
 * The audit trail of image access (who, what, when, outcome, bytes): every DICOMweb request the box answers,
 * refused ones included. Rows are only ever added; `drimbox audit` lists and exports them.
 */

export type AuditOutcome = 'complete' | 'interrupted' | 'refused' | 'failed';

export interface AuditEvent {
  at: string;
  subjectNameId?: string;
  rpps?: string;
  callingBox?: string;
  clientAddress?: string;
  kosSopInstanceUid?: string;
  method: string;
  path: string;
  action: string;
  studyUid?: string;
  seriesUid?: string;
  sopInstanceUid?: string;
  status: number;
  outcome: AuditOutcome;
  reason?: string;
  instances: number;
  skipped: number;
  bytesSent: number;
  durationMs: number;
}

export type AuditEnd = Pick<AuditEvent, 'status' | 'outcome' | 'instances' | 'skipped' | 'bytesSent' | 'durationMs'> & { reason?: string };

export interface AuditRow extends AuditEvent {
  id: number;
}

export interface AuditQuery {
  /** ISO 8601 lower bound on `at` (inclusive). */
  since?: string;
  until?: string;
  studyUid?: string;
  subjectNameId?: string;
  limit?: number;
}

interface RawRow {
  id: number;
  at: string;
  subject_name_id: string | null;
  rpps: string | null;
  calling_box: string | null;
  client_address: string | null;
  kos_sop_instance_uid: string | null;
  method: string;
  path: string;
  action: string;
  study_uid: string | null;
  series_uid: string | null;
  sop_instance_uid: string | null;
  status: number;
  outcome: AuditOutcome;
  reason: string | null;
  instances: number;
  skipped: number;
  bytes_sent: number;
  duration_ms: number;
}

function fromRaw(r: RawRow): AuditRow {
  const row: AuditRow = {
    id: r.id,
    at: r.at,
    method: r.method,
    path: r.path,
    action: r.action,
    status: r.status,
    outcome: r.outcome,
    instances: r.instances,
    skipped: r.skipped,
    bytesSent: r.bytes_sent,
    durationMs: r.duration_ms,
  };
  const optional: [keyof AuditRow, string | null][] = [
    ['subjectNameId', r.subject_name_id],
    ['rpps', r.rpps],
    ['callingBox', r.calling_box],
    ['clientAddress', r.client_address],
    ['kosSopInstanceUid', r.kos_sop_instance_uid],
    ['studyUid', r.study_uid],
    ['seriesUid', r.series_uid],
    ['sopInstanceUid', r.sop_instance_uid],
    ['reason', r.reason],
  ];
  for (const [key, value] of optional) if (value !== null) (row as unknown as Record<string, unknown>)[key] = value;
  return row;
}

/** Values longer than this are cut: a header is attacker-controlled and must not bloat the trail. */
const MAX_TEXT = 1024;
const clip = (s: string | undefined) => (s === undefined ? null : s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) : s);

export class AuditLog {
  private readonly insert;

  constructor(private readonly db: Db) {
    this.insert = db.prepare(`
      INSERT INTO audit_events (at, subject_name_id, rpps, calling_box, client_address, kos_sop_instance_uid, method, path, action,
        study_uid, series_uid, sop_instance_uid, status, outcome, reason, instances, skipped, bytes_sent, duration_ms)
      VALUES (@at, @subjectNameId, @rpps, @callingBox, @clientAddress, @kosSopInstanceUid, @method, @path, @action,
        @studyUid, @seriesUid, @sopInstanceUid, @status, @outcome, @reason, @instances, @skipped, @bytesSent, @durationMs)`);
  }

  record(e: AuditEvent): number {
    const result = this.insert.run({
      at: e.at,
      subjectNameId: clip(e.subjectNameId),
      rpps: clip(e.rpps),
      callingBox: clip(e.callingBox),
      clientAddress: clip(e.clientAddress),
      kosSopInstanceUid: clip(e.kosSopInstanceUid),
      method: clip(e.method),
      path: clip(e.path),
      action: e.action,
      studyUid: clip(e.studyUid),
      seriesUid: clip(e.seriesUid),
      sopInstanceUid: clip(e.sopInstanceUid),
      status: e.status,
      outcome: e.outcome,
      reason: clip(e.reason),
      instances: e.instances,
      skipped: e.skipped,
      bytesSent: e.bytesSent,
      durationMs: Math.round(e.durationMs),
    });
    return Number(result.lastInsertRowid);
  }

  /**
   * Writes the row before anything is served (outcome 'interrupted' until `finish`), so an access cut short by
   * a crash or a power loss is in the trail too.
   */
  begin(e: Omit<AuditEvent, 'status' | 'outcome' | 'instances' | 'skipped' | 'bytesSent' | 'durationMs'>): number {
    return this.record({ ...e, status: 0, outcome: 'interrupted', instances: 0, skipped: 0, bytesSent: 0, durationMs: 0 });
  }

  finish(id: number, end: AuditEnd): void {
    this.db
      .prepare(
        `UPDATE audit_events SET status = @status, outcome = @outcome, reason = @reason, instances = @instances, skipped = @skipped,
           bytes_sent = @bytesSent, duration_ms = @durationMs WHERE id = @id`,
      )
      .run({ id, ...end, reason: clip(end.reason), durationMs: Math.round(end.durationMs) });
  }

  private where(q: AuditQuery): { sql: string; params: Record<string, unknown> } {
    const clauses: string[] = [];
    const params: Record<string, unknown> = {};
    if (q.since) {
      clauses.push('at >= @since');
      params.since = q.since;
    }
    if (q.until) {
      clauses.push('at < @until');
      params.until = q.until;
    }
    if (q.studyUid) {
      clauses.push('study_uid = @studyUid');
      params.studyUid = q.studyUid;
    }
    if (q.subjectNameId) {
      clauses.push('subject_name_id = @subjectNameId');
      params.subjectNameId = q.subjectNameId;
    }
    return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
  }

  /** Most recent first. */
  list(q: AuditQuery = {}): AuditRow[] {
    const { sql, params } = this.where(q);
    const rows = this.db.prepare(`SELECT * FROM audit_events ${sql} ORDER BY at DESC, id DESC LIMIT @limit`).all({ ...params, limit: q.limit ?? 100 }) as RawRow[];
    return rows.map(fromRaw);
  }

  /** Oldest first, one row at a time (an export of months of access never sits in memory). */
  *iterate(q: AuditQuery = {}): Generator<AuditRow> {
    const { sql, params } = this.where(q);
    const stmt = this.db.prepare(`SELECT * FROM audit_events ${sql} ORDER BY at, id`);
    for (const r of stmt.iterate(params) as IterableIterator<RawRow>) yield fromRaw(r);
  }
}
