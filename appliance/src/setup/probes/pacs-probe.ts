import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import type { DicomJson, RetrieveTarget } from '../../dicom/model.js';
import { createPacsBridge, PacsError, type PacsBridge, type StoreScp } from '../../dimse/index.js';
import { MAX_ADMISSION_MS } from '../../dimse/scp.js';
import { statusHex } from '../../dimse/errors.js';
import { addressesOf, localAddressFacing } from '../../dimse/peer-addresses.js';
import { elapsedMs, type ProbeOutcome } from './outcome.js';

export interface PacsPeer {
  aeTitle: string;
  host: string;
  port: number;
}

type BridgeSettings = Pick<Config['dimse'], 'connectTimeoutMs' | 'responseTimeoutMs' | 'maxPduLength'>;

export type AssociationReason = 'unreachable' | 'timeout' | 'pacs-refused-calling-ae' | 'pacs-refused-called-ae' | 'association-rejected';
export type EchoReason = AssociationReason | 'echo-failed' | 'invalid-settings';

function bridgeTo(pacs: PacsPeer, boxAeTitle: string, dimse: BridgeSettings, retrieve: 'C-GET' | 'C-MOVE' = 'C-GET', scp?: StoreScp): PacsBridge {
  return createPacsBridge({ ...pacs, retrieve, dicomwebUrl: '', maxAssociations: 2 }, { aeTitle: boxAeTitle, ...(scp ? { scp } : {}) }, dimse);
}

/** The bridge's error with what a log needs: DIMSE status in hex, errno code, A-ASSOCIATE-RJ fields. */
export function technicalDetail(err: unknown): string {
  if (!(err instanceof PacsError)) return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const parts = [err.message];
  if (err.details.status !== undefined) parts.push(`DIMSE status ${statusHex(err.details.status)}`);
  const cause = err.details.cause as { code?: string; result?: number; source?: number; reason?: number } | undefined;
  if (cause?.code) parts.push(`errno ${cause.code}`);
  if (err.kind === 'association-rejected' && cause) parts.push(`A-ASSOCIATE-RJ result ${cause.result}, source ${cause.source}, reason ${cause.reason}`);
  return parts.join('; ');
}

/** Failures to reach the PACS at all, whatever the operation (PS3.8 §9.3.4 for the rejections). */
export function associationReason(err: unknown): AssociationReason | undefined {
  if (!(err instanceof PacsError)) return undefined;
  if (err.kind === 'unreachable' || err.kind === 'timeout') return err.kind;
  if (err.kind !== 'association-rejected') return undefined;
  const rj = err.details.cause as { source?: number; reason?: number } | undefined;
  if (rj?.source === 1 && rj.reason === 3) return 'pacs-refused-calling-ae';
  if (rj?.source === 1 && rj.reason === 7) return 'pacs-refused-called-ae';
  return 'association-rejected';
}

function invalidSettings(pacs: PacsPeer, boxAeTitle: string): string | undefined {
  const ae = /^[\x20-\x5b\x5d-\x7e]{1,16}$/;
  if (!ae.test(pacs.aeTitle) || !pacs.aeTitle.trim()) return `PACS AE title "${pacs.aeTitle}" is not 1-16 printable characters`;
  if (!ae.test(boxAeTitle) || !boxAeTitle.trim()) return `box AE title "${boxAeTitle}" is not 1-16 printable characters`;
  if (!Number.isInteger(pacs.port) || pacs.port < 1 || pacs.port > 65535) return `port ${pacs.port} is not 1-65535`;
  if (!pacs.host.trim() || pacs.host.length > 253) return 'no PACS host';
  return undefined;
}

