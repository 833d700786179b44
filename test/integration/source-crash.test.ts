import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { reservedPort } from '../peers/ports.js';
import { spawnBoxChild } from './crash/spawn-box.js';
import { startDmpForBox } from '../peers/dmp-for-box.js';
import type { DmpSimulator } from '../peers/dmp-sim/simulator.js';
import { synthesizeStudy } from '../../appliance/src/dicom/synth/index.js';
import { sendMllp, readAck } from '../../appliance/src/hl7/index.js';
import { openDatabase, databaseFile } from '../../appliance/src/store/database.js';
import { oruForStudy, testNir } from '../fixtures/hl7/report-message.js';
import { helene } from '../fixtures/hl7/generate.js';

// The box in its own process, killed with SIGKILL at random moments while reports arrive and submissions go to the
// real DMP simulator (which commits, then answers late: the window where a kill leaves a submission at the DMP but
// not marked done at the box). Every round brings new reports (fresh control ids) and resends the ones whose ACK
// was lost. At the end: every ACKed report processed once, exactly one KOS per study at the DMP, and the
// "already at the DMP" path exercised.
const CRASHES = 16;
const PER_ROUND = 2;
const MAX_EXTRA_ROUNDS = 24;

let orthanc: OrthancPeer;
let dmp: { sim: DmpSimulator; xds: Record<string, unknown> };
let work: string;
let dataDir: string;
let dimsePort: number;
const studies: { studyUid: string; message: Buffer; controlId: string }[] = [];

async function startChild(): Promise<{ child: ChildProcess; hl7Port: number }> {
  const config = {
    dataDir,
    pacs: { port: orthanc.dicomPort },
    dimse: { port: dimsePort, listenHost: '127.0.0.1' },
    http: { port: 0, host: '127.0.0.1', tls: { enabled: false } },
    lan: { port: 0, host: '127.0.0.1' },
    kiosk: { port: 0 },
    hl7: { port: 0, host: '127.0.0.1' },
    source: { stableAfterMs: 0, recheckMs: 100 },
    xds: dmp.xds,
    log: { level: 'error' },
    device: { updateLockFile: join(work, 'updates.lock') },
  };
  const { child, ready } = await spawnBoxChild('source box', config);
  return { child, hl7Port: ready.hl7Port as number };
}

const killed = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

async function addStudy(i: number): Promise<void> {
  const ins = testNir(`1850775112${String(100 + i)}`);
  const study = await synthesizeStudy({ modality: 'CR', instances: 2, rows: 32, columns: 32, outDir: join(work, `study-${i}`), patient: { name: `PATIENT^${i}`, id: ins } });
  for (const f of study.files) await orthanc.upload(readFileSync(f));
  const controlId = `CRASH-${i}`;
  studies.push({ studyUid: study.studyInstanceUid, controlId, message: oruForStudy({ studyUid: study.studyInstanceUid, patient: { ...helene, ins }, accession: `ACC-${i}`, controlId }) });
}

/** Submissions the DMP committed while the (now dead) box had not recorded them as done: the window a kill can hit. */
function inTheWindow(): number {
  const db = openDatabase(databaseFile(dataDir));
  try {
    const open = db.prepare(`SELECT unique_id AS uid FROM outbox WHERE state != 'done' AND op != 'withdraw'`).all() as { uid: string }[];
    return open.filter((o) => dmp.sim.db.entryByUniqueId(o.uid) !== undefined).length;
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'drimbox-crash-'));
  dataDir = join(work, 'data');
  // Known to Orthanc in advance and bound again after each kill: below the ephemeral range, where no other test's
  // listener or outgoing connection takes it while the box is down (freePort's could be).
  dimsePort = await reservedPort();
  [orthanc, dmp] = await Promise.all([
    startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: dimsePort } } }),
    startDmpForBox(join(work, 'dmp')),
  ]);
  // The DMP commits each submission, then takes its time to answer.
  dmp.sim.setFaults({ rules: [{ kind: 'latency', endpoint: 'repository', phase: 'after', delayMs: 250, probability: 1 }] });
  for (let i = 0; i < (CRASHES + MAX_EXTRA_ROUNDS) * PER_ROUND; i++) await addStudy(i);
}, 300_000);

