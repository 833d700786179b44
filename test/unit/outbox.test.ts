import { describe, it, expect, beforeEach } from 'vitest';
import { openDatabase, type Db } from '../../appliance/src/store/database.js';
import { Outbox, retryDelayMs, defaultRetryPolicy, type SendOutcome, type OutboxRow } from '../../appliance/src/store/outbox.js';
import { OutboxDrainer } from '../../appliance/src/source/outbox-drainer.js';
import { ReportInbox } from '../../appliance/src/store/report-inbox.js';

let db: Db;
let clock: Date;
const now = () => clock;
const policy = { ...defaultRetryPolicy, baseDelayMs: 1000, maxDelayMs: 60_000, maxAgeMs: 3_600_000, random: () => 1 };

beforeEach(() => {
  db = openDatabase(':memory:');
  clock = new Date('2026-11-27T10:00:00Z');
});

const publish = (o: Outbox, uid: string, exam = 'study-1') => o.enqueue({ op: 'publish', examKey: exam, uniqueId: uid, payload: { uid } });

describe('outbox', () => {
  it('keeps the uniqueId fixed: queuing the same operation twice yields one row', () => {
    const o = new Outbox(db, policy, now);
    const a = publish(o, '1.2.3');
    const b = publish(o, '1.2.3');
    expect(b.id).toBe(a.id);
    expect(o.list()).toHaveLength(1);
  });

  it('moves pending → sending → done and records attempts', () => {
    const o = new Outbox(db, policy, now);
    publish(o, '1.2.3');
    const [row] = o.claimDue(10);
    expect(row!.state).toBe('sending');
    expect(row!.attempts).toBe(1);
    expect(o.claimDue(10)).toHaveLength(0);
    const done = o.complete(row!, { kind: 'success' });
    expect(done.state).toBe('done');
    expect(done.doneAt).toBe(clock.toISOString());
  });

  it('backs off exponentially with a cap, then gives up after the maximum age', () => {
    expect(retryDelayMs(1, policy)).toBe(1000);
    expect(retryDelayMs(3, policy)).toBe(4000);
    expect(retryDelayMs(20, policy)).toBe(60_000);
    expect(retryDelayMs(3, { ...policy, random: () => 0 })).toBe(500);
    const o = new Outbox(db, policy, now);
    publish(o, '1.2.3');
    let [row] = o.claimDue(1);
    let after = o.complete(row!, { kind: 'retryable', reason: 'HTTP 503' });
    expect(after.state).toBe('waiting-retry');
    expect(after.nextAttemptAt).toBe(new Date(clock.getTime() + 1000).toISOString());
    expect(o.claimDue(1)).toHaveLength(0); // not due yet
    clock = new Date(clock.getTime() + 1000);
    [row] = o.claimDue(1);
    expect(row!.attempts).toBe(2);
    clock = new Date(clock.getTime() + 3_600_000);
    after = o.complete(row!, { kind: 'retryable', reason: 'connection reset' });
    expect(after.state).toBe('dead');
    expect(after.lastError).toMatch(/gave up after 2 attempts.*connection reset/);
  });

  it('keeps the DMP error text on a dead letter, and a technician can retry it', () => {
    const o = new Outbox(db, policy, now);
    publish(o, '1.2.3');
    const [row] = o.claimDue(1);
    const dead = o.complete(row!, { kind: 'permanent', code: 'XDSRegistryMetadataError', text: 'typeCode inconnu' });
    expect(dead.state).toBe('dead');
    expect(dead.lastError).toBe('XDSRegistryMetadataError: typeCode inconnu');
    expect(o.retry([dead.id])).toBe(1);
    expect(o.claimDue(1)[0]!.id).toBe(dead.id);
  });

  it('never lets an operation overtake an earlier one on the same exam', () => {
    const o = new Outbox(db, policy, now);
    publish(o, 'kos-1', 'study-A');
    o.enqueue({ op: 'withdraw', examKey: 'study-A', uniqueId: 'kos-1', targetUniqueId: 'kos-1', payload: {} });
    publish(o, 'kos-2', 'study-B');
    const first = o.claimDue(10);
    expect(first.map((r) => r.uniqueId).sort()).toEqual(['kos-1', 'kos-2']);
    expect(first.find((r) => r.op === 'withdraw')).toBeUndefined();
    o.complete(first.find((r) => r.uniqueId === 'kos-1')!, { kind: 'success' });
    const next = o.claimDue(10);
    expect(next.map((r) => r.op)).toEqual(['withdraw']);
  });

  it('recovers rows interrupted while sending', () => {
    const o = new Outbox(db, policy, now);
    publish(o, '1.2.3');
    o.claimDue(1);
    expect(o.recoverInterrupted()).toBe(1);
    expect(o.get(1)!.state).toBe('pending');
  });

  it('purges finished rows only', () => {
    const o = new Outbox(db, policy, now);
    publish(o, 'a');
    publish(o, 'b', 'study-2');
    const [a] = o.claimDue(1);
    o.complete(a!, { kind: 'success' });
    expect(o.purge({ before: new Date(clock.getTime() + 1) })).toBe(1);
    expect(o.list().map((r) => r.uniqueId)).toEqual(['b']);
  });
});

