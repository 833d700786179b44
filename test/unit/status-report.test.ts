import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { FolderSize } from '../../appliance/src/device/folder-size.js';
import { openDatabase, type Db } from '../../appliance/src/store/database.js';
import { defaultRetryPolicy, Outbox } from '../../appliance/src/store/outbox.js';
import { ReportInbox } from '../../appliance/src/store/report-inbox.js';
import { KosArchive } from '../../appliance/src/store/kos-archive.js';
import { createStatusReporter, type StatusDeps } from '../../appliance/src/device/status-report.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-05T12:00:00Z');

function deps(over: Omit<Partial<StatusDeps>, 'outbox' | 'archive'> = {}, clock = NOW): StatusDeps & { outbox: Outbox; archive: KosArchive; db: Db } {
  const db = openDatabase(':memory:');
  const outbox = new Outbox(db, defaultRetryPolicy, () => new Date(clock));
  return {
    health: async () => ({ ok: true, checkedAt: '', checks: [{ name: 'pacs', ok: true, detail: 'ok', ms: 3 }, { name: 'hl7', ok: true, detail: 'ok', ms: 0 }] }),
    outbox,
    inbox: new ReportInbox(db),
    archive: new KosArchive(db),
    dmpConfigured: true,
    certificates: () => [{ id: 'dmp', notAfter: new Date(NOW + 365 * DAY) }],
    disk: async () => ({ freeBytes: 10e9, totalBytes: 20e9, low: false }),
    minFreeBytes: 512 * 1_048_576,
    cacheBytes: () => 1234,
    host: () => ({ at: '', cpuTemperatureC: 55, cpuLoadPercent: 10, memoryTotalBytes: 4e9, memoryAvailableBytes: 2e9, uptimeSeconds: 100 }),
    device: () => ({ work: {} as never, admitting: true, fleetVariables: [] }),
    version: '9.9.9',
    now: () => NOW,
    db,
    ...over,
  };
}

const tile = async (d: StatusDeps, id: string) => (await createStatusReporter(d).report()).tiles.find((t) => t.id === id)!;

