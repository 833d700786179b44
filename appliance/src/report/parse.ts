/**
 * From an HL7 v2 message (ORU^R01, MDM^T02/T10/T04, OMI^O23) or a CDA R2 report to the ReportEvent the
 * source pipeline acts on. Values and rules: ci-sis-imaging.md §5 and the CI-SIS profile "Transmission de
 * document(s) CDA en HL7v2" (ORC-1, OBX-11 and the MDM trigger must agree, else the message is refused).
 * Unlike the ANS demonstrator (ans-reference-drimbox.md §6), nothing is read by offset: a thin PID, a bare
 * base64 OBX-5, a missing IPP or ORC are all read, and every refusal names the segment and field at fault.
 */
import { extractCda, isDicomUid } from '../cda/extract.js';
import type { CdaHeader } from '../cda/types.js';
import { CdaError } from '../cda/xml.js';
import {
  documentType,
  findDocumentObx,
  Findings,
  readDmpFlags,
  readDocumentIds,
  readEncapsulatedDocument,
  readOrder,
  readPatient,
  readSender,
  type Finding,
} from '../hl7/cisis.js';
import { Hl7Error, hl7ErrorCodes } from '../hl7/errors.js';
import type { Hl7Message, Hl7Segment } from '../hl7/message.js';
import { parseHl7Message } from '../hl7/parse.js';
import type { CodedValue, DmpFlags, Organisation, Patient, ReportAction, ReportEvent } from './types.js';

export { extractCda } from '../cda/extract.js';
export type { CdaHeader, CdaServiceEvent } from '../cda/types.js';

/** Why a report cannot be acted on: AE (fix the content) or AR (refused as a whole), with the HL7 ERR location. */
export class ReportError extends Hl7Error {
  constructor(code: 'AE' | 'AR', text: string, location?: string, hl7ErrorCode: string = hl7ErrorCodes.dataTypeError) {
    super(code, text, location, hl7ErrorCode);
    this.name = 'ReportError';
  }

  get code(): 'AE' | 'AR' {
    return this.ackCode;
  }
}

export interface ReportInspection {
  /** Everything that could be read, even when there are errors. */
  report: ReportEvent;
  /** What prevents acting on the message; reportFromHl7 throws the first one. */
  errors: ReportError[];
  cda: 'present' | 'absent' | 'unreadable';
}

const defaultDmpFlags: DmpFlags = { sendToDmp: true, maskedFromProfessionals: false, invisibleToPatient: false, invisibleToLegalRepresentatives: false };

/** Reads an HL7 message as a report event. Throws ReportError (AE/AR with location) when it cannot be acted on. */
export function reportFromHl7(msg: Hl7Message): ReportEvent {
  const inspection = inspectHl7(msg);
  if (inspection.errors.length) throw inspection.errors[0]!;
  return inspection.report;
}

/** A CDA posted directly (HTTP trigger): publish, or replace when it has a relatedDocument RPLC. */
export function reportFromCda(xml: string | Buffer): ReportEvent {
  let cda: CdaHeader;
  try {
    cda = extractCda(xml);
  } catch (err) {
    if (err instanceof CdaError) throw new ReportError('AE', err.message, undefined, hl7ErrorCodes.dataTypeError);
    throw err;
  }
  const action: ReportAction = cda.replaces ? 'replace' : 'publish';
  const report = buildReport({ action, trigger: 'CDA', patient: cda.patient, cda, dmp: { ...defaultDmpFlags }, warnings: [...cda.warnings] });
  const errors: ReportError[] = [];
  requireCommon(report, errors, undefined, undefined);
  if (errors.length) throw errors[0]!;
  return report;
}

/** An HL7 message (.hl7/.er7, CR or LF separated) or a CDA document, told apart by their first character. */
export function reportFromBytes(bytes: Buffer): ReportEvent {
  return looksLikeXml(bytes) ? reportFromCda(bytes) : reportFromHl7(parseHl7Message(bytes));
}

export function looksLikeXml(bytes: Buffer): boolean {
  const head = bytes.subarray(0, 64).toString('latin1').replace(/^(\u00EF\u00BB\u00BF|\u00FF\u00FE|\u00FE\u00FF)/, '').trimStart();
  return head.startsWith('<') || (bytes[0] === 0x3c && bytes[1] === 0x00) || (bytes[0] === 0x00 && bytes[1] === 0x3c);
}