describe('outbox and inbox when the clock goes back (a box without a real-time clock, an NTP correction)', () => {
  it('takes new work at once and a retry set by the clock ahead, instead of stalling until the clock catches up', () => {
    const o = new Outbox(db, policy, now);
    publish(o, '1.2.3', 'study-1');
    const [row] = o.claimDue(10);
    o.complete(row!, { kind: 'retryable', reason: 'DMP unreachable' });
    publish(o, '1.2.4', 'study-2');
    clock = new Date(clock.getTime() - 24 * 3_600_000); // the clock goes back a day
    expect(o.nextDueAt()!.getTime()).toBe(clock.getTime());
    expect(o.claimDue(10).map((r) => r.uniqueId).sort()).toEqual(['1.2.3', '1.2.4']);

    const inbox = new ReportInbox(db, now);
    clock = new Date('2026-11-27T10:00:00Z');
    inbox.record({ channel: 'hl7', raw: Buffer.from('report'), controlId: 'C1' });
    clock = new Date(clock.getTime() - 24 * 3_600_000);
    expect(inbox.due().map((r) => r.controlId)).toEqual(['C1']);
    expect(inbox.nextDueAt()!.getTime()).toBe(clock.getTime());
  });

  it('still waits for an ordinary backoff', () => {
    const o = new Outbox(db, policy, now);
    publish(o, '1.2.3');
    o.complete(o.claimDue(10)[0]!, { kind: 'retryable', reason: 'DMP unreachable' });
    expect(o.claimDue(10)).toEqual([]);
    expect(o.nextDueAt()!.getTime()).toBeGreaterThan(clock.getTime());
  });
});

describe('outbox drainer', () => {
  it('delivers through a sender, treats a throw as retryable and "already done" as done', async () => {
    const o = new Outbox(db, { ...policy, baseDelayMs: 1, maxDelayMs: 1 });
    for (let i = 0; i < 5; i++) publish(o, `kos-${i}`, `study-${i}`);
    const seen: string[] = [];
    let failOnce = true;
    const sender = {
      async send(row: OutboxRow): Promise<SendOutcome> {
        seen.push(row.uniqueId);
        if (row.uniqueId === 'kos-2' && failOnce) {
          failOnce = false;
          throw new Error('socket hang up');
        }
        return row.uniqueId === 'kos-4' ? { kind: 'already-done' } : { kind: 'success' };
      },
    };
    const d = new OutboxDrainer(o, sender, { concurrency: 2 });
    await d.drainOnce();
    await new Promise((r) => setTimeout(r, 5));
    await d.drainOnce();
    expect(o.counts().done).toBe(5);
    expect(seen.filter((u) => u === 'kos-2')).toHaveLength(2);
    expect(o.getByUniqueId('publish', 'kos-4')!.lastError).toMatch(/already at the DMP/);
  });

  it('runs in the background and wakes on new work', async () => {
    const o = new Outbox(db, policy);
    const sent: string[] = [];
    const d = new OutboxDrainer(o, { send: async (r) => (sent.push(r.uniqueId), { kind: 'success' }) }, { idleMs: 60_000 });
    d.start();
    publish(o, 'x');
    d.wake();
    for (let i = 0; i < 100 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await d.stop();
    expect(sent).toEqual(['x']);
    expect(o.counts().done).toBe(1);
  });
});
