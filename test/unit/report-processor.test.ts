import { describe, it, expect, beforeEach } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../appliance/src/store/database.js';
import { ReportInbox, type InboxRow } from '../../appliance/src/store/report-inbox.js';
import { KosArchive } from '../../appliance/src/store/kos-archive.js';
import { Outbox } from '../../appliance/src/store/outbox.js';
import { ReportProcessor, RejectedMessage, type InboxWork } from '../../appliance/src/source/report-processor.js';
import type { FindQuery, PacsBridge } from '../../appliance/src/dimse/types.js';
import type { DicomJson } from '../../appliance/src/dicom/model.js';
import { PacsError } from '../../appliance/src/dimse/types.js';
import type { ReportEvent } from '../../appliance/src/report/types.js';

const STUDY = '1.2.250.1.999.1.1';
const CT = '1.2.840.10008.5.1.4.1.1.2';

/** A PACS holding one study whose instances the test can add to, answering C-FIND like Orthanc does. */
class FakePacs implements PacsBridge {
  instances: { series: string; sop: string; cls: string }[] = [];
  /** The study's patient as the PACS knows it (the report's INS, unless a test says otherwise). */
  patient = { id: '279035121518989', name: 'DUPONT^HELENE', birthDate: '19790312' };
  down = false;
  finds: FindQuery[] = [];
  async echo() {}
  async *find(q: FindQuery): AsyncIterable<DicomJson> {
    this.finds.push(q);
    if (this.down) throw new PacsError('unreachable', 'PACS 127.0.0.1:4242 unreachable');
    if (q.keys.StudyInstanceUID !== STUDY || this.instances.length === 0) return;
    if (q.level === 'STUDY') {
      yield {
        '0020000D': { vr: 'UI', Value: [STUDY] },
        '00080020': { vr: 'DA', Value: ['20261127'] },
        '00100020': { vr: 'LO', Value: [this.patient.id] },
        '00100010': { vr: 'PN', Value: [{ Alphabetic: this.patient.name }] },
        '00100030': { vr: 'DA', Value: [this.patient.birthDate] },
      };
      return;
    }
    for (const i of this.instances) {
      yield {
        '0020000E': { vr: 'UI', Value: [i.series] },
        '00080018': { vr: 'UI', Value: [i.sop] },
        '00080016': { vr: 'UI', Value: [i.cls] },
        '00080060': { vr: 'CS', Value: ['CT'] },
      };
    }
  }
  retrieve(): never {
    throw new Error('not used');
  }
  store(): never {
    throw new Error('not used');
  }
}

const report = (over: Partial<ReportEvent> = {}): ReportEvent => ({
  action: 'publish',
  trigger: 'ORU^R01',
  patient: { ins: { value: '279035121518989', issuerOid: '1.2.250.1.213.1.4.10' } },
  studyInstanceUid: STUDY,
  modalities: [],
  regions: [],
  document: { id: 'doc-1' },
  dmp: { sendToDmp: true, maskedFromProfessionals: false, invisibleToPatient: false, invisibleToLegalRepresentatives: false },
  ...over,
});

let db: Db;
let inbox: ReportInbox;
let archive: KosArchive;
let outbox: Outbox;
let pacs: FakePacs;
let clock: Date;
let builds: { uid: string; count: number }[];
let kosSeq: number;
/** What the processor told of manifest changes (the box then drops cached metadata, or prepares it). */
let manifestChanges: [string, 'built' | 'withdrawn'][] = [];

function processor(stableAfterMs = 0, maxWaitForImagesMs = 3_600_000) {
  return new ReportProcessor({
    db,
    inbox,
    archive,
    outbox,
    bridge: pacs,
    kos: {
      build(_r, exam) {
        const uid = `1.2.826.0.1.3680043.10.1558.${++kosSeq}`;
        builds.push({ uid, count: exam.instanceCount });
        return { part10: Buffer.from(`KOS ${uid} ${exam.instanceCount}`), sopInstanceUid: uid };
      },
    },
    interpret(row: InboxRow): InboxWork {
      const parsed = JSON.parse(row.raw.toString());
      if (parsed.bad) throw new RejectedMessage(parsed.bad);
      return parsed.work;
    },
    dataDir: mkdtempSync(join(tmpdir(), 'drimbox-src-')),
    stableAfterMs,
    recheckMs: 1000,
    maxWaitForImagesMs,
    onManifestChanged: (study, change) => manifestChanges.push([study, change]),
    now: () => clock,
  });
}

