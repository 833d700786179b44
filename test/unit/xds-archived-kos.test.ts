import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FileSigner } from '../../appliance/src/auth/signer/file-signer.js';
import { createDmpSender } from '../../appliance/src/source/dmp-sender.js';
import type { KosArchive, KosRecord } from '../../appliance/src/store/kos-archive.js';
import type { OutboxRow } from '../../appliance/src/store/outbox.js';
import type { BuiltSubmission } from '../../appliance/src/xds/index.js';
import { makeTestPki } from '../fixtures/pki/make-test-pki.js';
import { pocKos, sampleContext, sampleReport } from './xds-helpers.js';

/** The outbox sends a manifest only while its file is the one the box archived (size and SHA-1 as recorded). */

let dir: string;
let signer: FileSigner;
let sent: BuiltSubmission[];
const kos = pocKos();
const file = join('kos', 'manifest.dcm');

const record: KosRecord = {
  id: 7,
  sopInstanceUid: kos.facts.sopInstanceUid,
  studyInstanceUid: kos.facts.studyInstanceUid,
  patientIns: null,
  patientInsOid: null,
  accession: null,
  documentId: null,
  file,
  bytes: kos.bytes.length,
  sha1: createHash('sha1').update(kos.bytes).digest('hex'),
  instanceCount: 1,
  status: 'active',
  replacesId: null,
  report: sampleReport(),
  createdAt: '2024-01-15T10:00:00.000Z',
};

const row: OutboxRow = {
  id: 1, op: 'publish', examKey: record.studyInstanceUid, uniqueId: record.sopInstanceUid, targetUniqueId: null, kosId: record.id, payload: {},
  state: 'sending', attempts: 1, nextAttemptAt: '', lastError: null, createdAt: '', updatedAt: '', doneAt: null,
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drimbox-archived-kos-'));
  const pki = makeTestPki(join(dir, 'pki'));
  signer = FileSigner.fromPkcs12(readFileSync(pki.signature.p12), pki.signature.p12Password);
  mkdirSync(join(dir, 'kos'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  sent = [];
});

function sender() {
  return createDmpSender({
    client: {
      provideAndRegister: async (built) => {
        sent.push(built);
        return { kind: 'success' };
      },
      updateAvailability: async () => ({ kind: 'success' }),
      entryUuidOf: async () => ({ kind: 'success', value: undefined }),
    },
    archive: { get: (id: number) => (id === record.id ? record : undefined) } as unknown as KosArchive,
    dataDir: dir,
    context: sampleContext(),
    signer,
  });
}

describe('outbox sender and the archived manifest', () => {
  it('publishes the archived bytes as they are', async () => {
    writeFileSync(join(dir, file), kos.bytes);
    expect(await sender().send(row)).toEqual({ kind: 'success' });
    expect(sent.map((b) => b.documents[0]!.bytes.equals(kos.bytes))).toEqual([true]);
  });

  it.each([
    ['one byte changed, same size', () => Buffer.from(kos.bytes).fill(0x20, kos.bytes.length - 1)],
    ['truncated', () => kos.bytes.subarray(0, kos.bytes.length - 1)],
    ['grown', () => Buffer.concat([kos.bytes, Buffer.from([0])])],
  ])('refuses a manifest file %s since it was archived, and sends nothing', async (_what, altered) => {
    writeFileSync(join(dir, file), altered());
    await expect(sender().send(row)).rejects.toThrow(/manifest kos\/manifest\.dcm \(archive #7\) changed since it was archived/);
    expect(sent).toEqual([]);
  });
});