/** C-ECHO from the box (its draft AE title) to the PACS. */
export async function echoPacs(pacs: PacsPeer, boxAeTitle: string, dimse: BridgeSettings): Promise<ProbeOutcome<EchoReason, { elapsedMs: number }>> {
  const invalid = invalidSettings(pacs, boxAeTitle);
  if (invalid) return { ok: false, reason: 'invalid-settings', detail: invalid };
  const started = performance.now();
  try {
    await bridgeTo(pacs, boxAeTitle, dimse).echo();
    return { ok: true, facts: { elapsedMs: elapsedMs(started) } };
  } catch (err) {
    return { ok: false, reason: associationReason(err) ?? 'echo-failed', detail: technicalDetail(err), facts: { elapsedMs: elapsedMs(started) } };
  }
}

/** What to declare in the PACS for the box: its AE title, the address the PACS reaches it at, its DICOM port. */
export async function boxDeclaration(input: { boxAeTitle: string; dimsePort: number; pacsHost: string }): Promise<{ aeTitle: string; address: string; port: number; addressDetail?: string }> {
  try {
    return { aeTitle: input.boxAeTitle, address: await localAddressFacing(input.pacsHost), port: input.dimsePort };
  } catch (err) {
    return { aeTitle: input.boxAeTitle, address: 'unknown', port: input.dimsePort, addressDetail: (err as Error).message };
  }
}

export type ReverseReason =
  | AssociationReason
  | 'invalid-settings'
  | 'no-study'
  | 'no-instance'
  | 'find-failed'
  | 'unknown-move-destination'
  | 'move-nothing-arrived'
  | 'move-refused-by-box'
  | 'move-failed'
  | 'get-refused'
  | 'get-failed'
  | 'internal-error';

export interface MethodOutcome {
  ok: boolean;
  reason?: ReverseReason;
  detail: string;
  elapsedMs: number;
}

export interface ReverseFacts {
  /** As the PACS returned them (the patient's name in its DICOM JSON "Alphabetic" form). */
  study: { studyInstanceUid: string; studyDate?: string; modalities?: string[]; patientName?: string; patientId?: string };
  instance: { seriesInstanceUid: string; sopInstanceUid: string; sopClassUid?: string };
  get: MethodOutcome;
  move: MethodOutcome;
  chosen: 'C-GET' | 'C-MOVE' | 'none';
  choice: 'get-works' | 'get-refused-move-works' | 'get-failed-move-works' | 'nothing-works';
  elapsedMs: number;
}

export interface ReverseInput {
  pacs: PacsPeer;
  boxAeTitle: string;
  /** The box's running SCP (the C-MOVE destination); absent: C-MOVE cannot be tested. */
  scp?: StoreScp;
  dimse: BridgeSettings;
  dataDir: string;
}

async function first(matches: AsyncIterable<DicomJson>): Promise<DicomJson | undefined> {
  // Returning from the loop ends the generator: the bridge sends C-CANCEL for the rest and releases the association.
  for await (const match of matches) return match;
  return undefined;
}

const text = (json: DicomJson | undefined, tag: string): string | undefined => {
  const v = json?.[tag]?.Value?.[0];
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && 'Alphabetic' in v) return String((v as { Alphabetic: unknown }).Alphabetic);
  return undefined;
};

function retrieveOutcome(err: unknown, started: number, method: 'get' | 'move'): MethodOutcome {
  const e = err instanceof PacsError ? err : undefined;
  const status = e?.details.status;
  let reason: ReverseReason = associationReason(err) ?? (method === 'get' ? 'get-failed' : 'move-failed');
  if (method === 'get' && (e?.kind === 'refused' || e?.kind === 'association-aborted' || status === 0x0124)) reason = 'get-refused';
  if (method === 'move' && e?.kind === 'unknown-move-destination') reason = 'unknown-move-destination';
  // A701/A702: the PACS could not open its own association to the destination (PS3.4 C.4.2.1.5).
  if (method === 'move' && (status === 0xa701 || status === 0xa702)) reason = 'move-nothing-arrived';
  // Only 0xA801 is certain; Orthanc answers 0xC000 alike when it cannot connect to the address declared for the box.
  const doubt = reason === 'unknown-move-destination' && status !== 0xa801 ? ' (not 0xA801: or the PACS could not connect to the address and port declared for the box)' : '';
  return { ok: false, reason, detail: `${technicalDetail(err)}${doubt}`, elapsedMs: elapsedMs(started) };
}

