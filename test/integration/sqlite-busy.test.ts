import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAck } from '../../appliance/src/hl7/ack.js';
import { createHl7Intake } from '../../appliance/src/source/report-intake.js';
import { openDatabase, type Db } from '../../appliance/src/store/database.js';
import { ReportInbox } from '../../appliance/src/store/report-inbox.js';
import { helene } from '../fixtures/hl7/generate.js';
import { oruForStudy, testNir } from '../fixtures/hl7/report-message.js';

// Fault campaign (issue 14.11): another process holds SQLite's write lock (the `drimbox queue` command, a backup)
// while a report arrives. Shorter than the busy timeout (5 s): the box waits and ACKs AA. Longer: the handler
// fails (the MLLP layer answers AR, resend later) and nothing is half stored; the resend is then taken.

let dir: string;
let file: string;
let db: Db;
let inbox: ReportInbox;
let intake: ReturnType<typeof createHl7Intake>;
const ins = testNir('1850775112299');
const message = (n: number) => oruForStudy({ studyUid: `1.2.826.0.1.3680043.10.1558.88.${n}`, patient: { ...helene, ins }, accession: `BUSY-${n}`, controlId: `BUSY-${n}` });

/** Another process takes the write lock and keeps it `ms`; resolves once the lock is held. */
function holdWriteLock(ms: number): Promise<{ released: Promise<void> }> {
  const script = `const D=require('better-sqlite3');const d=new D(process.argv[1]);d.pragma('busy_timeout = 5000');d.prepare('BEGIN IMMEDIATE').run();process.stdout.write('locked\\n');setTimeout(()=>{d.prepare('COMMIT').run();d.close();},${ms});`;
  const child = spawn(process.execPath, ['-e', script, file], { stdio: ['ignore', 'pipe', 'inherit'], cwd: process.cwd() });
  const released = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve({ released }));
    child.once('error', reject);
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sqlite-busy-'));
  file = join(dir, 'box.db');
  db = openDatabase(file);
  inbox = new ReportInbox(db);
  intake = createHl7Intake({ inbox });
});

afterAll(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SQLite busy', () => {
  it('a lock shorter than the busy timeout: the report waits for it and is ACKed AA, stored', async () => {
    const { released } = await holdWriteLock(1_000);
    const ack = readAck(await intake(message(1), { remoteAddress: '127.0.0.1' }));
    expect(ack.code).toBe('AA');
    await released;
    expect(inbox.list().map((r) => r.controlId)).toEqual(['BUSY-1']);
  }, 30_000);

  it('a lock longer than the busy timeout: no ACK, nothing half stored; the resend is taken once', async () => {
    const { released } = await holdWriteLock(7_000);
    await expect(intake(message(2), { remoteAddress: '127.0.0.1' })).rejects.toThrow(/locked|busy/i);
    await released;
    expect(inbox.list().map((r) => r.controlId)).toEqual(['BUSY-1']);
    const ack = readAck(await intake(message(2), { remoteAddress: '127.0.0.1' }));
    expect(ack.code).toBe('AA');
    expect(inbox.list().map((r) => r.controlId).sort()).toEqual(['BUSY-1', 'BUSY-2']);
  }, 30_000);
});
