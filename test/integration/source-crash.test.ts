import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { freePort } from '../peers/ports.js';
import { synthesizeStudy } from '../../appliance/src/dicom/synth/index.js';
import { sendMllp, readAck } from '../../appliance/src/hl7/index.js';
import { openDatabase, databaseFile } from '../../appliance/src/store/database.js';
import { oruForStudy, testNir } from '../fixtures/hl7/report-message.js';
import { helene } from '../fixtures/hl7/generate.js';

const EXAMS = 8;
const CRASHES = 24;

/** What the DMP stand-in received: a publish/replace uniqueId accepted twice would be a double publication. */
interface Received {
  op: string;
  uniqueId: string;
  targetUniqueId: string | null;
}

let orthanc: OrthancPeer;
let recorder: Server;
let recorderUrl: string;
const accepted = new Map<string, Received>();
const refusedAsDuplicate: string[] = [];
let work: string;
let dataDir: string;
let dimsePort: number;
const studies: { studyUid: string; message: Buffer; controlId: string }[] = [];

function startChild(): Promise<{ child: ChildProcess; hl7Port: number }> {
  const config = {
    dataDir,
    pacs: { port: orthanc.dicomPort },
    dimse: { port: dimsePort, listenHost: '127.0.0.1' },
    http: { port: 0, host: '127.0.0.1' },
    lan: { port: 0, host: '127.0.0.1' },
    kiosk: { port: 0 },
    hl7: { port: 0, host: '127.0.0.1' },
    source: { stableAfterMs: 0, recheckMs: 100 },
    log: { level: 'error' },
  };
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'crash/box-child.ts')], {
    env: { ...process.env, CRASH_BOX_CONFIG: JSON.stringify(config), CRASH_RECORDER_URL: recorderUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve({ child, hl7Port: (JSON.parse(line) as { hl7Port: number }).hl7Port }));
    child.once('exit', (code) => reject(new Error(`box exited with ${code} before it was ready`)));
  });
}

const killed = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'drimbox-crash-'));
  dataDir = join(work, 'data');
  dimsePort = await freePort();
  orthanc = await startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: dimsePort } } });
  for (let i = 0; i < EXAMS; i++) {
    const ins = testNir(`18507751122${String(10 + i)}`);
    const study = await synthesizeStudy({ modality: 'CR', instances: 2, rows: 32, columns: 32, outDir: join(work, `study-${i}`), patient: { name: `PATIENT^${i}`, id: ins } });
    for (const f of study.files) await orthanc.upload(readFileSync(f));
    const controlId = `CRASH-${i}`;
    studies.push({ studyUid: study.studyInstanceUid, controlId, message: oruForStudy({ studyUid: study.studyInstanceUid, patient: { ...helene, ins }, accession: `ACC-${i}`, controlId }) });
  }
  recorder = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const r = JSON.parse(body) as Received;
      // Random latency widens the window in which a kill lands between "sent" and "recorded as done".
      setTimeout(() => {
        const key = `${r.op === 'withdraw' ? 'withdraw' : 'document'}:${r.uniqueId}`;
        if (accepted.has(key)) {
          refusedAsDuplicate.push(key);
          res.writeHead(409).end();
        } else {
          accepted.set(key, r);
          res.writeHead(200).end();
        }
      }, Math.random() * 40);
    });
  });
  await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', () => resolve()));
  const addr = recorder.address() as { port: number };
  recorderUrl = `http://127.0.0.1:${addr.port}/submit`;
});

afterAll(async () => {
  recorder?.close();
  await orthanc?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('crash safety of intake and drain', () => {
  it(`loses no acknowledged report and publishes nothing twice across ${CRASHES} SIGKILLs`, async () => {
    const acked = new Set<string>();
    let next = 0;
    for (let round = 0; round < CRASHES; round++) {
      const { child, hl7Port } = await startChild();
      const sends: Promise<void>[] = [];
      // Send a couple of reports (and resend ones whose ACK was lost) while the box may be killed at any moment.
      for (let k = 0; k < 2; k++) {
        const s = studies[next++ % EXAMS]!;
        sends.push(
          sendMllp('127.0.0.1', hl7Port, s.message, { timeoutMs: 5_000 })
            .then((ack) => {
              if (readAck(ack).code === 'AA') acked.add(s.controlId);
            })
            .catch(() => undefined),
        );
      }
      await new Promise((r) => setTimeout(r, Math.random() * 400));
      child.kill('SIGKILL');
      await killed(child);
      await Promise.all(sends);
    }
    // Last start: everything the box ever ACKed must now be processed and delivered.
    const { child, hl7Port } = await startChild();
    for (const s of studies) if (!acked.has(s.controlId)) {
      const ack = readAck(await sendMllp('127.0.0.1', hl7Port, s.message, { timeoutMs: 5_000 }));
      if (ack.code === 'AA') acked.add(s.controlId);
    }
    const db = openDatabase(databaseFile(dataDir));
    const settled = () => {
      const open = db.prepare(`SELECT COUNT(*) AS n FROM report_inbox WHERE state IN ('received', 'waiting')`).get() as { n: number };
      const undelivered = db.prepare(`SELECT COUNT(*) AS n FROM outbox WHERE state != 'done'`).get() as { n: number };
      return open.n === 0 && undelivered.n === 0;
    };
    for (let i = 0; i < 300 && !settled(); i++) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    await killed(child);
    expect(settled()).toBe(true);

    expect(acked.size).toBe(EXAMS);
    const inbox = db.prepare(`SELECT control_id, state FROM report_inbox WHERE channel = 'hl7'`).all() as { control_id: string; state: string }[];
    for (const id of acked) expect(inbox.filter((r) => r.control_id === id && r.state === 'done')).toHaveLength(1);
    expect(inbox.filter((r) => r.state === 'failed' || r.state === 'rejected')).toEqual([]);

    // One active manifest per exam, each delivered exactly once as a new document.
    const active = db.prepare(`SELECT sop_instance_uid AS uid, study_instance_uid AS study FROM kos_archive WHERE status = 'active'`).all() as { uid: string; study: string }[];
    expect(active.map((a) => a.study).sort()).toEqual(studies.map((s) => s.studyUid).sort());
    const queued = db.prepare(`SELECT op, unique_id AS uid FROM outbox`).all() as { op: string; uid: string }[];
    const documents = [...accepted.keys()].filter((k) => k.startsWith('document:')).map((k) => k.slice('document:'.length));
    expect(documents.sort()).toEqual(queued.filter((q) => q.op !== 'withdraw').map((q) => q.uid).sort());
    for (const a of active) expect(documents).toContain(a.uid);
    db.close();
    // Resends after a crash did happen and met the DMP's refusal of a known uniqueId, not a second publication.
    process.stdout.write(`crash test: ${acked.size} reports, ${documents.length} documents, ${refusedAsDuplicate.length} resends refused as duplicates\n`);
  }, 600_000);
});