/** Everything readable from the message, and every reason it cannot be acted on (never throws on content). */
export function inspectHl7(msg: Hl7Message): ReportInspection {
  const findings = new Findings();
  const kind = messageKind(msg, findings);
  const pid = msg.segment('PID');
  const pidPatient = pid ? readPatient(pid, findings) : {};
  if (!pid) findings.warn('no PID segment: the patient comes from the CDA recordTarget');
  const order = readOrder(msg, findings, isDicomUid);
  const docObx = findDocumentObx(msg);
  const action = decideAction(msg, kind, docObx, order.orderControl, findings);
  const dmp = kind === 'OMI' ? { ...defaultDmpFlags } : readDmpFlags(msg, findings, kind !== undefined);
  const txa = readDocumentIds(msg);

  // The CDA: required to publish or replace; a withdrawal can do without it (TXA-12 or the exam ids).
  const docFindings = new Findings();
  let cda: CdaHeader | undefined;
  let cdaState: ReportInspection['cda'] = 'absent';
  if (docObx) {
    const content = readEncapsulatedDocument(docObx, docFindings);
    if (content !== undefined) {
      try {
        cda = extractCda(content);
        cdaState = 'present';
      } catch (err) {
        if (!(err instanceof CdaError)) throw err;
        docFindings.error(`OBX-5 does not carry a readable CDA: ${err.message}`, docObx.location(5), hl7ErrorCodes.dataTypeError);
      }
    }
    if (docFindings.errors.length) cdaState = 'unreadable';
  } else if (kind === 'ORU' || kind === 'MDM') {
    docFindings.error('no OBX of type ED carries the document', 'OBX^1', hl7ErrorCodes.segmentSequence);
  }
  if (action === 'withdraw' || kind === 'OMI') {
    docFindings.errors.forEach((e) => findings.warn(`${e.location ? e.location + ': ' : ''}${e.text} (not needed for a withdrawal)`));
  } else {
    findings.errors.push(...docFindings.errors);
  }
  findings.warnings.push(...docFindings.warnings);

  const errors: ReportError[] = findings.errors.map(toReportError);
  const patient = mergePatient(pidPatient, cda?.patient, errors, pid);
  const sender = readSender(msg);
  const report = buildReport({
    action: action ?? 'publish',
    trigger: msg.event,
    messageControlId: msg.controlId,
    patient,
    cda,
    order,
    txa,
    documentObx: docObx,
    sender,
    dmp,
    warnings: [...msg.warnings, ...findings.warnings, ...(cda?.warnings ?? [])],
  });
  if (kind !== undefined && action !== undefined) requireCommon(report, errors, pid, docObx);
  return { report, errors, cda: cdaState };
}

type Kind = 'ORU' | 'MDM' | 'OMI';

function messageKind(msg: Hl7Message, findings: Findings): Kind | undefined {
  const supported: Record<string, Kind> = { 'ORU^R01': 'ORU', 'MDM^T02': 'MDM', 'MDM^T10': 'MDM', 'MDM^T04': 'MDM', 'OMI^O23': 'OMI' };
  const kind = supported[msg.event];
  if (kind) return kind;
  const typeKnown = ['ORU', 'MDM', 'OMI'].includes(msg.messageType);
  findings.error(
    `${msg.event} is not handled: the box takes ORU^R01, MDM^T02/T10/T04 and OMI^O23`,
    'MSH^1^9',
    typeKnown ? hl7ErrorCodes.unsupportedEventCode : hl7ErrorCodes.unsupportedMessageType,
    'AR',
  );
  return undefined;
}

const obx11Actions: Record<string, ReportAction> = { F: 'publish', C: 'replace', D: 'withdraw' };
const orc1Actions: Record<string, ReportAction> = { NW: 'publish', RO: 'replace', XO: 'replace', CA: 'withdraw', OC: 'withdraw' };
const mdmActions: Record<string, ReportAction> = { T02: 'publish', T10: 'replace', T04: 'withdraw' };

