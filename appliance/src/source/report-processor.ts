import type { IntakePriority } from './intake-priority.js';
import { createHash } from 'node:crypto';
import { mkdirSync, openSync, writeSync, fsyncSync, closeSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../store/database.js';
import type { ReportInbox, InboxRow } from '../store/report-inbox.js';
import type { KosArchive, KosRecord } from '../store/kos-archive.js';
import type { Outbox } from '../store/outbox.js';
import type { PacsBridge } from '../dimse/types.js';
import { PacsError } from '../dimse/types.js';
import type { ReportEvent } from '../report/types.js';
import { lookupExam, type Exam } from './exam-lookup.js';
import { checkPatient } from './patient-check.js';
import { log as rootLog, type Logger } from '../log/logger.js';
import { Alarm } from './alarm.js';

/** What turns a stored message into work: a report event, or a change the PACS told us about. */
export type InboxWork =
  | { kind: 'report'; report: ReportEvent }
  /**
   * Rebuild the manifest of a published exam (late images, IOCM rejection), excluding rejected instances. With
   * `confirmWithPacs`, the exclusion holds only if the PACS no longer has those instances: whoever pushed the note
   * proved nothing by its AE title.
   */
  | { kind: 'rebuild'; studyInstanceUid: string; excludeSopInstanceUids: string[]; reason: string; confirmWithPacs?: boolean };

/** Thrown by an interpreter when a message can never be processed (bad content): the row is rejected. */
export class RejectedMessage extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RejectedMessage';
  }
}

export interface KosBuilder {
  /** Builds the Part-10 KOS of an exam for a report. */
  build(report: ReportEvent, exam: Exam): { part10: Buffer; sopInstanceUid: string };
}

export interface ProcessorDeps {
  db: Db;
  inbox: ReportInbox;
  archive: KosArchive;
  outbox: Outbox;
  bridge: PacsBridge;
  kos: KosBuilder;
  /** Reads a stored message into work; throws RejectedMessage for content that will never be valid. */
  interpret(row: InboxRow): InboxWork;
  dataDir: string;
  stableAfterMs: number;
  recheckMs: number;
  maxWaitForImagesMs: number;
  /** Called after an outbox row is queued (wakes the drainer). */
  onQueued?: () => void;
  /** The manifest of an exam changed (built or replaced: 'built'; withdrawn): cached views of it are stale. */
  onManifestChanged?: (studyInstanceUid: string, change: 'built' | 'withdrawn') => void;
  /** Messages arriving: each batch of due reports waits for a quiet moment first (bounded, see intake-priority.ts). */
  intake?: Pick<IntakePriority, 'yieldToIntake'>;
  now?: () => Date;
  log?: Logger;
}

/** The longest pause between two looks for an exam the PACS does not have (yet). */
const MAX_RECHECK_MS = 10 * 60_000;

export type ProcessOutcome = 'done' | 'waiting' | 'held' | 'rejected' | 'failed';

/**
 * Turns stored report messages into archived KOS and queued DMP operations. Re-runnable from the stored
 * message alone: a crash anywhere before the final transaction just means the message is processed again,
 * and nothing reaches the outbox before that transaction commits.
 */
export class ReportProcessor {
  private readonly now: () => Date;
  private readonly log: Logger;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly alarm = new Alarm();
  private busy = false;

  constructor(private readonly deps: ProcessorDeps) {
    this.now = deps.now ?? (() => new Date());
    this.log = deps.log ?? rootLog.child({ component: 'source' });
  }

