import type { Db } from './database.js';

/**
 * Counters of the contextual calls from the RIS/LPS, as ANS asks for them: one line per call with `Nombre_Appel`
 * (1) and `Statut_Appel` (`succes` / `erreur`), exported as the "ModelStat" file (ci-sis-imaging.md §3.4).
 * Nothing about the patient is kept here.
 */

export type CallStatus = 'succes' | 'erreur';

export interface ContextCallRow {
  id: number;
  at: string;
  status: CallStatus;
  reason?: string;
}

export interface CallCounts {
  total: number;
  succes: number;
  erreur: number;
}

export interface StatsRange {
  /** ISO 8601, inclusive. */
  since?: string;
  /** ISO 8601, exclusive. */
  until?: string;
}

function where(range: StatsRange): { sql: string; params: string[] } {
  const clauses: string[] = [];
  const params: string[] = [];
  if (range.since) {
    clauses.push('at >= ?');
    params.push(range.since);
  }
  if (range.until) {
    clauses.push('at < ?');
    params.push(range.until);
  }
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

export class ContextCallStats {
  constructor(private readonly db: Db) {}

  record(status: CallStatus, reason: string | undefined, at: Date = new Date()): void {
    this.db.prepare('INSERT INTO consumer_context_calls (at, status, reason) VALUES (?, ?, ?)').run(at.toISOString(), status, reason ?? null);
  }

  counts(range: StatsRange = {}): CallCounts {
    const w = where(range);
    const r = this.db
      .prepare(
        `SELECT count(*) AS total, coalesce(sum(status = 'succes'), 0) AS succes, coalesce(sum(status = 'erreur'), 0) AS erreur FROM consumer_context_calls ${w.sql}`,
      )
      .get(...w.params) as CallCounts;
    return { total: r.total, succes: r.succes, erreur: r.erreur };
  }

  *rows(range: StatsRange = {}): Generator<ContextCallRow> {
    const w = where(range);
    const it = this.db.prepare(`SELECT id, at, status, reason FROM consumer_context_calls ${w.sql} ORDER BY id`).iterate(...w.params) as IterableIterator<{
      id: number;
      at: string;
      status: CallStatus;
      reason: string | null;
    }>;
    for (const r of it) yield { id: r.id, at: r.at, status: r.status, ...(r.reason ? { reason: r.reason } : {}) };
  }
}

/**
 * The ModelStat file: a header `Nombre_Appel;Statut_Appel` then one line `1;succes` or `1;erreur` per call, in
 * call order, CRLF line ends (a CSV as French office tools read it: semicolon-separated).
 */
export function* modelStatCsv(stats: ContextCallStats, range: StatsRange = {}): Generator<string> {
  yield 'Nombre_Appel;Statut_Appel\r\n';
  for (const row of stats.rows(range)) yield `1;${row.status}\r\n`;
}