/** ORU: OBX-11 F/C/D; MDM: the trigger; both must agree with ORC-1 (NW/RO/CA) and with each other. OMI: CA/OC withdraw, else refresh. */
function decideAction(msg: Hl7Message, kind: Kind | undefined, docObx: Hl7Segment | undefined, orderControl: string, findings: Findings): ReportAction | undefined {
  const orc = msg.segment('ORC');
  if (kind === 'OMI') {
    // A cancelled order withdraws; any other order event says the exam changed (ANS sample: ORC-1 NW, ORC-5 SC,
    // "Modification Examen Imagerie"): its manifest is checked against the PACS again.
    if (orc1Actions[orderControl] === 'withdraw') return 'withdraw';
    if (!orderControl) findings.warn('OMI^O23 without ORC-1: taken as a change to the exam');
    return 'refresh';
  }
  if (!kind) return undefined;
  const status = docObx?.get(11).trim().toUpperCase() ?? '';
  const fromObx = obx11Actions[status];
  if (status && !fromObx) {
    findings.error(`OBX-11 '${status}' is not a document action (F publish, C replace, D delete)`, docObx!.location(11), hl7ErrorCodes.tableValueNotFound);
  }
  const fromOrc = orc1Actions[orderControl];
  if (orderControl && !fromOrc) findings.warn(`ORC-1 '${orderControl}' carries no document action: OBX-11 decides`);

  let action: ReportAction | undefined;
  if (kind === 'MDM') {
    action = mdmActions[msg.triggerEvent];
    if (fromObx && fromObx !== action) {
      findings.error(`OBX-11 '${status}' contradicts ${msg.event} (${action})`, docObx!.location(11), hl7ErrorCodes.tableValueNotFound);
    }
  } else {
    action = fromObx ?? fromOrc;
    if (!action && docObx && !status) findings.error('OBX-11 is empty: F, C or D expected', docObx.location(11), hl7ErrorCodes.requiredFieldMissing);
  }
  if (action && fromOrc && fromOrc !== action) {
    findings.error(`ORC-1 '${orderControl}' contradicts the requested action (${action})`, orc!.location(1), hl7ErrorCodes.tableValueNotFound);
  }
  return action;
}