  get inFlight(): number {
    return this.busy ? 1 : 0;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  wake(): void {
    this.alarm.wake();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
  }

  /** Processes every message due now (tests, CLI). */
  async processDue(): Promise<{ id: number; outcome: ProcessOutcome }[]> {
    const results: { id: number; outcome: ProcessOutcome }[] = [];
    for (;;) {
      const due = this.deps.inbox.due(8).filter((r) => !results.some((x) => x.id === r.id));
      if (due.length === 0) return results;
      for (const row of due) results.push({ id: row.id, outcome: await this.process(row) });
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      await this.deps.intake?.yieldToIntake();
      const due = this.deps.inbox.due(8);
      for (const row of due) {
        if (!this.running) break;
        await this.process(row);
      }
      if (due.length > 0) continue;
      const next = this.deps.inbox.nextDueAt();
      const wait = Math.max(10, Math.min(this.deps.recheckMs, next ? next.getTime() - Date.now() : this.deps.recheckMs));
      await this.alarm.sleep(wait);
    }
  }

  async process(row: InboxRow): Promise<ProcessOutcome> {
    this.busy = true;
    try {
      let work: InboxWork;
      try {
        work = this.deps.interpret(row);
      } catch (err) {
        const reason = err instanceof RejectedMessage ? err.message : `cannot read message: ${(err as Error).message}`;
        this.deps.inbox.markRejected(row.id, reason);
        this.log.warn('report message rejected', { inbox: row.id, reason });
        return 'rejected';
      }
      if (work.kind === 'report' && work.report.action === 'withdraw') return this.withdraw(row, work.report);
      if (work.kind === 'report' && work.report.action === 'refresh') return await this.refresh(row, work.report);
      return await this.publish(row, work);
    } catch (err) {
      if (err instanceof RejectedMessage) {
        this.deps.inbox.markRejected(row.id, err.message);
        return 'rejected';
      }
      if (err instanceof PacsError && err.kind !== 'refused') return this.waitOrFail(row, `PACS: ${err.message}`, undefined, this.backoff(row));
      this.deps.inbox.markFailed(row.id, (err as Error).message);
      this.log.error('report processing failed', { inbox: row.id, error: err });
      return 'failed';
    } finally {
      this.busy = false;
    }
  }

  /** Rechecks of an exam that is not there back off: recheckMs, doubled at each look, 10 minutes at most. */
  private backoff(row: InboxRow): number {
    const cap = Math.max(this.deps.recheckMs, MAX_RECHECK_MS);
    return Math.min(cap, this.deps.recheckMs * 2 ** Math.min(row.attempts, 20));
  }

  private waitOrFail(row: InboxRow, reason: string, observedInstances?: number, delayMs = this.deps.recheckMs): ProcessOutcome {
    const since = row.firstWaitingAt ? Date.parse(row.firstWaitingAt) : this.now().getTime();
    if (this.now().getTime() - since >= this.deps.maxWaitForImagesMs) {
      this.deps.inbox.markFailed(row.id, `gave up after ${Math.round(this.deps.maxWaitForImagesMs / 60_000)} min: ${reason}`);
      this.log.error('report set aside', { inbox: row.id, reason });
      return 'failed';
    }
    this.deps.inbox.markWaiting(row.id, reason, new Date(this.now().getTime() + delayMs), observedInstances);
    this.log.info('report waiting', { inbox: row.id, reason });
    return 'waiting';
  }

  private async publish(row: InboxRow, work: InboxWork): Promise<ProcessOutcome> {
    const { archive } = this.deps;
    let report: ReportEvent;
    let studyUid: string;
    let exclude = new Set<string>();
    if (work.kind === 'report') {
      const studies = examsOf(work.report);
      if (studies.length === 0) throw new RejectedMessage('the report names no Study Instance UID (CDA documentationOf/serviceEvent/id)');
      // One KOS per exam: this row works the exam it names; the first exam's row makes the rows of the others.
      studyUid = row.studyInstanceUid && studies.includes(row.studyInstanceUid) ? row.studyInstanceUid : studies[0]!;
      if (studyUid === studies[0] && studies.length > 1) {
        const made = this.deps.inbox.ensureExamCopies(row, studies.slice(1));
        if (made) this.log.info('report documents several exams: one manifest each', { inbox: row.id, exams: studies.length });
      }
      report = forExam(work.report, studyUid);
    } else {
      const current = archive.activeForStudy(work.studyInstanceUid);
      if (!current) {
        this.deps.inbox.markDone(row.id, `no published manifest for study ${work.studyInstanceUid}: nothing to update`);
        return 'done';
      }
      report = current.report as ReportEvent;
      studyUid = work.studyInstanceUid;
      exclude = new Set([...work.excludeSopInstanceUids, ...this.rejectedSoFar(studyUid)]);
    }
    if (!row.studyInstanceUid) this.deps.inbox.setStudy(row.id, studyUid);

    const exam = await lookupExam(this.deps.bridge, studyUid);
    if (!exam || exam.instanceCount === 0) return this.waitOrFail(row, `study ${studyUid} not (yet) in the PACS`, undefined, this.backoff(row));
    if (work.kind === 'report' && !row.releasedBy) {
      const match = checkPatient(exam.patient, report.patient);
      if (!match.ok) {
        this.deps.inbox.markHeld(row.id, `held for a person: ${match.reason}`);
        // The reason names both patients: it stays in the inbox (LAN side), never in the log.
        this.log.error('report held: the PACS study is not the report patient\'s', { inbox: row.id, study: studyUid });
        return 'held';
      }
    }
    if (work.kind === 'rebuild' && work.confirmWithPacs) {
      const rejected = new Set(work.excludeSopInstanceUids);
      const stillThere = exam.series.reduce((n, s) => n + s.instances.filter((i) => rejected.has(i.sopInstanceUid)).length, 0);
      if (stillThere > 0) {
        const note = `${work.reason} ignored: the PACS still holds ${stillThere} of the ${rejected.size} instance(s) it rejects (a note the PACS did not apply, or not the PACS's)`;
        this.deps.inbox.markDone(row.id, note);
        this.log.warn('IOCM rejection note not confirmed by the PACS: publication unchanged', { inbox: row.id, study: studyUid, from: row.sender, stillThere });
        return 'done';
      }
    }
    const examNow = withoutRejected(exam, exclude);
    if (this.deps.stableAfterMs > 0 && work.kind === 'report') {
      const stableSince = row.observedInstances === exam.instanceCount ? Date.parse(row.updatedAt) : undefined;
      if (stableSince === undefined || this.now().getTime() - stableSince < this.deps.stableAfterMs) {
        return this.waitOrFail(row, `study ${studyUid} still arriving (${exam.instanceCount} instances so far)`, exam.instanceCount, this.deps.stableAfterMs);
      }
    }
    if (work.kind === 'rebuild') {
      const current = archive.activeForStudy(studyUid)!;
      if (sameContent(archive.refs(current.id), examNow)) {
        this.deps.inbox.markDone(row.id, `manifest ${current.sopInstanceUid} already up to date`);
        return 'done';
      }
    }

    const built = this.deps.kos.build(report, examNow);
    const file = this.writeKosFile(built.sopInstanceUid, built.part10);
    const sha1 = createHash('sha1').update(built.part10).digest('hex');
    const sendToDmp = report.dmp.sendToDmp;
    this.deps.db.transaction(() => {
      const previous = archive.activeForStudy(studyUid);
      const previousQueued = previous && this.wasQueued(previous);
      const { record } = archive.add({
        sopInstanceUid: built.sopInstanceUid,
        studyInstanceUid: studyUid,
        patientIns: report.patient.ins?.value,
        patientInsOid: report.patient.ins?.issuerOid,
        accession: report.accession?.value,
        documentId: report.document.id,
        file,
        bytes: built.part10.length,
        sha1,
        report,
        refs: examNow.series.flatMap((s) => s.instances.map((i) => ({ seriesInstanceUid: s.seriesInstanceUid, sopInstanceUid: i.sopInstanceUid }))),
      });
      if (sendToDmp) {
        this.deps.outbox.enqueue({
          op: previousQueued ? 'replace' : 'publish',
          examKey: studyUid,
          uniqueId: built.sopInstanceUid,
          targetUniqueId: previousQueued ? previous.sopInstanceUid : undefined,
          kosId: record.id,
          payload: { inboxId: row.id, trigger: work.kind === 'report' ? report.trigger : work.reason },
        });
      }
      this.deps.inbox.markDone(
        row.id,
        sendToDmp ? `manifest ${built.sopInstanceUid} queued (${examNow.instanceCount} instances)` : `manifest ${built.sopInstanceUid} kept locally: the report is not for the DMP (DESTDMP=N)`,
      );
    }).immediate();
    this.log.info('manifest built', { inbox: row.id, study: studyUid, kos: built.sopInstanceUid, instances: examNow.instanceCount, queued: sendToDmp });
    this.deps.onManifestChanged?.(studyUid, 'built');
    if (sendToDmp) this.deps.onQueued?.();
    return 'done';
  }

  /** The RIS says the exam changed (OMI^O23): each manifest it names is rebuilt from the PACS, re-published if it differs. */
  private async refresh(row: InboxRow, report: ReportEvent): Promise<ProcessOutcome> {
    const { archive } = this.deps;
    const targets = report.studyInstanceUid
      ? [archive.activeForStudy(report.studyInstanceUid)].filter((k): k is KosRecord => k !== undefined)
      : report.accession
        ? archive.activeForAccession(report.accession.value)
        : [];
    if (targets.length === 0) {
      this.deps.inbox.markDone(row.id, 'nothing published for this exam: nothing to update');
      return 'done';
    }
    let outcome: ProcessOutcome = 'done';
    for (const kos of targets) {
      outcome = await this.publish(row, { kind: 'rebuild', studyInstanceUid: kos.studyInstanceUid, excludeSopInstanceUids: [], reason: `${report.trigger} exam change` });
      if (outcome !== 'done') break;
    }
    return outcome;
  }

  private withdraw(row: InboxRow, report: ReportEvent): ProcessOutcome {
    const { archive } = this.deps;
    const targets: KosRecord[] = report.studyInstanceUid
      ? examsOf(report).map((uid) => archive.activeForStudy(uid)).filter((k): k is KosRecord => k !== undefined)
      : report.accession
        ? archive.activeForAccession(report.accession.value)
        : [];
    if (!report.studyInstanceUid && !report.accession) throw new RejectedMessage('withdrawal names neither a Study Instance UID nor an accession number');
    if (targets.length === 0) {
      this.deps.inbox.markDone(row.id, 'nothing published for this exam: nothing to withdraw');
      return 'done';
    }
    this.deps.db.transaction(() => {
      for (const kos of targets) {
        archive.markWithdrawn(kos.id);
        if (this.wasQueued(kos)) {
          this.deps.outbox.enqueue({
            op: 'withdraw',
            examKey: kos.studyInstanceUid,
            uniqueId: kos.sopInstanceUid,
            targetUniqueId: kos.sopInstanceUid,
            kosId: kos.id,
            payload: { inboxId: row.id, trigger: report.trigger },
          });
        }
      }
      this.deps.inbox.markDone(row.id, `withdrawal of ${targets.map((k) => k.sopInstanceUid).join(', ')} queued`);
    }).immediate();
    this.log.info('manifest withdrawn', { inbox: row.id, kos: targets.map((k) => k.sopInstanceUid) });
    for (const k of targets) this.deps.onManifestChanged?.(k.studyInstanceUid, 'withdrawn');
    this.deps.onQueued?.();
    return 'done';
  }

  /** A KOS reached the outbox (as publish or replace) and was not abandoned: the DMP knows or will know it. */
  private wasQueued(kos: KosRecord): boolean {
    const row = this.deps.outbox.getByUniqueId('publish', kos.sopInstanceUid) ?? this.deps.outbox.getByUniqueId('replace', kos.sopInstanceUid);
    return row !== undefined && row.state !== 'dead';
  }

  /** Instances rejected by earlier IOCM notes on this study stay out of every later manifest. */
  private rejectedSoFar(studyUid: string): string[] {
    const rows = this.deps.db
      .prepare(`SELECT raw FROM report_inbox WHERE channel = 'dicom' AND study_instance_uid = ? AND state = 'done'`)
      .all(studyUid) as { raw: Buffer }[];
    const out: string[] = [];
    for (const r of rows) {
      try {
        const work = this.deps.interpret({ channel: 'dicom', raw: r.raw } as InboxRow);
        if (work.kind === 'rebuild') out.push(...work.excludeSopInstanceUids);
      } catch {
        // a note we could not read was rejected when it came; nothing to exclude
      }
    }
    return out;
  }

  private writeKosFile(sopInstanceUid: string, bytes: Buffer): string {
    if (!/^[0-9.]{1,64}$/.test(sopInstanceUid)) throw new Error(`refusing to name a file after UID "${sopInstanceUid}"`);
    const dir = join(this.deps.dataDir, 'kos');
    mkdirSync(dir, { recursive: true });
    const rel = join('kos', `${sopInstanceUid}.dcm`);
    const final = join(this.deps.dataDir, rel);
    const tmp = `${final}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, final);
    return rel;
  }
}

function withoutRejected(exam: Exam, exclude: Set<string>): Exam {
  if (exclude.size === 0) return exam;
  const series = exam.series
    .map((s) => ({ ...s, instances: s.instances.filter((i) => !exclude.has(i.sopInstanceUid)) }))
    .filter((s) => s.instances.length > 0);
  return { ...exam, series, instanceCount: series.reduce((n, s) => n + s.instances.length, 0) };
}

function sameContent(refs: { sopInstanceUid: string }[], exam: Exam): boolean {
  if (refs.length !== exam.instanceCount) return false;
  const have = new Set(refs.map((r) => r.sopInstanceUid));
  return exam.series.every((s) => s.instances.every((i) => have.has(i.sopInstanceUid)));
}

/** Every exam a report documents (CDA: one serviceEvent each), first first. */
function examsOf(report: ReportEvent): string[] {
  return report.studyInstanceUids ?? (report.studyInstanceUid ? [report.studyInstanceUid] : []);
}

/** The report as one of its exams' manifests carries it: that study only. */
function forExam(report: ReportEvent, studyInstanceUid: string): ReportEvent {
  const { studyInstanceUids: _all, ...rest } = report;
  return { ...rest, studyInstanceUid };
}