afterAll(async () => {
  await Promise.all([orthanc?.stop(), dmp?.sim.stop()]);
  rmSync(work, { recursive: true, force: true });
});

describe('crash safety of intake and drain, against the DMP simulator', () => {
  it(`loses no acknowledged report and publishes nothing twice across ${CRASHES} or more SIGKILLs`, async () => {
    const acked = new Set<string>();
    const sent: typeof studies = [];
    let windowHits = 0;
    let round = 0;
    for (; round < CRASHES || (windowHits === 0 && round < CRASHES + MAX_EXTRA_ROUNDS); round++) {
      const { child, hl7Port } = await startChild();
      // New reports (fresh control ids), and resends of earlier ones whose ACK never came.
      const batch = [...studies.slice(round * PER_ROUND, (round + 1) * PER_ROUND), ...sent.filter((s) => !acked.has(s.controlId)).slice(0, 2)];
      for (const s of batch) if (!sent.includes(s)) sent.push(s);
      const sends = batch.map((s) =>
        sendMllp('127.0.0.1', hl7Port, s.message, { timeoutMs: 5_000 })
          .then((ack) => void (readAck(ack).code === 'AA' && acked.add(s.controlId)))
          .catch(() => undefined),
      );
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 600));
      child.kill('SIGKILL');
      await killed(child);
      await Promise.all(sends);
      if (inTheWindow() > 0) windowHits++;
    }
    // Last start: everything sent must now be ACKed, processed and delivered.
    const { child, hl7Port } = await startChild();
    for (const s of sent) if (!acked.has(s.controlId)) {
      const ack = readAck(await sendMllp('127.0.0.1', hl7Port, s.message, { timeoutMs: 10_000 }));
      if (ack.code === 'AA') acked.add(s.controlId);
    }
    const db = openDatabase(databaseFile(dataDir));
    const settled = () => {
      const open = db.prepare(`SELECT COUNT(*) AS n FROM report_inbox WHERE state IN ('received', 'waiting')`).get() as { n: number };
      const undelivered = db.prepare(`SELECT COUNT(*) AS n FROM outbox WHERE state != 'done'`).get() as { n: number };
      return open.n === 0 && undelivered.n === 0;
    };
    for (let i = 0; i < 600 && !settled(); i++) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    await killed(child);
    expect(settled()).toBe(true);

    expect(acked.size).toBe(sent.length);
    const inbox = db.prepare(`SELECT control_id, state FROM report_inbox WHERE channel = 'hl7'`).all() as { control_id: string; state: string }[];
    for (const id of acked) expect(inbox.filter((r) => r.control_id === id && r.state === 'done')).toHaveLength(1);
    expect(inbox.filter((r) => r.state === 'failed' || r.state === 'rejected' || r.state === 'held')).toEqual([]);

    // At the DMP: exactly one KOS per study sent, each the box's active manifest.
    const kosAtDmp = dmp.sim.db.allEntries().filter((e) => e.kind === 'kos');
    const active = db.prepare(`SELECT sop_instance_uid AS uid, study_instance_uid AS study FROM kos_archive WHERE status = 'active'`).all() as { uid: string; study: string }[];
    expect(active.map((a) => a.study).sort()).toEqual(sent.map((s) => s.studyUid).sort());
    for (const s of sent) expect(kosAtDmp.filter((e) => e.reference_ids.includes(s.studyUid))).toHaveLength(1);
    expect(kosAtDmp.map((e) => e.unique_id).sort()).toEqual(active.map((a) => a.uid).sort());
    // The duplicate path was exercised: a submission the DMP had committed before a kill was found there again.
    const alreadyThere = db.prepare(`SELECT COUNT(*) AS n FROM outbox WHERE state = 'done' AND last_error LIKE 'already at the DMP%'`).get() as { n: number };
    db.close();
    expect(windowHits).toBeGreaterThan(0);
    expect(alreadyThere.n).toBeGreaterThan(0);
    process.stdout.write(`crash test: ${round} kills, ${acked.size} reports, ${kosAtDmp.length} KOS at the DMP, ${windowHits} kill(s) in the send→done window, ${alreadyThere.n} found already at the DMP\n`);
  }, 900_000);
});