/** PID first, the CDA recordTarget for whatever PID lacks; two different INS is an identity error. */
function mergePatient(fromPid: Patient, fromCda: Patient | undefined, errors: ReportError[], pid: Hl7Segment | undefined): Patient {
  if (!fromCda) return fromPid;
  if (fromPid.ins && fromCda.ins && (fromPid.ins.value !== fromCda.ins.value || fromPid.ins.issuerOid !== fromCda.ins.issuerOid)) {
    errors.push(new ReportError('AE', 'the INS in PID-3 differs from the INS of the CDA recordTarget', pid?.location(3) ?? 'PID^1^3', hl7ErrorCodes.dataTypeError));
  }
  const merged: Patient = { ...fromCda };
  for (const [key, value] of Object.entries(fromPid) as [keyof Patient, Patient[keyof Patient]][]) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

interface Parts {
  action: ReportAction;
  trigger: string;
  messageControlId?: string;
  patient: Patient;
  cda?: CdaHeader;
  order?: ReturnType<typeof readOrder>;
  txa?: { id?: string; replaces?: string };
  documentObx?: Hl7Segment;
  sender?: ReportEvent['sender'];
  dmp: DmpFlags;
  warnings: string[];
}

function buildReport(p: Parts): ReportEvent {
  const { cda, order, txa } = p;
  const warnings = p.warnings;
  const events = cda?.serviceEvents ?? [];
  const studyUids = [...new Set(events.map((e) => e.studyInstanceUid).filter((u): u is string => u !== undefined))];
  const mainEvent = events.find((e) => e.studyInstanceUid) ?? events[0];
  if (order?.studyInstanceUid && studyUids.length && !studyUids.includes(order.studyInstanceUid)) {
    warnings.push('the Study Instance UID of IPC/ZDS is not among the CDA serviceEvent ids: the CDA is used');
  }
  const studyInstanceUid = studyUids[0] ?? order?.studyInstanceUid;
  if (cda?.accession && order?.accession && cda.accession.value !== order.accession.value) {
    warnings.push('the accession number of OBR-18/IPC-1 differs from the CDA ps3-20:accessionNumber: the CDA is used');
  }
  if (cda?.documentId && txa?.id && cda.documentId !== txa.id) warnings.push('TXA-12 differs from the CDA id: the CDA id is used');
  if (cda?.replaces && txa?.replaces && cda.replaces !== txa.replaces) warnings.push('TXA-13 differs from the CDA relatedDocument RPLC: TXA-13 is used');
  if (p.action === 'publish' && cda?.replaces && p.trigger !== 'CDA') warnings.push('the CDA has a relatedDocument RPLC but the message asks for a first publication');

  const modalities = uniqueCodes([...events.flatMap((e) => e.modalities), ...(order?.modality ? [order.modality] : [])]);
  const report: ReportEvent = {
    action: p.action,
    trigger: p.trigger,
    ...(p.messageControlId ? { messageControlId: p.messageControlId } : {}),
    patient: p.patient,
    ...(studyInstanceUid ? { studyInstanceUid } : {}),
    ...(studyUids.length > 1 ? { studyInstanceUids: studyUids } : {}),
    ...optional('accession', cda?.accession ?? order?.accession),
    ...optional('placerOrder', cda?.placerOrder ?? order?.placerOrder),
    ...optional('fillerOrder', order?.fillerOrder),
    modalities,
    regions: uniqueCodes(events.flatMap((e) => e.regions)),
    ...optional('examDescription', mainEvent?.code?.display ?? order?.description),
    ...optional('examStart', mainEvent?.start),
    ...optional('examEnd', mainEvent?.end),
    document: dropUndefined({
      id: cda?.documentId ?? txa?.id,
      setId: cda?.setId,
      version: cda?.version,
      replaces: txa?.replaces ?? cda?.replaces,
      title: cda?.title,
      effectiveTime: cda?.effectiveTime,
      typeCode: cda?.typeCode ?? (p.documentObx ? documentType(p.documentObx) : undefined),
      confidentialityCode: cda?.confidentialityCode,
    }),
    ...optional('legalAuthenticator', cda?.legalAuthenticator),
    ...optional('author', cda?.author),
    ...optional('sender', p.sender),
    ...optional('organisation', producingOrganisation(p.sender?.organisation, cda)),
    dmp: p.dmp,
  };
  if (warnings.length) report.warnings = warnings;
  return report;
}

/** PRT-8 of the sender (FINESS used to pick the DMP certificate), else the CDA performer, legal authenticator, custodian, author. */
function producingOrganisation(fromPrt: Organisation | undefined, cda: CdaHeader | undefined): Organisation | undefined {
  if (fromPrt?.id) return fromPrt;
  const performer = cda?.serviceEvents.find((e) => e.performer?.organisation?.id)?.performer?.organisation;
  return performer ?? cda?.legalAuthenticator?.organisation ?? cda?.custodian ?? cda?.author?.organisation ?? fromPrt;
}

/** What every action needs: the INS; a Study Instance UID to publish or replace; some id of what to withdraw. */
function requireCommon(report: ReportEvent, errors: ReportError[], pid: Hl7Segment | undefined, docObx: Hl7Segment | undefined): void {
  const hl7 = report.trigger !== 'CDA';
  if (!report.patient.ins) {
    errors.push(
      new ReportError(
        'AE',
        hl7 ? 'no INS: PID-3 has no repetition with an INS OID, and the CDA recordTarget has none' : 'no INS in recordTarget/patientRole/id (root 1.2.250.1.213.1.4.8 to .11)',
        hl7 ? (pid?.location(3) ?? 'PID^1^3') : undefined,
        hl7ErrorCodes.requiredFieldMissing,
      ),
    );
  }
  if (report.action === 'refresh') {
    if (!report.studyInstanceUid && !report.accession) {
      errors.push(new ReportError('AE', 'nothing names the changed exam: no Study Instance UID (IPC-3, ZDS-1) or accession number (IPC-1, OBR-18)', hl7 ? 'IPC^1^3' : undefined, hl7ErrorCodes.requiredFieldMissing));
    }
    return;
  }
  if (report.action === 'withdraw') {
    if (!report.document.id && !report.studyInstanceUid && !report.accession) {
      errors.push(new ReportError('AE', 'nothing identifies what to withdraw: no document id (TXA-12 or CDA), Study Instance UID or accession number', hl7 ? 'TXA^1^12' : undefined, hl7ErrorCodes.requiredFieldMissing));
    }
    return;
  }
  const alreadyRefused = errors.some((e) => docObx && e.location?.startsWith(docObx.location(5)));
  if (!report.studyInstanceUid && !alreadyRefused) {
    errors.push(
      new ReportError(
        'AE',
        'the CDA has no documentationOf/serviceEvent/id: the Study Instance UID of the exam is required',
        hl7 ? (docObx?.location(5) ?? 'OBX^1^5') : undefined,
        hl7ErrorCodes.requiredFieldMissing,
      ),
    );
  }
}

function toReportError(f: Finding): ReportError {
  return new ReportError(f.ackCode, f.text, f.location, f.hl7ErrorCode);
}

function uniqueCodes(codes: CodedValue[]): CodedValue[] {
  const seen = new Set<string>();
  return codes.filter((c) => {
    const key = `${c.scheme}|${c.code}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function dropUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}