const receive = (work: InboxWork | { bad: string }, controlId?: string) =>
  inbox.record({ channel: 'hl7', raw: Buffer.from(JSON.stringify('bad' in work ? work : { work })), controlId, sender: 'RIS' });

beforeEach(() => {
  manifestChanges = [];
  db = openDatabase(':memory:');
  clock = new Date('2026-11-27T10:00:00Z');
  inbox = new ReportInbox(db, () => clock);
  archive = new KosArchive(db, () => clock);
  outbox = new Outbox(db, undefined, () => clock);
  pacs = new FakePacs();
  builds = [];
  kosSeq = 0;
  for (let i = 0; i < 3; i++) pacs.instances.push({ series: '1.2.3.1', sop: `1.2.3.1.${i}`, cls: CT });
});

describe('report processor', () => {
  it('builds the manifest from every instance in the PACS, archives it and queues its publication in one go', async () => {
    receive({ kind: 'report', report: report() });
    const p = processor();
    expect(await p.processDue()).toEqual([{ id: 1, outcome: 'done' }]);
    const [kos] = archive.list();
    expect(kos).toMatchObject({ studyInstanceUid: STUDY, instanceCount: 3, status: 'active', patientIns: '279035121518989' });
    expect(archive.refs(kos!.id).map((r) => r.sopInstanceUid).sort()).toEqual(['1.2.3.1.0', '1.2.3.1.1', '1.2.3.1.2']);
    const [op] = outbox.list();
    expect(op).toMatchObject({ op: 'publish', uniqueId: kos!.sopInstanceUid, examKey: STUDY, state: 'pending' });
    expect(inbox.get(1)!.state).toBe('done');
  });

  it('never lists a KOS (our own manifest or an IOCM note) as exam content', async () => {
    pacs.instances.push({ series: '1.2.3.9', sop: '1.2.3.9.1', cls: '1.2.840.10008.5.1.4.1.1.88.59' });
    receive({ kind: 'report', report: report() });
    await processor().processDue();
    expect(builds[0]!.count).toBe(3);
  });

  it('waits for an exam that is not in the PACS yet, then for it to stop growing', async () => {
    const saved = pacs.instances;
    pacs.instances = [];
    receive({ kind: 'report', report: report() });
    const p = processor(15_000);
    expect(await p.processDue()).toEqual([{ id: 1, outcome: 'waiting' }]);
    expect(inbox.get(1)!.error).toMatch(/not \(yet\) in the PACS/);
    pacs.instances = saved.slice(0, 2);
    clock = new Date(clock.getTime() + 1000);
    expect((await p.processDue())[0]!.outcome).toBe('waiting'); // first sight: 2 instances
    pacs.instances = saved;
    clock = new Date(clock.getTime() + 15_000);
    expect((await p.processDue())[0]!.outcome).toBe('waiting'); // grew to 3
    expect(inbox.get(1)!.error).toMatch(/still arriving \(3 instances/);
    clock = new Date(clock.getTime() + 15_000);
    expect((await p.processDue())[0]!.outcome).toBe('done');
    expect(builds).toEqual([{ uid: expect.any(String), count: 3 }]);
  });

  it('keeps a report whose exam never comes, as failed and visible, after the maximum wait', async () => {
    pacs.instances = [];
    receive({ kind: 'report', report: report() });
    const p = processor(0, 60_000);
    await p.processDue();
    clock = new Date(clock.getTime() + 61_000);
    expect((await p.processDue())[0]!.outcome).toBe('failed');
    expect(inbox.get(1)!.error).toMatch(/gave up after 1 min: study .* not \(yet\) in the PACS/);
    expect(outbox.list()).toHaveLength(0);
  });

  it('waits while the PACS is unreachable, without losing the report', async () => {
    pacs.down = true;
    receive({ kind: 'report', report: report() });
    const p = processor();
    expect((await p.processDue())[0]!.outcome).toBe('waiting');
    expect(inbox.get(1)!.error).toMatch(/PACS: PACS 127.0.0.1:4242 unreachable/);
    pacs.down = false;
    clock = new Date(clock.getTime() + 1000);
    expect((await p.processDue())[0]!.outcome).toBe('done');
  });

  it('replaces the published manifest when the report is corrected', async () => {
    receive({ kind: 'report', report: report() });
    const p = processor();
    await p.processDue();
    pacs.instances.push({ series: '1.2.3.2', sop: '1.2.3.2.0', cls: CT });
    receive({ kind: 'report', report: report({ action: 'replace', trigger: 'MDM^T10', document: { id: 'doc-2', replaces: 'doc-1' } }) });
    await p.processDue();
    const [first, second] = outbox.list();
    expect(second).toMatchObject({ op: 'replace', targetUniqueId: first!.uniqueId });
    expect(archive.list().map((k) => k.status)).toEqual(['active', 'replaced']);
    expect(archive.activeForStudy(STUDY)!.instanceCount).toBe(4);
  });

  it('withdraws what was published for a deleted report or a cancelled exam', async () => {
    receive({ kind: 'report', report: report() });
    const p = processor();
    await p.processDue();
    receive({ kind: 'report', report: report({ action: 'withdraw', trigger: 'MDM^T04' }) });
    await p.processDue();
    const ops = outbox.list();
    expect(ops.map((o) => o.op)).toEqual(['publish', 'withdraw']);
    expect(ops[1]!.targetUniqueId).toBe(ops[0]!.uniqueId);
    expect(archive.list()[0]!.status).toBe('withdrawn');
    expect(archive.covers({ studyInstanceUid: STUDY })).toBeUndefined();
    expect(manifestChanges.slice(-2)).toEqual([
      [STUDY, 'built'],
      [STUDY, 'withdrawn'],
    ]);
  });

  it('finds what to withdraw by accession when a cancelled order carries no study UID', async () => {
    receive({ kind: 'report', report: report({ accession: { value: 'ACC1', issuerOid: '1.2.3' } }) });
    const p = processor();
    await p.processDue();
    receive({ kind: 'report', report: report({ action: 'withdraw', trigger: 'OMI^O23', studyInstanceUid: undefined, accession: { value: 'ACC1', issuerOid: '1.2.3' } }) });
    await p.processDue();
    expect(outbox.list().map((o) => o.op)).toEqual(['publish', 'withdraw']);
  });

  it('keeps a manifest locally without queuing it when the report is not for the DMP', async () => {
    receive({ kind: 'report', report: report({ dmp: { sendToDmp: false, maskedFromProfessionals: false, invisibleToPatient: false, invisibleToLegalRepresentatives: false } }) });
    await processor().processDue();
    expect(archive.list()).toHaveLength(1);
    expect(outbox.list()).toHaveLength(0);
    expect(inbox.get(1)!.error).toMatch(/DESTDMP=N/);
  });

  it('rebuilds the manifest without instances rejected by an IOCM note, and not when nothing changed', async () => {
    receive({ kind: 'report', report: report() });
    const p = processor();
    await p.processDue();
    inbox.record({ channel: 'dicom', raw: Buffer.from(JSON.stringify({ work: { kind: 'rebuild', studyInstanceUid: STUDY, excludeSopInstanceUids: ['1.2.3.1.1'], reason: 'IOCM 113001' } })) });
    await p.processDue();
    expect(archive.activeForStudy(STUDY)!.instanceCount).toBe(2);
    expect(outbox.list().map((o) => o.op)).toEqual(['publish', 'replace']);
    inbox.record({ channel: 'pacs', raw: Buffer.from(JSON.stringify({ work: { kind: 'rebuild', studyInstanceUid: STUDY, excludeSopInstanceUids: [], reason: 'late images check' } })) });
    await p.processDue();
    expect(outbox.list()).toHaveLength(2); // the rejected instance stays out: nothing new to publish
    expect(inbox.get(3)!.error).toMatch(/already up to date/);
  });

  it('rejects content that can never be processed, visibly', async () => {
    receive({ bad: 'CDA without documentationOf/serviceEvent/id' });
    receive({ kind: 'report', report: report({ studyInstanceUid: undefined }) });
    const out = await processor().processDue();
    expect(out.map((o) => o.outcome)).toEqual(['rejected', 'rejected']);
    expect(inbox.get(2)!.error).toMatch(/names no Study Instance UID/);
  });

  it('writes the manifest file under the data dir, named by its UID', async () => {
    receive({ kind: 'report', report: report() });
    const p = processor();
    await p.processDue();
    const kos = archive.list()[0]!;
    const dataDir = (p as unknown as { deps: { dataDir: string } }).deps.dataDir;
    expect(readFileSync(join(dataDir, kos.file), 'utf8')).toBe(`KOS ${kos.sopInstanceUid} 3`);
  });
});

describe('patient safety: the PACS study must be the report patient\'s', () => {
  it('holds a report whose study belongs to another patient, publishes nothing, and says why', async () => {
    pacs.patient = { id: 'IPP-OTHER-0042', name: 'MARTIN^PAUL', birthDate: '19500101' };
    receive({ kind: 'report', report: report() });
    expect(await processor().processDue()).toEqual([{ id: 1, outcome: 'held' }]);
    expect(outbox.list()).toEqual([]);
    expect(archive.list()).toEqual([]);
    expect(inbox.get(1)).toMatchObject({ state: 'held', error: expect.stringMatching(/PatientID IPP-OTHER-0042.*MARTIN\^PAUL.*INS 279035121518989/) });
    expect(inbox.backlog()).toMatchObject({ held: 1 });
    // Held is never retried by itself.
    clock = new Date(clock.getTime() + 86_400_000);
    expect(await processor().processDue()).toEqual([]);
  });

  it('publishes a held report once a person releases it; a refused one never', async () => {
    pacs.patient = { id: 'IPP-OTHER-0042', name: 'MARTIN^PAUL', birthDate: '19500101' };
    receive({ kind: 'report', report: report() });
    receive({ kind: 'report', report: report({ document: { id: 'doc-2' } }) }, 'c2');
    await processor().processDue();
    expect(inbox.refuse(2, 'Dr Martin')).toBe(true);
    expect(inbox.get(2)).toMatchObject({ state: 'rejected', error: expect.stringMatching(/^refused by Dr Martin/) });
    expect(inbox.release(1, 'Dr Martin')).toBe(true);
    expect(inbox.release(1, 'Dr Martin')).toBe(false); // no longer held
    expect(await processor().processDue()).toEqual([{ id: 1, outcome: 'done' }]);
    expect(outbox.list()).toHaveLength(1);
    expect(inbox.get(1)!.releasedBy).toBe('Dr Martin');
  });

  it('matches by IPP, by INS, and without a PACS identifier by birth name and date', async () => {
    const { checkPatient } = await import('../../appliance/src/source/patient-check.js');
    const patient = { ipp: { value: 'IPP1', issuerOid: '1.2.250.1.71.4.2.1' }, ins: { value: '279035121518989', issuerOid: '1.2.250.1.213.1.4.10' }, birthName: 'Dupont', birthDate: '19790312' };
    expect(checkPatient({ id: 'IPP1' }, patient)).toEqual({ ok: true, by: 'IPP' });
    expect(checkPatient({ id: '279035121518989' }, patient)).toEqual({ ok: true, by: 'INS' });
    expect(checkPatient({ id: 'IPP1', issuer: '1.2.250.1.71.4.2.9' }, patient)).toMatchObject({ ok: false, reason: expect.stringMatching(/issued by/) });
    expect(checkPatient({ name: 'DUPONT^Hélène', birthDate: '19790312' }, patient)).toEqual({ ok: true, by: 'name and birth date' });
    expect(checkPatient({ name: 'DUPONT^Hélène', birthDate: '19790313' }, patient)).toMatchObject({ ok: false, reason: expect.stringMatching(/birth dates differ/) });
    expect(checkPatient({}, { birthName: 'Dupont' })).toMatchObject({ ok: false, reason: expect.stringMatching(/cannot be compared/) });
  });
});

describe('fair scheduling: rechecks never starve new reports', () => {
  it('takes a new report before 150 older ones still waiting for an absent study, and backs the rechecks off', async () => {
    const absent = report({ studyInstanceUid: '1.2.250.1.999.404' });
    for (let i = 0; i < 150; i++) receive({ kind: 'report', report: { ...absent, document: { id: `absent-${i}` } } }, `a${i}`);
    const p = processor();
    await p.processDue();
    const firstWait = inbox.get(1)!;
    expect(firstWait.state).toBe('waiting');
    clock = new Date(clock.getTime() + 60_000); // every recheck is due again
    const fresh = receive({ kind: 'report', report: report() }, 'fresh');
    expect(inbox.due(8)[0]!.id).toBe(fresh.row.id);
    await p.process(inbox.due(8)[0]!);
    expect(inbox.get(fresh.row.id)!.state).toBe('done');
    // The second look at an absent study comes later than the first did.
    await p.process(inbox.get(1)!);
    const second = inbox.get(1)!;
    expect(Date.parse(second.nextAttemptAt!) - clock.getTime()).toBeGreaterThan(Date.parse(firstWait.nextAttemptAt!) - Date.parse(firstWait.updatedAt));
    expect(inbox.backlog()).toMatchObject({ waiting: 150, received: 0 });
  });
});

describe('report inbox: refused messages take bounded room', () => {
  it('keeps only a prefix of a refused message (its digest still names the whole), and ages refused rows out', async () => {
    const { REJECTED_PREFIX_BYTES } = await import('../../appliance/src/store/report-inbox.js');
    const big = Buffer.alloc(20 * 1_048_576, 0x41);
    const { row } = inbox.record({ channel: 'hl7', raw: big, sender: 'RIS', controlId: 'BIG-1' });
    inbox.markRejected(row.id, 'not HL7');
    const kept = inbox.get(row.id)!;
    expect(kept.raw.length).toBe(REJECTED_PREFIX_BYTES);
    expect((db.prepare('SELECT digest FROM report_inbox WHERE id = ?').get(row.id) as { digest: string }).digest).toMatch(/^[0-9a-f]{64}$/);
    // A conflicting reuse of a control id is stored refused at once: a prefix too.
    const conflict = inbox.record({ channel: 'hl7', raw: Buffer.concat([big, Buffer.from('x')]), sender: 'RIS', controlId: 'C-1' });
    inbox.record({ channel: 'hl7', raw: Buffer.from('first'), sender: 'RIS', controlId: 'C-2' });
    const reuse = inbox.record({ channel: 'hl7', raw: big, sender: 'RIS', controlId: 'C-2' });
    expect(reuse.kind).toBe('conflict');
    expect(inbox.get(reuse.row.id)!.raw.length).toBe(REJECTED_PREFIX_BYTES);
    expect(conflict.kind).toBe('new');
    clock = new Date(clock.getTime() + 31 * 86_400_000);
    expect(inbox.purgeRejected(new Date(clock.getTime() - 30 * 86_400_000))).toBe(2);
    expect(inbox.get(row.id)).toBeUndefined();
    expect(inbox.get(conflict.row.id)).toBeDefined(); // accepted messages are never purged
  });
});

describe('report inbox', () => {
  it('tells a resend from a new message and from a conflicting reuse of a control id', () => {
    const a = inbox.record({ channel: 'hl7', raw: Buffer.from('MSH|one'), controlId: 'C1', sender: 'RIS^SITE' });
    const b = inbox.record({ channel: 'hl7', raw: Buffer.from('MSH|one'), controlId: 'C1', sender: 'RIS^SITE' });
    const c = inbox.record({ channel: 'hl7', raw: Buffer.from('MSH|two'), controlId: 'C1', sender: 'RIS^SITE' });
    const d = inbox.record({ channel: 'hl7', raw: Buffer.from('MSH|one'), controlId: 'C1', sender: 'OTHER' });
    expect([a.kind, b.kind, c.kind, d.kind]).toEqual(['new', 'duplicate', 'conflict', 'new']);
    expect(inbox.get(b.row.id)!.error).toBe(`resend of message #${a.row.id}`);
    expect(inbox.get(c.row.id)!.state).toBe('rejected');
    expect(inbox.due().map((r) => r.id)).toEqual([a.row.id, d.row.id]);
  });
});
