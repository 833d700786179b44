import type { Db } from './database.js';
import { clockWentBackAfter, nextWake } from './due-time.js';

/**
 * The durable DMP outbox. Each row is one DMP operation whose XDS uniqueId is fixed when it is queued,
 * so a resend after a crash can only meet "duplicate uniqueId" at the DMP, never publish twice.
 * States: pending → sending → done | waiting-retry → sending … | dead.
 */

export type OutboxOp = 'publish' | 'replace' | 'withdraw';
export type OutboxState = 'pending' | 'sending' | 'done' | 'waiting-retry' | 'dead';

export interface OutboxRow {
  id: number;
  op: OutboxOp;
  examKey: string;
  uniqueId: string;
  targetUniqueId: string | null;
  kosId: number | null;
  payload: unknown;
  state: OutboxState;
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  doneAt: string | null;
}

export interface EnqueueInput {
  op: OutboxOp;
  examKey: string;
  uniqueId: string;
  targetUniqueId?: string;
  kosId?: number;
  payload: unknown;
}

export type SendOutcome =
  | { kind: 'success' }
  /** The DMP already holds this uniqueId: an earlier attempt went through before a crash. */
  | { kind: 'already-done'; detail?: string }
  | { kind: 'retryable'; reason: string }
  | { kind: 'permanent'; code?: string; text: string };

export interface OutboxSender {
  send(row: OutboxRow): Promise<SendOutcome>;
}

export interface RetryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  /** After this long since queueing, a retryable failure becomes dead. */
  maxAgeMs: number;
  /** Full jitter source (tests pass a fixed one). */
  random: () => number;
}

export const defaultRetryPolicy: RetryPolicy = {
  baseDelayMs: 5_000,
  maxDelayMs: 60 * 60_000,
  maxAgeMs: 7 * 24 * 60 * 60_000,
  random: Math.random,
};

/** Exponential backoff with full jitter: uniform in [base/2, min(cap, base·2^(n-1))]. */
export function retryDelayMs(attempts: number, policy: RetryPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1));
  const floor = Math.min(ceiling, policy.baseDelayMs / 2);
  return Math.round(floor + (ceiling - floor) * policy.random());
}

interface RawRow {
  id: number;
  op: OutboxOp;
  exam_key: string;
  unique_id: string;
  target_unique_id: string | null;
  kos_id: number | null;
  payload: string;
  state: OutboxState;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  done_at: string | null;
}

function fromRaw(r: RawRow): OutboxRow {
  return {
    id: r.id,
    op: r.op,
    examKey: r.exam_key,
    uniqueId: r.unique_id,
    targetUniqueId: r.target_unique_id,
    kosId: r.kos_id,
    payload: JSON.parse(r.payload),
    state: r.state,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    doneAt: r.done_at,
  };
}

