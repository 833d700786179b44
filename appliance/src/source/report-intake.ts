import { createHash } from 'node:crypto';
import { buildAck, parseHl7Message, Hl7Error, type Hl7Message } from '../hl7/index.js';
import { hl7ErrorCodes } from '../hl7/errors.js';
import { MISLABELLED } from '../hl7/charset.js';
import { reportFromCda, reportFromHl7, looksLikeXml } from '../report/parse.js';
import type { ReportEvent } from '../report/types.js';
import { checkReportLimits } from '../report/limits.js';
import { parseKos } from '../dicom/kos/index.js';
import type { ReportInbox, InboxRow } from '../store/report-inbox.js';
import { RejectedMessage, type InboxWork } from './report-processor.js';
import { log as rootLog, type Logger } from '../log/logger.js';

/**
 * The reports of the last messages read, keyed by the SHA-256 of their bytes, each taken at most once: the processor
 * gets what the intake read instead of parsing the same bytes again. Bounded: the oldest is dropped (and will simply
 * be read again from its bytes).
 */
export class ReadReports {
  private readonly reports = new Map<string, ReportEvent>();

  constructor(private readonly capacity = 256) {}

  keep(raw: Buffer, report: ReportEvent): void {
    const key = digest(raw);
    this.reports.delete(key);
    this.reports.set(key, report);
    if (this.reports.size > this.capacity) this.reports.delete(this.reports.keys().next().value!);
  }

  take(raw: Buffer): ReportEvent | undefined {
    if (this.reports.size === 0) return undefined;
    const key = digest(raw);
    const report = this.reports.get(key);
    this.reports.delete(key);
    return report;
  }
}

const digest = (raw: Buffer) => createHash('sha256').update(raw).digest('base64');

/**
 * Reads a stored message into work for the processor. Stateless: the same bytes always give the same work,
 * which is what makes re-processing after a crash safe (a report the intake has just read is taken from memory,
 * once: what reading the same bytes again would give).
 */
export function interpretInboxRow(row: Pick<InboxRow, 'channel' | 'raw'>, readAtIntake?: ReadReports): InboxWork {
  switch (row.channel) {
    case 'hl7':
    case 'http':
      return { kind: 'report', report: readAtIntake?.take(row.raw) ?? asRejection(() => readReport(row.raw)) };
    case 'dicom': {
      const kos = asRejection(() => parseKos(row.raw));
      if (!kos.rejection) throw new RejectedMessage('a KOS that is not an IOCM rejection note: nothing to do');
      const excludeSopInstanceUids = kos.series.flatMap((s) => s.instances.map((i) => i.sopInstanceUid));
      return { kind: 'rebuild', studyInstanceUid: kos.studyInstanceUid, excludeSopInstanceUids, reason: `IOCM ${kos.documentTitle?.code ?? 'rejection'}`, confirmWithPacs: true };
    }
    case 'pacs': {
      const { studyInstanceUid } = JSON.parse(row.raw.toString('utf8')) as { studyInstanceUid: string };
      return { kind: 'rebuild', studyInstanceUid, excludeSopInstanceUids: [], reason: 'late images' };
    }
  }
}

function readReport(raw: Buffer): ReportEvent {
  return looksLikeXml(raw) ? reportFromCda(raw) : reportFromHl7(parseHl7Message(raw));
}

function asRejection<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw new RejectedMessage((err as Error).message);
  }
}

export interface IntakeDeps {
  inbox: ReportInbox;
  /** Wakes the processor once a message is stored. */
  onStored?: () => void;
  /** Why no new work can be taken now (the data disk is almost full), or undefined: asked before anything is stored. */
  admission?: () => Promise<string | undefined>;
  /** Keeps the reports read here for the processor (which is given the same store: interpretInboxRow). */
  readReports?: ReadReports;
  log?: Logger;
}

/**
 * The MLLP handler: the message is written to SQLite before any ACK. Unreadable or unusable messages are
 * stored too (state 'rejected', visible to the technician) and answered AE/AR with an ERR naming what is wrong.
 * A resend of an accepted message (same sender, control id and bytes) is ACKed again but not processed twice.
 */