async function tryGet(bridge: PacsBridge, target: RetrieveTarget, outDir: string, sopClassUid?: string): Promise<MethodOutcome> {
  const started = performance.now();
  try {
    const r = await bridge.retrieve(target, { outDir, ...(sopClassUid ? { sopClassUids: [sopClassUid] } : {}) });
    if (r.instances > 0) return { ok: true, detail: `${r.instances} instance(s) received`, elapsedMs: elapsedMs(started) };
    return { ok: false, reason: 'get-failed', detail: `the PACS answered success but sent nothing (completed ${r.completed}, failed ${r.failed})`, elapsedMs: elapsedMs(started) };
  } catch (err) {
    return retrieveOutcome(err, started, 'get');
  }
}

async function tryMove(input: ReverseInput, target: RetrieveTarget, outDir: string): Promise<MethodOutcome> {
  const started = performance.now();
  const { scp, pacs, boxAeTitle, dimse } = input;
  if (!scp) return { ok: false, reason: 'move-failed', detail: "the box's DICOM SCP is not running: there is no C-MOVE destination", elapsedMs: 0 };
  const addresses = await addressesOf(pacs.host).catch(() => [] as string[]);
  const ttlMs = Math.min(MAX_ADMISSION_MS, 2 * dimse.connectTimeoutMs + 3 * dimse.responseTimeoutMs);
  const before = scp.lastRefusal();
  const revoke = scp.admitTemporarily({ callingAeTitle: pacs.aeTitle, addresses, calledAeTitle: boxAeTitle, ttlMs });
  // The draft's AE title as the move destination, the running SCP receiving.
  const destination: StoreScp = {
    aeTitle: boxAeTitle,
    port: scp.port,
    expectMove: (e) => scp.expectMove(e),
    admitTemporarily: (a) => scp.admitTemporarily(a),
    lastRefusal: () => scp.lastRefusal(),
    close: () => Promise.resolve(),
  };
  let outcome: MethodOutcome;
  let arrived = 0;
  try {
    const r = await bridgeTo(pacs, boxAeTitle, dimse, 'C-MOVE', destination).retrieve(target, { outDir });
    arrived = r.instances;
    outcome = arrived > 0
      ? { ok: true, detail: `${arrived} instance(s) received on the box's SCP (port ${scp.port})`, elapsedMs: elapsedMs(started) }
      : { ok: false, reason: 'move-nothing-arrived', detail: `the PACS reports ${r.completed} sent, ${r.failed} failed, but nothing reached the box's SCP (port ${scp.port}): it sent them elsewhere`, elapsedMs: elapsedMs(started) };
  } catch (err) {
    outcome = retrieveOutcome(err, started, 'move');
  } finally {
    revoke();
  }
  const refusal = scp.lastRefusal();
  if (arrived === 0 && refusal && refusal !== before) {
    const who = `${refusal.address}${refusal.callingAeTitle ? ` calling itself "${refusal.callingAeTitle}"` : ''}${refusal.calledAeTitle ? ` and the box "${refusal.calledAeTitle}"` : ''}`;
    return { ok: false, reason: 'move-refused-by-box', detail: `the box's SCP refused ${who}: ${refusal.reason} (expected "${pacs.aeTitle}" from ${addresses.join(', ') || pacs.host}); PACS: ${outcome.detail}`, elapsedMs: outcome.elapsedMs };
  }
  return outcome;
}