export class Outbox {
  constructor(
    private readonly db: Db,
    private readonly policy: RetryPolicy = defaultRetryPolicy,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Queues an operation; queuing the same (op, uniqueId) twice returns the existing row. */
  enqueue(input: EnqueueInput): OutboxRow {
    const ts = this.now().toISOString();
    this.db
      .prepare(
        `INSERT INTO outbox (op, exam_key, unique_id, target_unique_id, kos_id, payload, state, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)
         ON CONFLICT (op, unique_id) DO NOTHING`,
      )
      .run(input.op, input.examKey, input.uniqueId, input.targetUniqueId ?? null, input.kosId ?? null, JSON.stringify(input.payload), ts, ts, ts);
    return this.getByUniqueId(input.op, input.uniqueId)!;
  }

  get(id: number): OutboxRow | undefined {
    const r = this.db.prepare('SELECT * FROM outbox WHERE id = ?').get(id) as RawRow | undefined;
    return r && fromRaw(r);
  }

  getByUniqueId(op: OutboxOp, uniqueId: string): OutboxRow | undefined {
    const r = this.db.prepare('SELECT * FROM outbox WHERE op = ? AND unique_id = ?').get(op, uniqueId) as RawRow | undefined;
    return r && fromRaw(r);
  }

  /**
   * Where each manifest's DMP operation is, in one query: the state of its publish operation, else of its replace
   * (a manifest replacing an earlier one). A manifest with neither is not in the map.
   */
  publicationStates(sopInstanceUids: readonly string[]): Map<string, OutboxState> {
    const out = new Map<string, OutboxState>();
    if (sopInstanceUids.length === 0) return out;
    const rows = this.db
      .prepare(`SELECT unique_id, op, state FROM outbox WHERE op IN ('publish', 'replace') AND unique_id IN (${sopInstanceUids.map(() => '?').join(', ')})`)
      .all(...sopInstanceUids) as { unique_id: string; op: OutboxOp; state: OutboxState }[];
    for (const r of rows) if (r.op === 'publish' || !out.has(r.unique_id)) out.set(r.unique_id, r.state);
    return out;
  }

  list(filter: { state?: OutboxState; limit?: number } = {}): OutboxRow[] {
    const rows = filter.state
      ? this.db.prepare('SELECT * FROM outbox WHERE state = ? ORDER BY id LIMIT ?').all(filter.state, filter.limit ?? 1000)
      : this.db.prepare('SELECT * FROM outbox ORDER BY id LIMIT ?').all(filter.limit ?? 1000);
    return (rows as RawRow[]).map(fromRaw);
  }

  counts(): Record<OutboxState, number> {
    const out: Record<OutboxState, number> = { pending: 0, sending: 0, done: 0, 'waiting-retry': 0, dead: 0 };
    for (const r of this.db.prepare('SELECT state, COUNT(*) AS n FROM outbox GROUP BY state').all() as { state: OutboxState; n: number }[]) {
      out[r.state] = r.n;
    }
    return out;
  }

  /** When the DMP last took an operation (fleet telemetry: a box that stopped publishing). */
  lastDeliveredAt(): string | undefined {
    const row = this.db.prepare("SELECT MAX(done_at) AS at FROM outbox WHERE state = 'done'").get() as { at: string | null };
    return row.at ?? undefined;
  }

  /**
   * Rows left in 'sending' by a crash go back to pending: their uniqueId is fixed, so resending is safe.
   * Call once at start, before any drain.
   */
  recoverInterrupted(): number {
    const ts = this.now().toISOString();
    return this.db
      .prepare(`UPDATE outbox SET state = 'pending', next_attempt_at = ?, updated_at = ?, last_error = COALESCE(last_error, 'interrupted while sending') WHERE state = 'sending'`)
      .run(ts, ts).changes;
  }

  /**
   * Claims the next due operations, oldest first, at most one per exam, and only when every earlier
   * operation on that exam is done: a withdraw never overtakes the publish it withdraws.
   */
  claimDue(limit: number): OutboxRow[] {
    const ts = this.now().toISOString();
    return this.db.transaction(() => {
      const rows = this.db
        .prepare(
          `SELECT o.* FROM outbox o
           WHERE (o.state = 'pending' OR (o.state = 'waiting-retry' AND (o.next_attempt_at <= ? OR o.next_attempt_at > ?)))
             AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.exam_key = o.exam_key AND p.id < o.id AND p.state NOT IN ('done', 'dead'))
           ORDER BY o.id LIMIT ?`,
        )
        .all(ts, clockWentBackAfter(this.now(), this.policy.maxDelayMs), limit) as RawRow[];
      const claim = this.db.prepare(`UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ? WHERE id = ? AND state IN ('pending', 'waiting-retry')`);
      const claimed: OutboxRow[] = [];
      for (const r of rows) {
        if (claim.run(ts, r.id).changes === 1) claimed.push(fromRaw({ ...r, state: 'sending', attempts: r.attempts + 1, updated_at: ts }));
      }
      return claimed;
    }).immediate();
  }

  /** Records the outcome of a send attempt of a claimed row. */
  complete(row: OutboxRow, outcome: SendOutcome): OutboxRow {
    const now = this.now();
    const ts = now.toISOString();
    switch (outcome.kind) {
      case 'success':
      case 'already-done':
        this.db
          .prepare(`UPDATE outbox SET state = 'done', done_at = ?, updated_at = ?, last_error = ? WHERE id = ?`)
          .run(ts, ts, outcome.kind === 'already-done' ? `already at the DMP${outcome.detail ? `: ${outcome.detail}` : ''}` : null, row.id);
        break;
      case 'permanent':
        this.db
          .prepare(`UPDATE outbox SET state = 'dead', updated_at = ?, last_error = ? WHERE id = ?`)
          .run(ts, `${outcome.code ? `${outcome.code}: ` : ''}${outcome.text}`, row.id);
        break;
      case 'retryable': {
        const age = now.getTime() - Date.parse(row.createdAt);
        if (age >= this.policy.maxAgeMs) {
          this.db
            .prepare(`UPDATE outbox SET state = 'dead', updated_at = ?, last_error = ? WHERE id = ?`)
            .run(ts, `gave up after ${row.attempts} attempts over ${Math.round(age / 60_000)} min: ${outcome.reason}`, row.id);
        } else {
          const next = new Date(now.getTime() + retryDelayMs(row.attempts, this.policy)).toISOString();
          this.db
            .prepare(`UPDATE outbox SET state = 'waiting-retry', next_attempt_at = ?, updated_at = ?, last_error = ? WHERE id = ?`)
            .run(next, ts, outcome.reason, row.id);
        }
        break;
      }
    }
    return this.get(row.id)!;
  }

  /** Technician action: make dead or waiting rows due now. */
  retry(ids: number[] | 'all-dead'): number {
    const ts = this.now().toISOString();
    if (ids === 'all-dead') {
      return this.db.prepare(`UPDATE outbox SET state = 'pending', next_attempt_at = ?, updated_at = ? WHERE state = 'dead'`).run(ts, ts).changes;
    }
    const stmt = this.db.prepare(`UPDATE outbox SET state = 'pending', next_attempt_at = ?, updated_at = ? WHERE id = ? AND state IN ('dead', 'waiting-retry')`);
    return this.db.transaction(() => ids.reduce((n, id) => n + stmt.run(ts, ts, id).changes, 0)).immediate();
  }

  /** Technician action: forget finished rows (done, and dead if asked) older than a date. */
  purge(options: { before: Date; includeDead?: boolean }): number {
    const states = options.includeDead ? `('done', 'dead')` : `('done')`;
    return this.db.prepare(`DELETE FROM outbox WHERE state IN ${states} AND updated_at < ?`).run(options.before.toISOString()).changes;
  }

  /** Earliest time a waiting row becomes due, to sleep until then (now for new work and after the clock went back). */
  nextDueAt(): Date | undefined {
    const r = this.db
      .prepare(`SELECT MIN(next_attempt_at) AS earliest, SUM(state = 'pending') AS fresh FROM outbox WHERE state IN ('pending', 'waiting-retry')`)
      .get() as { earliest: string | null; fresh: number | null };
    return nextWake(r, this.now(), this.policy.maxDelayMs);
  }
}
