import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../appliance/src/config/load.js';
import { startBox, type RunningBox } from '../../appliance/src/start-box.js';
import { readAck, sendMllp } from '../../appliance/src/hl7/index.js';
import { oruForStudy } from '../fixtures/hl7/report-message.js';
import { helene } from '../fixtures/hl7/generate.js';
import { waitFor } from '../peers/ports.js';

// The box's data volume is a real 64 MiB tmpfs (mounted as root, as CI runs): filled past the threshold, the box
// takes no new report — answered "resend later", nothing half-stored — says so in health, and takes reports again
// once space returns.
const RIS_TOKEN = 'ris-token-of-the-disk-full-test-000000000';
const mountPoint = mkdtempSync(join(tmpdir(), 'drimbox-small-disk-'));
let mounted = false;
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', mountPoint]);
  mounted = true;
} catch (err) {
  console.warn(`SKIPPED LOUDLY: disk-full test needs to mount a tmpfs (root): ${(err as Error).message}`);
}
let box: RunningBox;
const ballast = join(mountPoint, 'ballast.bin');
let seq = 0;
const count = () => box.inbox.list({ limit: 100_000 }).length;
const report = () => oruForStudy({ studyUid: '1.2.826.0.1.3680043.10.1558.777.1', patient: helene, accession: `DISK-${++seq}`, controlId: `DISK-${seq}` });

beforeAll(async () => {
  if (!mounted) return;
  box = await startBox(
    loadConfig({
      env: {},
      overrides: {
        dataDir: join(mountPoint, 'data'),
        dimse: { port: 0, listenHost: '127.0.0.1' },
        http: { port: 0, host: '127.0.0.1', tls: { enabled: false } },
        lan: { port: 0, host: '127.0.0.1' },
        kiosk: { port: 0 },
        hl7: { port: 0, host: '127.0.0.1' },
        ris: { httpToken: RIS_TOKEN },
        storage: { minFreeMegabytes: 40 },
        log: { level: 'error' },
      },
    }),
  );
});

afterAll(async () => {
  await box?.stop();
  if (mounted) execFileSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

describe.skipIf(!mounted)('a data disk that fills up', () => {
  it('refuses new reports with a retryable answer while space is low, raises health, and recovers when space returns', async () => {
    expect(readAck(await sendMllp('127.0.0.1', box.hl7Port, report())).code).toBe('AA');
    writeFileSync(ballast, Buffer.alloc(30 * 1_048_576, 1)); // ~33 MiB left, under the 40 MiB threshold
    // Free space is read at most every 5 s: messages keep being taken until the box sees the disk full.
    await waitFor(async () => readAck(await sendMllp('127.0.0.1', box.hl7Port, report())).code === 'AR', 15_000, 'the box to see the disk full');
    const stored = count();
    const ack = readAck(await sendMllp('127.0.0.1', box.hl7Port, report()));
    expect(ack.code).toBe('AR');
    expect(ack.text).toMatch(/^data disk almost full \(\d+ MB free, 40 MB needed\): resend later$/);
    expect(count()).toBe(stored); // nothing half-stored
    const http = await fetch(`http://127.0.0.1:${box.lanPort}/api/source/reports`, { method: 'POST', body: new Uint8Array(report()), headers: { authorization: `Bearer ${RIS_TOKEN}` } });
    expect(http.status).toBe(503);
    expect(http.headers.get('retry-after')).toBe('300');
    const health = (await (await fetch(`http://127.0.0.1:${box.httpPort}/health`)).json()) as { checks: { name: string; ok: boolean }[] };
    expect(health.checks.find((c) => c.name === 'disk')).toEqual({ name: 'disk', ok: false });

    rmSync(ballast);
    await waitFor(async () => readAck(await sendMllp('127.0.0.1', box.hl7Port, report())).code === 'AA', 15_000, 'the box to take reports again');
    expect(count()).toBeGreaterThan(stored);
  });
});

describe.skipIf(!mounted)('a DMP operation refused for good', () => {
  it('turns health red, naming the command that shows it', async () => {
    const before = (await (await fetch(`http://127.0.0.1:${box.httpPort}/health`)).json()) as { checks: { name: string; ok: boolean }[] };
    expect(before.checks.find((c) => c.name === 'dmp-outbox')).toEqual({ name: 'dmp-outbox', ok: true });
    const row = box.outbox.enqueue({ op: 'publish', examKey: '1.2.3', uniqueId: '1.2.3.4', payload: {} });
    box.outbox.complete(row, { kind: 'permanent', code: 'XDSRegistryMetadataError', text: 'refused by the test' });
    const after = (await (await fetch(`http://127.0.0.1:${box.httpPort}/health`)).json()) as { checks: { name: string; ok: boolean }[] };
    expect(after.checks.find((c) => c.name === 'dmp-outbox')).toEqual({ name: 'dmp-outbox', ok: false });
    const detail = (await (await fetch(`http://127.0.0.1:${box.lanPort}/api/source/status`, { headers: { authorization: `Bearer ${RIS_TOKEN}` } })).json()) as { health: { checks: { name: string; detail: string }[] } };
    expect(detail.health.checks.find((c) => c.name === 'dmp-outbox')!.detail).toMatch(/1 DMP operation\(s\) refused for good — see "drimbox queue list --state dead"/);
  });
});