export function createHl7Intake(deps: IntakeDeps) {
  const log = deps.log ?? rootLog.child({ component: 'hl7' });
  return async (raw: Buffer, meta: { remoteAddress?: string }): Promise<Buffer> => {
    const refusal = await deps.admission?.();
    if (refusal) {
      log.error('HL7 message refused: no room to keep it', { remote: meta.remoteAddress, reason: refusal });
      return buildAck(raw, 'AR', { text: refusal, hl7ErrorCode: hl7ErrorCodes.applicationInternalError });
    }
    let msg: Hl7Message;
    try {
      msg = parseHl7Message(raw);
    } catch (err) {
      const { row } = deps.inbox.record({ channel: 'hl7', raw, remote: meta.remoteAddress });
      deps.inbox.markRejected(row.id, (err as Error).message);
      log.warn('HL7 message refused', { inbox: row.id, remote: meta.remoteAddress, reason: (err as Error).message });
      return buildAck(raw, err instanceof Hl7Error ? err.ackCode : 'AR', ackError(err));
    }
    const header = msg.header;
    // The report is read before it is stored, so that an accepted message costs one write (and one sync) before its ACK.
    let report: ReportEvent | undefined;
    let reportProblem: unknown;
    try {
      report = reportFromHl7(msg);
      if (report.action !== 'withdraw' && report.action !== 'refresh' && !report.studyInstanceUid) {
        throw new Hl7Error('AE', 'the report names no Study Instance UID (CDA documentationOf/serviceEvent/id)', 'OBX^1^5', hl7ErrorCodes.requiredFieldMissing);
      }
      const problem = checkReportLimits(report);
      if (problem) throw new Hl7Error('AE', `${problem.text}: the DMP would refuse it`, problem.location, hl7ErrorCodes.dataTypeError);
    } catch (err) {
      reportProblem = err;
    }
    const study = reportProblem === undefined ? report?.studyInstanceUid : undefined;
    const recorded = await deps.inbox.recordSoon({
      channel: 'hl7',
      raw,
      remote: meta.remoteAddress,
      sender: `${header.get(3)}^${header.get(4)}`,
      controlId: msg.controlId || undefined,
      messageType: msg.messageType && msg.triggerEvent ? `${msg.messageType}^${msg.triggerEvent}` : msg.messageType,
      ...(study ? { studyInstanceUid: study } : {}),
    });
    if (recorded.kind === 'duplicate') {
      log.info('HL7 message received again', { inbox: recorded.row.id, original: recorded.original.id, controlId: msg.controlId });
      return buildAck(msg, 'AA', { text: `already received as message #${recorded.original.id}` });
    }
    if (recorded.kind === 'conflict') {
      return buildAck(msg, 'AR', { text: recorded.row.error ?? 'control id reused', location: 'MSH^1^10', hl7ErrorCode: hl7ErrorCodes.duplicateKeyIdentifier });
    }
    const { row } = recorded;
    if (reportProblem !== undefined) {
      deps.inbox.markRejected(row.id, (reportProblem as Error).message);
      log.warn('HL7 report refused', { inbox: row.id, controlId: msg.controlId, reason: (reportProblem as Error).message });
      return buildAck(msg, reportProblem instanceof Hl7Error ? reportProblem.ackCode : 'AE', ackError(reportProblem));
    }
    deps.readReports?.keep(raw, report!);
    deps.onStored?.();
    log.info('HL7 report accepted', { inbox: row.id, controlId: msg.controlId, type: row.messageType });
    const mislabel = msg.warnings.find((w) => w.startsWith(MISLABELLED));
    if (mislabel) {
      log.warn('HL7 report accepted with a mislabelled charset', { inbox: row.id, controlId: msg.controlId, warning: mislabel });
      return buildAck(msg, 'AA', { text: mislabel, location: 'MSH^1^18', hl7ErrorCode: hl7ErrorCodes.messageAccepted, severity: 'W' });
    }
    return buildAck(msg, 'AA');
  };
}

/** The same guarantee for RIS that prefer HTTP: a CDA or an HL7 message in the body, stored before the answer. */
export function acceptHttpReport(deps: IntakeDeps, body: Buffer, remote?: string): { status: 202 | 400 | 409; inboxId: number; error?: string } {
  if (body.length === 0) throw new RejectedMessage('empty body: send the CDA document or the HL7 message');
  const isXml = looksLikeXml(body);
  let controlId: string | undefined;
  let sender: string | undefined;
  let messageType = 'CDA';
  if (!isXml) {
    try {
      const msg = parseHl7Message(body);
      controlId = msg.controlId || undefined;
      sender = `${msg.header.get(3)}^${msg.header.get(4)}`;
      messageType = `${msg.messageType}^${msg.triggerEvent}`;
    } catch {
      // stored as is below, then rejected with the parser's reason
    }
  }
  const recorded = deps.inbox.record({ channel: 'http', raw: body, remote, sender: sender ?? remote, controlId, messageType });
  if (recorded.kind === 'duplicate') return { status: 202, inboxId: recorded.original.id };
  if (recorded.kind === 'conflict') return { status: 409, inboxId: recorded.row.id, error: recorded.row.error ?? undefined };
  try {
    const work = interpretInboxRow({ channel: 'http', raw: body });
    if (work.kind === 'report') {
      if (work.report.action !== 'withdraw' && work.report.action !== 'refresh' && !work.report.studyInstanceUid) {
        throw new RejectedMessage('the report names no Study Instance UID (CDA documentationOf/serviceEvent/id)');
      }
      const problem = checkReportLimits(work.report);
      if (problem) throw new RejectedMessage(`${problem.location}: ${problem.text}: the DMP would refuse it`);
      if (work.report.studyInstanceUid) deps.inbox.setStudy(recorded.row.id, work.report.studyInstanceUid);
    }
  } catch (err) {
    deps.inbox.markRejected(recorded.row.id, (err as Error).message);
    return { status: 400, inboxId: recorded.row.id, error: (err as Error).message };
  }
  deps.onStored?.();
  return { status: 202, inboxId: recorded.row.id };
}

function ackError(err: unknown): { text: string; location?: string; hl7ErrorCode?: string } {
  if (err instanceof Hl7Error) return { text: err.text, location: err.location, hl7ErrorCode: err.hl7ErrorCode };
  return { text: (err as Error).message, hl7ErrorCode: hl7ErrorCodes.applicationInternalError };
}