describe('status report', () => {
  it('is green when all is well, and says which certificate expires when', async () => {
    const d = deps();
    const report = await createStatusReporter(d).report();
    expect(report.tiles.map((t) => [t.id, t.level])).toEqual([
      ['pacs', 'ok'],
      ['ris', 'unknown'],
      ['dmp', 'ok'],
      ['certificates', 'ok'],
      ['disk', 'ok'],
      ['host', 'ok'],
      ['software', 'ok'],
    ]);
    expect((await tile(d, 'certificates')).facts).toEqual({ dmpDaysLeft: 365 });
    expect((await tile(d, 'software')).facts.version).toBe('9.9.9');
  });

  it('turns amber under 30 days and red once expired', async () => {
    expect(await tile(deps({ certificates: () => [{ id: 'tls', notAfter: new Date(NOW + 10 * DAY) }] }), 'certificates')).toMatchObject({ level: 'warn', code: 'cert-expires-soon', facts: { tlsDaysLeft: 10 } });
    expect(await tile(deps({ certificates: () => [{ id: 'dmp', notAfter: new Date(NOW - DAY) }] }), 'certificates')).toMatchObject({ level: 'error', code: 'cert-expired' });
  });

  it('lists dead letters with their reason (red); a queue older than an hour, or a send that failed and waits to be retried, is amber', async () => {
    const d = deps();
    const row = d.outbox.enqueue({ op: 'publish', examKey: 'exam-1', uniqueId: '1.2.3', payload: {} });
    expect(await tile(d, 'dmp')).toMatchObject({ level: 'ok' }); // just queued
    d.outbox.complete(d.outbox.claimDue(1)[0]!, { kind: 'permanent', code: 'XDSUnknownPatientId', text: 'XDSUnknownPatientId: no DMP' });
    const report = await createStatusReporter(d).report();
    expect(report.tiles.find((t) => t.id === 'dmp')).toMatchObject({ level: 'error', code: 'dmp-dead-letters', facts: { dead: 1 } });
    expect(report.deadLetters).toEqual([expect.objectContaining({ id: row.id, op: 'publish', reason: expect.stringContaining('XDSUnknownPatientId') })]);
    const late = deps({ now: () => NOW + 2 * 3_600_000 }, NOW); // queued at NOW, looked at two hours later
    late.outbox.enqueue({ op: 'publish', examKey: 'exam-2', uniqueId: '1.2.4', payload: {} });
    expect(await tile(late, 'dmp')).toMatchObject({ level: 'warn', code: 'dmp-queue-late' });
    const unreachable = deps();
    unreachable.outbox.enqueue({ op: 'publish', examKey: 'exam-3', uniqueId: '1.2.5', payload: {} });
    unreachable.outbox.complete(unreachable.outbox.claimDue(1)[0]!, { kind: 'retryable', reason: 'connect ECONNREFUSED 10.0.0.9:443' });
    expect(await tile(unreachable, 'dmp')).toMatchObject({ level: 'warn', code: 'dmp-retrying', facts: { queued: 1, detail: 'connect ECONNREFUSED 10.0.0.9:443' } });
  });

  it('says when the PACS does not answer, the disk is full, or the box runs hot or under-powered', async () => {
    expect(await tile(deps({ health: async () => ({ ok: false, checkedAt: '', checks: [{ name: 'pacs', ok: false, detail: 'ECONNREFUSED', ms: 1 }] }) }), 'pacs')).toMatchObject({ level: 'error', code: 'pacs-echo-failed', facts: { detail: 'ECONNREFUSED' } });
    expect(await tile(deps({ disk: async () => ({ freeBytes: 100, totalBytes: 1e9, low: true }) }), 'disk')).toMatchObject({ level: 'error', code: 'disk-full' });
    const hot = { at: '', cpuTemperatureC: 82, cpuLoadPercent: 90, memoryTotalBytes: 4e9, memoryAvailableBytes: 2e9, uptimeSeconds: 1 };
    expect(await tile(deps({ host: () => hot }), 'host')).toMatchObject({ level: 'error', code: 'host-too-hot' });
    const throttling = { raw: '0x50005', underVoltageNow: true, frequencyCappedNow: false, throttledNow: true, softTemperatureLimitNow: false, underVoltageSinceBoot: true, frequencyCappedSinceBoot: false, throttledSinceBoot: true, softTemperatureLimitSinceBoot: false };
    expect(await tile(deps({ host: () => ({ ...hot, cpuTemperatureC: 50, throttling }) }), 'host')).toMatchObject({ level: 'error', code: 'host-under-voltage' });
    expect(await tile(deps({ device: () => ({ work: {} as never, admitting: true, fleetVariables: [], updateState: 'waiting-for-transfers' }) }), 'software')).toMatchObject({ level: 'warn', code: 'software-update-waiting', facts: { updateState: 'waiting-for-transfers' } });
  });

  it('a retried dead letter goes back to pending: the tile leaves red and the letter leaves the list', async () => {
    const d = deps();
    const first = d.outbox.enqueue({ op: 'publish', examKey: 'exam-1', uniqueId: '1.2.3', payload: {} });
    const second = d.outbox.enqueue({ op: 'publish', examKey: 'exam-2', uniqueId: '1.2.4', payload: {} });
    for (const row of d.outbox.claimDue(2)) d.outbox.complete(row, { kind: 'permanent', code: 'XDSRegistryError', text: 'refused' });
    expect((await createStatusReporter(d).report()).deadLetters.map((l) => l.id)).toEqual([first.id, second.id]);
    expect(d.outbox.retry([first.id])).toBe(1);
    expect(d.outbox.get(first.id)!.state).toBe('pending');
    const after = await createStatusReporter(d).report();
    expect(after.deadLetters.map((l) => l.id)).toEqual([second.id]);
    expect(d.outbox.retry('all-dead')).toBe(1);
    expect(await tile(d, 'dmp')).toMatchObject({ level: 'ok', code: 'dmp-ok', facts: { dead: 0, queued: 2 } });
  });

  it('lists the last ten manifests, newest first, with where their DMP operation is', async () => {
    const d = deps();
    const kos = (n: number) => d.archive.add({ sopInstanceUid: `1.9.${n}`, studyInstanceUid: `1.8.${n}`, patientIns: `2850${n}`, accession: `ACC-${n}`, file: `kos-${n}.dcm`, bytes: 1, sha1: 'x', report: {}, refs: [{ seriesInstanceUid: '1.7', sopInstanceUid: `1.6.${n}` }] }).record;
    for (let n = 1; n <= 12; n++) kos(n);
    d.outbox.enqueue({ op: 'publish', examKey: '1.8.12', uniqueId: '1.9.12', payload: {} });
    d.outbox.enqueue({ op: 'publish', examKey: '1.8.11', uniqueId: '1.9.11', payload: {} });
    d.outbox.enqueue({ op: 'publish', examKey: '1.8.10', uniqueId: '1.9.10', payload: {} });
    const [twelve, eleven] = d.outbox.claimDue(2);
    d.outbox.complete(twelve!, { kind: 'success' });
    d.outbox.complete(eleven!, { kind: 'permanent', text: 'no DMP for this patient' });
    // A manifest replacing an earlier one: its replace operation says where it is.
    const replace = d.outbox.enqueue({ op: 'replace', examKey: '1.8.8', uniqueId: '1.9.8', targetUniqueId: '1.9.0', payload: {} });
    d.outbox.complete(d.outbox.claimDue(10).find((r) => r.id === replace.id)!, { kind: 'success' });
    // One query for the whole list, not two per manifest.
    const prepare = vi.spyOn(d.db, 'prepare');
    const { publications } = await createStatusReporter(d).report();
    expect(prepare.mock.calls.filter(([sql]) => /unique_id/.test(String(sql)))).toHaveLength(1);
    prepare.mockRestore();
    expect(publications).toHaveLength(10);
    expect(publications.slice(0, 5).map((p) => [p.accession, p.patientIns, p.delivery, p.instances])).toEqual([
      ['ACC-12', '285012', 'delivered', 1],
      ['ACC-11', '285011', 'refused', 1],
      ['ACC-10', '285010', 'queued', 1],
      ['ACC-9', '28509', 'local', 1],
      ['ACC-8', '28508', 'delivered', 1],
    ]);
    expect(publications.at(-1)!.accession).toBe('ACC-3');
  });
});

describe('image cache size', () => {
  it('is walked in the background and read from the last walk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'folder-size-'));
    try {
      mkdirSync(join(dir, 'a', 'b'), { recursive: true });
      writeFileSync(join(dir, 'one'), Buffer.alloc(1000));
      writeFileSync(join(dir, 'a', 'b', 'two'), Buffer.alloc(234));
      const size = new FolderSize(dir, 0);
      expect(size.current()).toBeUndefined(); // never waits for a walk
      await vi.waitFor(() => expect(size.current()).toBe(1234), { timeout: 30_000 });
      writeFileSync(join(dir, 'a', 'three'), Buffer.alloc(100));
      await vi.waitFor(() => expect(size.current()).toBe(1334), { timeout: 30_000 }); // stale at once (maxAge 0): walked again
      const missing = new FolderSize(join(dir, 'missing'), 0); // no cache folder yet: nothing cached
      await vi.waitFor(() => expect(missing.current()).toBe(0), { timeout: 30_000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
