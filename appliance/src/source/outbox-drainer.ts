import type { Outbox, OutboxRow, OutboxSender, SendOutcome } from '../store/outbox.js';
import { log as rootLog, type Logger } from '../log/logger.js';
import { Alarm } from './alarm.js';

export interface DrainerOptions {
  concurrency?: number;
  /** Longest sleep between polls when nothing is due (a wake() cuts it short). */
  idleMs?: number;
  log?: Logger;
  /** Whether new submissions may start (false while the box lets an update through or stops); polled. */
  admits?: () => boolean;
}

/** While new submissions wait, the drainer looks again this often. */
const ADMISSION_POLL_MS = 1000;

/**
 * Delivers the outbox: claims due rows, sends them, records outcomes. A sender that throws is a
 * retryable failure. `inFlight` lets the appliance hold its update lock while anything is being sent.
 */
export class OutboxDrainer {
  private running = false;
  private readonly alarm = new Alarm();
  private loop: Promise<void> | undefined;
  private active = new Set<Promise<void>>();
  private readonly concurrency: number;
  private readonly idleMs: number;
  private readonly log: Logger;
  private readonly admits: () => boolean;

  constructor(
    private readonly outbox: Outbox,
    private readonly sender: OutboxSender,
    options: DrainerOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 4;
    this.idleMs = options.idleMs ?? 30_000;
    this.log = options.log ?? rootLog.child({ component: 'outbox' });
    this.admits = options.admits ?? (() => true);
  }

  get inFlight(): number {
    return this.active.size;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const recovered = this.outbox.recoverInterrupted();
    if (recovered) this.log.warn('resuming operations interrupted while sending', { count: recovered });
    this.loop = this.run();
  }

  /** New work was queued: drain now rather than at the next poll. */
  wake(): void {
    this.alarm.wake();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    await Promise.allSettled([...this.active]);
  }

  /** Sends everything due now and waits for it (CLI `queue drain`, tests). Returns rows attempted. */
  async drainOnce(): Promise<OutboxRow[]> {
    const attempted: OutboxRow[] = [];
    for (;;) {
      const rows = this.outbox.claimDue(this.concurrency);
      if (rows.length === 0) return attempted;
      attempted.push(...rows);
      await Promise.all(rows.map((r) => this.sendOne(r)));
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      const admitted = this.admits();
      const free = admitted ? this.concurrency - this.active.size : 0;
      const rows = free > 0 ? this.outbox.claimDue(free) : [];
      for (const row of rows) {
        const p = this.sendOne(row).finally(() => {
          this.active.delete(p);
          this.wake();
        });
        this.active.add(p);
      }
      if (rows.length > 0 && rows.length === free) continue;
      const due = this.outbox.nextDueAt();
      const wait = admitted ? Math.max(10, Math.min(this.idleMs, due ? due.getTime() - Date.now() : this.idleMs)) : ADMISSION_POLL_MS;
      await this.alarm.sleep(wait);
    }
  }

  private async sendOne(row: OutboxRow): Promise<void> {
    let outcome: SendOutcome;
    try {
      outcome = await this.sender.send(row);
    } catch (err) {
      outcome = { kind: 'retryable', reason: `sender failed: ${(err as Error).message}` };
    }
    const after = this.outbox.complete(row, outcome);
    const fields = { id: row.id, op: row.op, uniqueId: row.uniqueId, attempt: row.attempts, state: after.state };
    if (after.state === 'done') this.log.info('DMP operation delivered', fields);
    else if (after.state === 'dead') this.log.error('DMP operation abandoned', { ...fields, error: after.lastError });
    else this.log.warn('DMP operation will be retried', { ...fields, error: after.lastError, next: after.nextAttemptAt });
  }
}
