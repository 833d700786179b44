import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { reservedPort, waitFor } from '../peers/ports.js';
import { startDmpForBox } from '../peers/dmp-for-box.js';
import type { DmpSimulator } from '../peers/dmp-sim/simulator.js';
import { loadConfig } from '../../appliance/src/config/load.js';
import type { Config } from '../../appliance/src/config/schema.js';
import { startBox, type RunningBox } from '../../appliance/src/start-box.js';
import { dmpSenderFromConfig } from '../../appliance/src/dmp-connection.js';
import { synthesizeStudy } from '../../appliance/src/dicom/synth/index.js';
import { sendMllp, readAck } from '../../appliance/src/hl7/index.js';
import { openDatabase, databaseFile } from '../../appliance/src/store/database.js';
import { Outbox, defaultRetryPolicy } from '../../appliance/src/store/outbox.js';
import { KosArchive } from '../../appliance/src/store/kos-archive.js';
import { OutboxDrainer } from '../../appliance/src/source/outbox-drainer.js';
import { DmpClient, contextFromConfig, endpointsFromConfig, timeoutsFromConfig, vihfSubjectFromReport } from '../../appliance/src/xds/index.js';
import { FileSigner, tlsCredentialFromPkcs12 } from '../../appliance/src/auth/signer/file-signer.js';
import type { ReportEvent } from '../../appliance/src/report/types.js';
import { oruForStudy, testNir } from '../fixtures/hl7/report-message.js';
import { helene } from '../fixtures/hl7/generate.js';

let work: string;
let orthanc: OrthancPeer;
let dmp: DmpSimulator;
let config: Config;
let box: RunningBox | undefined;
const exams: { studyUid: string; ins: string; message: (controlId: string, doc?: string) => Buffer }[] = [];

function dmpClient(c: Config) {
  const x = c.xds;
  return new DmpClient({
    endpoints: endpointsFromConfig(x),
    tls: { ca: readFileSync(x.caFile), credential: tlsCredentialFromPkcs12(readFileSync(x.tlsP12File), x.tlsP12Password) },
    timeouts: timeoutsFromConfig(x),
    context: contextFromConfig(x),
    signer: FileSigner.fromPkcs12(readFileSync(x.signatureP12File), x.signatureP12Password),
  });
}

async function sendReport(message: Buffer) {
  return readAck(await sendMllp('127.0.0.1', box!.hl7Port, message, { timeoutMs: 10_000 })).code;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'drimbox-dmp-'));
  const dimsePort = await reservedPort();
  orthanc = await startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: dimsePort } } });
  for (let i = 0; i < 8; i++) {
    // Exams 6 and 7 are the same patient's: one report documents both.
    const ins = testNir(`28512751122${String(30 + Math.min(i, 6))}`);
    const s = await synthesizeStudy({ modality: 'CT', instances: 3, rows: 32, columns: 32, outDir: join(work, `s${i}`), patient: { name: 'LEFÈVRE-NOËL^HÉLÈNE', id: ins } });
    for (const f of s.files) await orthanc.upload(readFileSync(f));
    exams.push({
      studyUid: s.studyInstanceUid,
      ins,
      message: (controlId, doc) => oruForStudy({ studyUid: s.studyInstanceUid, patient: { ...helene, ins }, accession: `ACC-D${i}`, controlId, documentExtension: doc }),
    });
  }
  const started = await startDmpForBox(join(work, 'dmp'));
  dmp = started.sim;
  config = loadConfig({
    env: {},
    overrides: {
      dataDir: join(work, 'box'),
      pacs: { port: orthanc.dicomPort },
      dimse: { port: dimsePort, listenHost: '127.0.0.1' },
      http: { port: 0, host: '127.0.0.1', tls: { enabled: false } },
      lan: { port: 0, host: '127.0.0.1' },
      kiosk: { port: 0 },
      hl7: { port: 0, host: '127.0.0.1' },
      source: { stableAfterMs: 0, recheckMs: 200 },
      xds: started.xds as never,
      log: { level: 'error' },
    },
  });
  box = await startBox(config);
});

