import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { openDatabase, type Db } from '../../appliance/src/store/database.js';
import { ReportInbox } from '../../appliance/src/store/report-inbox.js';
import { createHl7Intake, interpretInboxRow, ReadReports } from '../../appliance/src/source/report-intake.js';
import { openMllp, readAck, startMllpServer, parseHl7Message, type MllpServer } from '../../appliance/src/hl7/index.js';
import { reportFromHl7 } from '../../appliance/src/report/parse.js';
import { oruForStudy, testNir } from '../fixtures/hl7/report-message.js';
import { helene } from '../fixtures/hl7/generate.js';

const message = (controlId: string, accession = controlId) =>
  oruForStudy({ studyUid: `1.2.826.0.1.3680043.10.1558.7.${controlId.length}`, patient: { ...helene, ins: testNir('2840275123456') }, accession, controlId });

// A write the database refuses at commit time, for one control id: what a full or failing disk does to a transaction.
const REFUSE_BOOM = `CREATE TRIGGER refuse_boom BEFORE INSERT ON report_inbox WHEN NEW.control_id = 'BOOM' BEGIN SELECT RAISE(ABORT, 'disk I/O error (simulated)'); END`;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A database file (synchronous=FULL, WAL) or in memory. */
function database(where: 'file' | 'memory'): { db: Db; file?: string } {
  if (where === 'memory') return { db: openDatabase(':memory:') };
  const dir = mkdtempSync(join(tmpdir(), 'drimbox-hl7-durable-'));
  const file = join(dir, 'box.db');
  const db = openDatabase(file);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => db.close());
  return { db, file };
}

async function listener(inbox: ReportInbox): Promise<MllpServer> {
  const server = await startMllpServer({ port: 0, host: '127.0.0.1', handler: createHl7Intake({ inbox }) });
  cleanups.push(() => server.close(100));
  return server;
}

describe.each(['file', 'memory'] as const)('no AA before the message is committed (database %s)', (where) => {
  it('a message whose commit fails gets no AA and is not stored; the messages committed with it are ACKed AA', async () => {
    const { db } = database(where);
    db.exec(REFUSE_BOOM);
    const server = await listener(new ReportInbox(db));
    const connections = await Promise.all(['A1', 'BOOM', 'A3'].map(() => openMllp('127.0.0.1', server.port)));
    cleanups.push(() => connections.forEach((c) => c.close()));
    // Sent together: they share a batch, which fails as a whole and is retried message by message.
    const acks = await Promise.all(['A1', 'BOOM', 'A3'].map((id, i) => connections[i]!.send(message(id)).then(readAck)));
    expect(acks.map((a) => a.code)).toEqual(['AA', 'AR', 'AA']);
    expect(acks[1]!.text).toMatch(/internal error/);
    const stored = db.prepare('SELECT control_id FROM report_inbox ORDER BY id').all() as { control_id: string }[];
    expect(stored.map((r) => r.control_id).sort()).toEqual(['A1', 'A3']);
  });
});

describe('the HL7 intake on a database file', () => {
  it('has each message committed (seen by another connection) when its AA is handed to the listener', async () => {
    const { db, file } = database('file');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    const reader = new Database(file!, { readonly: true });
    cleanups.push(() => reader.close());
    const intake = createHl7Intake({ inbox: new ReportInbox(db) });
    const seenAtAck: boolean[] = [];
    const server = await startMllpServer({
      port: 0,
      host: '127.0.0.1',
      handler: async (raw, meta) => {
        const ack = await intake(raw, meta);
        const controlId = parseHl7Message(raw).controlId;
        seenAtAck.push(reader.prepare('SELECT 1 FROM report_inbox WHERE control_id = ?').get(controlId) !== undefined);
        return ack;
      },
    });
    cleanups.push(() => server.close(100));
    const ids = Array.from({ length: 12 }, (_, i) => `V${i}`);
    const connections = await Promise.all(ids.slice(0, 4).map(() => openMllp('127.0.0.1', server.port)));
    cleanups.push(() => connections.forEach((c) => c.close()));
    await Promise.all(
      connections.map(async (connection, c) => {
        for (const id of ids.filter((_, i) => i % 4 === c)) expect(readAck(await connection.send(message(id))).code).toBe('AA');
      }),
    );
    expect(seenAtAck).toEqual(ids.map(() => true));
  });

  it('tells a resend from a reused control id in a group commit, and answers each with the row as stored', async () => {
    const outcomes = [];
    for (const where of ['file', 'memory'] as const) {
      const inbox = new ReportInbox(database(where).db);
      const first = await inbox.recordSoon({ channel: 'hl7', raw: message('R1'), sender: 'RIS^CAB', controlId: 'R1' });
      const resend = await inbox.recordSoon({ channel: 'hl7', raw: message('R1'), sender: 'RIS^CAB', controlId: 'R1' });
      const reused = await inbox.recordSoon({ channel: 'hl7', raw: message('R1', 'OTHER'), sender: 'RIS^CAB', controlId: 'R1' });
      expect(resend.kind === 'duplicate' && resend.original.raw).toEqual(message('R1'));
      outcomes.push(
        [first, resend, reused].map((r) => ({ kind: r.kind, id: r.row.id, state: r.row.state, error: r.row.error, original: r.kind === 'new' ? undefined : r.original.id, stored: inbox.get(r.row.id)!.raw.length, answered: r.row.raw.length })),
      );
    }
    expect(outcomes[0]).toEqual(outcomes[1]);
    expect(outcomes[0]!.map((o) => o.kind)).toEqual(['new', 'duplicate', 'conflict']);
    expect(outcomes[0]!.every((o) => o.stored === o.answered)).toBe(true);
  });

  it('the processor gets the report the intake read, equal to reading the stored bytes again', async () => {
    const { db } = database('memory');
    const inbox = new ReportInbox(db);
    const readReports = new ReadReports();
    const ack = readAck(await createHl7Intake({ inbox, readReports })(message('P1'), {}));
    expect(ack.code).toBe('AA');
    const [row] = inbox.list({ limit: 1 });
    const again = reportFromHl7(parseHl7Message(row!.raw));
    for (let i = 0; i < 2; i++) {
      const work = interpretInboxRow(row!, readReports);
      expect(work.kind === 'report' && work.report).toEqual(again);
    }
  });
});