/** PACS → box: find one instance, then retrieve it by C-GET and by C-MOVE; says which method the box should use. */
export async function reverseTest(input: ReverseInput): Promise<ProbeOutcome<ReverseReason, ReverseFacts>> {
  const invalid = invalidSettings(input.pacs, input.boxAeTitle);
  if (invalid) return { ok: false, reason: 'invalid-settings', detail: invalid };
  const started = performance.now();
  const bridge = bridgeTo(input.pacs, input.boxAeTitle, input.dimse);
  const facts: Partial<ReverseFacts> = {};
  try {
    const study = await first(bridge.find({ level: 'STUDY', keys: { StudyInstanceUID: '', StudyDate: '', ModalitiesInStudy: '', PatientName: '', PatientID: '' } }));
    const studyInstanceUid = text(study, '0020000D');
    if (!study) return { ok: false, reason: 'no-study', detail: 'the study-level C-FIND matched nothing: the PACS holds no study to test with' };
    if (!studyInstanceUid) return { ok: false, reason: 'find-failed', detail: 'the PACS answered a study without Study Instance UID' };
    const modalities = study['00080061']?.Value?.filter((m): m is string => typeof m === 'string');
    facts.study = { studyInstanceUid, studyDate: text(study, '00080020'), modalities, patientName: text(study, '00100010'), patientId: text(study, '00100020') };
    const series = await first(bridge.find({ level: 'SERIES', keys: { StudyInstanceUID: studyInstanceUid, SeriesInstanceUID: '' } }));
    const seriesInstanceUid = text(series, '0020000E');
    const image = seriesInstanceUid
      ? await first(bridge.find({ level: 'IMAGE', keys: { StudyInstanceUID: studyInstanceUid, SeriesInstanceUID: seriesInstanceUid, SOPInstanceUID: '', SOPClassUID: '' } }))
      : undefined;
    const sopInstanceUid = text(image, '00080018');
    if (!seriesInstanceUid || !sopInstanceUid) return { ok: false, reason: 'no-instance', detail: `study ${studyInstanceUid}: no series or instance found at SERIES/IMAGE level`, facts };
    facts.instance = { seriesInstanceUid, sopInstanceUid, sopClassUid: text(image, '00080016') };
  } catch (err) {
    return { ok: false, reason: associationReason(err) ?? 'find-failed', detail: technicalDetail(err), facts };
  }
  const { study, instance } = facts as Pick<ReverseFacts, 'study' | 'instance'>;
  const target: RetrieveTarget = { level: 'IMAGE', studyInstanceUid: study.studyInstanceUid, seriesInstanceUid: instance.seriesInstanceUid, sopInstanceUid: instance.sopInstanceUid };
  let work: string;
  try {
    await mkdir(join(input.dataDir, 'tmp'), { recursive: true });
    work = await mkdtemp(join(input.dataDir, 'tmp', 'setup-reverse-'));
  } catch (err) {
    return { ok: false, reason: 'internal-error', detail: `cannot make a folder for the test instance under ${input.dataDir}: ${(err as Error).message}`, facts };
  }
  try {
    const get = await tryGet(bridge, target, join(work, 'get'), instance.sopClassUid);
    const move = await tryMove(input, target, join(work, 'move'));
    const chosen = get.ok ? 'C-GET' : move.ok ? 'C-MOVE' : 'none';
    const choice = get.ok ? 'get-works' : move.ok ? (get.reason === 'get-refused' ? 'get-refused-move-works' : 'get-failed-move-works') : 'nothing-works';
    const all: ReverseFacts = { study, instance, get, move, chosen, choice, elapsedMs: elapsedMs(started) };
    if (chosen === 'none') return { ok: false, reason: move.reason ?? 'move-failed', detail: `C-GET: ${get.detail} | C-MOVE: ${move.detail}`, facts: all };
    // C-GET suffices to retrieve, but the PACS still needs to reach the box to push rejection notes (IOCM).
    const warnings = move.ok ? [] : [{ reason: move.reason ?? 'move-failed', detail: move.detail }];
    return { ok: true, facts: all, ...(warnings.length ? { warnings } : {}) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