afterAll(async () => {
  await box?.stop();
  await dmp?.stop();
  await orthanc?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('source box → DMP simulator', () => {
  it('publishes the manifest; ITI-18 finds it and ITI-43 returns the very bytes archived', async () => {
    const exam = exams[0]!;
    expect(await sendReport(exam.message('DMP-1'))).toBe('AA');
    await waitFor(async () => box!.outbox.counts().done === 1, 30_000, 'publication accepted by the DMP');
    const kos = box!.archive.activeForStudy(exam.studyUid)!;
    const client = dmpClient(config);
    const vihf = vihfSubjectFromReport(kos.report as ReportEvent, contextFromConfig(config.xds));
    const found = await client.findDocuments({ patientId: `${exam.ins}^^^&1.2.250.1.213.1.4.10&ISO^NH` }, vihf);
    expect(found.kind).toBe('success');
    if (found.kind !== 'success') return;
    const entry = found.value.documentEntries.find((e) => e.uniqueId === kos.sopInstanceUid);
    expect(entry).toBeDefined();
    const retrieved = await client.retrieve([{ repositoryUniqueId: dmp.repositoryUniqueId, documentUniqueId: kos.sopInstanceUid }], vihf);
    expect(retrieved.kind).toBe('success');
    if (retrieved.kind !== 'success') return;
    const docs: Buffer[] = [];
    for await (const d of retrieved.value.documents()) {
      const chunks: Buffer[] = [];
      for await (const c of d.body) chunks.push(c);
      docs.push(Buffer.concat(chunks));
    }
    expect(docs).toHaveLength(1);
    expect(docs[0]!.equals(readFileSync(join(config.dataDir, kos.file)))).toBe(true);
    client.close();
  });

  it('replaces on a corrected report and withdraws on a deletion: what ITI-18 returns follows', async () => {
    const exam = exams[1]!;
    expect(await sendReport(exam.message('DMP-2'))).toBe('AA');
    await waitFor(async () => box!.outbox.counts().done === 2, 30_000, 'first publication');
    const first = box!.archive.activeForStudy(exam.studyUid)!;
    // The same exam reported again (a corrected report for the same exam): a replacement.
    expect(await sendReport(exam.message('DMP-3', 'CR-ACC-D1-v2'))).toBe('AA');
    await waitFor(async () => box!.outbox.counts().done === 3, 30_000, 'replacement');
    const second = box!.archive.activeForStudy(exam.studyUid)!;
    expect(second.sopInstanceUid).not.toBe(first.sopInstanceUid);
    expect(dmp.db.entryByUniqueId(first.sopInstanceUid)!.status).toMatch(/Deprecated/);
    expect(dmp.db.entryByUniqueId(second.sopInstanceUid)!.status).toMatch(/Approved/);
    const assoc = dmp.db.associationsOf([dmp.db.entryByUniqueId(second.sopInstanceUid)!.entry_uuid]);
    expect(assoc.some((a) => a.type.endsWith('RPLC') && a.target_uuid === dmp.db.entryByUniqueId(first.sopInstanceUid)!.entry_uuid)).toBe(true);

    const withdraw = Buffer.from(
      exam
        .message('DMP-4', 'CR-ACC-D1-v2')
        .toString('utf8')
        .replace(/^(OBX\|1\|.*\|)F\|$/m, '$1D|')
        .replace('ORC|NW|', 'ORC|CA|'),
      'utf8',
    );
    expect(await sendReport(withdraw)).toBe('AA');
    await waitFor(async () => box!.outbox.counts().done === 4, 30_000, 'withdrawal');
    expect(dmp.db.entryByUniqueId(second.sopInstanceUid)!.status).toMatch(/Deprecated/);
  });

  it('delivers through a one-hour DMP outage with nothing lost or duplicated', async () => {
    await box!.stop();
    box = undefined;
    // The outbox on the same database, on a clock the test moves: an hour passes in a few seconds.
    const db = openDatabase(databaseFile(config.dataDir));
    let clock = new Date();
    const outbox = new Outbox(db, { ...defaultRetryPolicy, random: () => 0.5 }, () => clock);
    const archive = new KosArchive(db);
    const sender = dmpSenderFromConfig(config, archive)!;
    const drainer = new OutboxDrainer(outbox, sender, { concurrency: 4 });

    // Four more exams go through the source flow while the DMP is down.
    box = await startBox(config, { dmpSender: { send: async () => ({ kind: 'retryable', reason: 'DMP unreachable (held by the test)' }) } });
    for (let i = 2; i < 6; i++) expect(await sendReport(exams[i]!.message(`DMP-OUT-${i}`))).toBe('AA');
    await waitFor(async () => box!.outbox.list().filter((r) => r.examKey !== exams[0]!.studyUid && r.examKey !== exams[1]!.studyUid).length === 4, 30_000, 'four operations queued');
    await box.stop();
    box = undefined;
    outbox.retry(outbox.list({ state: 'waiting-retry' }).map((r) => r.id));

    dmp.setFaults({ rules: [{ kind: 'http503' }] });
    const start = clock.getTime();
    let attempts = 0;
    while (clock.getTime() - start < 3_600_000) {
      attempts += (await drainer.drainOnce()).length;
      clock = new Date(clock.getTime() + 5 * 60_000);
    }
    expect(attempts).toBeGreaterThan(4);
    expect(outbox.counts().done).toBe(4); // only the four delivered before the outage
    expect(outbox.counts().dead).toBe(0);

    // The DMP comes back, but the first answers are lost after it committed them: the retries meet "duplicate uniqueId".
    dmp.setFaults({ rules: [{ kind: 'reset', count: 2, phase: 'after', endpoint: 'repository' }] });
    for (let i = 0; i < 20 && outbox.counts().done < 8; i++) {
      clock = new Date(clock.getTime() + 60 * 60_000);
      await drainer.drainOnce();
    }
    dmp.setFaults({});
    expect(outbox.counts()).toMatchObject({ done: 8, dead: 0, pending: 0, 'waiting-retry': 0 });
    const kosEntries = dmp.db.allEntries().filter((e) => e.kind === 'kos');
    const uniqueIds = kosEntries.map((e) => e.unique_id);
    expect(new Set(uniqueIds).size).toBe(uniqueIds.length);
    for (const e of exams.slice(2, 6)) {
      const active = archive.activeForStudy(e.studyUid)!;
      expect(kosEntries.filter((k) => k.unique_id === active.sopInstanceUid)).toHaveLength(1);
    }
    expect(outbox.list().some((r) => r.lastError?.includes('already at the DMP'))).toBe(true);
    db.close();
  });

  it('publishes one manifest per exam when a report documents two; withdrawing the report withdraws both', async () => {
    box = await startBox(config); // the outage test above stopped it
    const [first, second] = [exams[6]!, exams[7]!];
    const twoExams = oruForStudy({ studyUid: first.studyUid, extraStudyUids: [second.studyUid], patient: { ...helene, ins: first.ins }, accession: 'ACC-D67', controlId: 'DMP-TWO' });
    expect(await sendReport(twoExams)).toBe('AA');
    await waitFor(async () => [first, second].every((e) => box!.archive.activeForStudy(e.studyUid) !== undefined), 30_000, 'two manifests');
    const kosA = box!.archive.activeForStudy(first.studyUid);
    const kosB = box!.archive.activeForStudy(second.studyUid);
    expect(kosA && kosB).toBeTruthy();
    expect(kosA!.sopInstanceUid).not.toBe(kosB!.sopInstanceUid);
    await waitFor(async () => [kosA!, kosB!].every((k) => dmp.db.entryByUniqueId(k.sopInstanceUid)?.status?.includes('Approved')), 30_000, 'both published');
    // Each manifest references its own study only (the report's other exam is not in it).
    expect(box!.archive.refs(kosA!.id).length).toBeGreaterThan(0);
    expect((kosB!.report as ReportEvent).studyInstanceUid).toBe(second.studyUid);

    const withdraw = Buffer.from(twoExams.toString('utf8').replace('MSH|^~\\&|RIS|CABINET|DRIMBOX|CABINET|20261127120000+0100||ORU^R01^ORU_R01|DMP-TWO|', 'MSH|^~\\&|RIS|CABINET|DRIMBOX|CABINET|20261127120000+0100||ORU^R01^ORU_R01|DMP-TWO-DEL|').replace(/^(OBX\|1\|.*\|)F\|$/m, '$1D|').replace('ORC|NW|', 'ORC|CA|'), 'utf8');
    expect(withdraw.equals(twoExams)).toBe(false);
    expect(await sendReport(withdraw)).toBe('AA');
    await waitFor(async () => [kosA!, kosB!].every((k) => dmp.db.entryByUniqueId(k.sopInstanceUid)?.status?.includes('Deprecated')), 30_000, 'both withdrawn');
  });
});
