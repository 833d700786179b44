import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startStoreScp, type StoreScp } from '../../appliance/src/dimse/index.js';
import { AddressList } from '../../appliance/src/auth/address-list.js';
import { makeMiniStudy } from '../fixtures/mini-instances.js';

// The box's SCP accepts connections only from declared peer addresses, and only so many at once:
// a calling AE title is not authentication (docs/SECURITY.md, finding 4).
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'scp-peers-'));
let scp: StoreScp | undefined;
afterEach(async () => {
  await scp?.close();
  scp = undefined;
});

async function start(allowed: string[], maxAssociations = 16, name = 'in', acceptUnsolicited?: (sopClassUid: string) => boolean) {
  scp = await startStoreScp({
    acceptUnsolicited,
    aeTitle: 'DRIMBOX',
    host: '127.0.0.1',
    port: 0,
    allowedCallingAeTitles: ['ORTHANC'],
    allowedAddresses: new AddressList(allowed, 'dimse.allowedPeerAddresses'),
    maxAssociations,
    storageDir: join(dir, name),
  });
  return scp;
}

describe('who may connect to the box\'s DICOM SCP', () => {
  it('stores from a declared address; closes a stranger\'s connection before any exchange, whatever AE title it claims', async () => {
    const study = await makeMiniStudy({ outDir: join(dir, 'study'), instances: 1, seriesCount: 1, patientName: 'X^Y', rows: 16, columns: 16 });
    const open = await start(['127.0.0.1'], 16, 'open');
    await run('storescu', ['-aet', 'ORTHANC', '-aec', 'DRIMBOX', '127.0.0.1', String(open.port), study.files[0]!]);
    expect(readdirSync(join(dir, 'open'))).toHaveLength(1);
    await open.close();
    const closed = await start(['192.0.2.10'], 16, 'closed');
    const refused = await run('storescu', ['-aet', 'ORTHANC', '-aec', 'DRIMBOX', '127.0.0.1', String(closed.port), study.files[0]!]).catch((e: { code: number; stderr: string }) => e);
    expect((refused as { code: number }).code).not.toBe(0);
    expect(readdirSync(join(dir, 'closed'))).toHaveLength(0);
  });

  it('refuses an unsolicited C-STORE of what it would not keep, instead of answering Success and dropping it', async () => {
    const study = await makeMiniStudy({ outDir: join(dir, 'unsolicited'), instances: 1, seriesCount: 1, patientName: 'X^Y', rows: 16, columns: 16 });
    const kosOnly = await start(['127.0.0.1'], 16, 'kos-only', (cls) => cls === '1.2.840.10008.5.1.4.1.1.88.59');
    const r = await run('storescu', ['-v', '-aet', 'ORTHANC', '-aec', 'DRIMBOX', '127.0.0.1', String(kosOnly.port), study.files[0]!]).catch((e: { stdout: string; stderr: string }) => e);
    expect(`${r.stdout}${r.stderr}`).toMatch(/Store Response \(.*0x0?124\)/i);
    expect(readdirSync(join(dir, 'kos-only'))).toHaveLength(0);
  });

  it('caps concurrent associations: one more connection is closed at once', async () => {
    const s = await start(['127.0.0.1'], 1, 'cap');
    const first = connect(s.port, '127.0.0.1');
    await new Promise((r) => first.once('connect', r));
    const second = connect(s.port, '127.0.0.1');
    const closedAt = await new Promise<string>((r) => {
      second.once('close', () => r('closed'));
      setTimeout(() => r('still open'), 5_000).unref();
    });
    expect(closedAt).toBe('closed');
    expect(first.destroyed).toBe(false);
    first.destroy();
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a PACS host that does not resolve at start', () => {
  it('does not keep the box down: it starts, and its SCP lets nobody in', async () => {
    const { loadConfig } = await import('../../appliance/src/config/load.js');
    const { startBox } = await import('../../appliance/src/start-box.js');
    const box = await startBox(
      loadConfig({
        env: {},
        overrides: {
          dataDir: join(dir, 'unresolved'),
          pacs: { host: 'pacs.invalid' }, // RFC 6761: never resolves
          dimse: { port: 0 },
          http: { port: 0, host: '127.0.0.1', tls: { enabled: false } },
          lan: { port: 0, host: '127.0.0.1' },
          kiosk: { port: 0 },
          hl7: { port: 0, host: '127.0.0.1' },
          log: { level: 'error' },
        },
      }),
    );
    try {
      const study = await makeMiniStudy({ outDir: join(dir, 'unresolved-study'), instances: 1, seriesCount: 1, patientName: 'X^Y', rows: 16, columns: 16 });
      const refused = await run('storescu', ['-aet', 'ORTHANC', '-aec', 'DRIMBOX', '127.0.0.1', String(box.dimsePort), study.files[0]!]).catch((e: { code: number }) => e);
      expect((refused as { code?: number }).code).not.toBe(0);
    } finally {
      await box.stop();
    }
  });
});
