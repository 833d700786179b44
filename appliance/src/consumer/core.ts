import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { chooseSituation, SessionManager, tokenUsable, type AuthenticatedSession, type PortalUser, type Session } from '../auth/session/index.js';
import type { PscClient } from '../auth/psc/index.js';
import type { Signer } from '../auth/signer/signer.js';
import type { Whitelist } from '../auth/whitelist/index.js';
import type { KosManifest } from '../dicom/kos/index.js';
import type { DicomwebService } from '../dicomweb/index.js';
import type { PacsBridge } from '../dimse/types.js';
import { createLogger, type Logger } from '../log/logger.js';
import type { AuditEvent } from '../store/audit.js';
import { cacheIndexTransaction, ConsumerCacheIndex, ConsumerMetadataCache } from '../store/consumer-cache.js';
import { ConsumerSessionTable, type PatientRow, type StudyRow } from '../store/consumer-sessions.js';
import { ContextCallStats } from '../store/consumer-stats.js';
import type { Db } from '../store/database.js';
import type { VihfSubject, XdsSubmissionContext } from '../xds/index.js';
import { ImageCache } from './cache/image-cache.js';
import type { ContextCall } from './context-call.js';
import type { DmpConsumerPort } from './dmp.js';
import type { ExamSummary } from './exams.js';
import type { Ins } from './ins.js';
import { JobRegistry } from './jobs.js';
import { createLocalAccess, createLocalDicomweb } from './local-dicomweb.js';
import { traitsFromContext, type OpenedPatient, type PatientTraits } from './patients.js';
import { StudyLocks } from './retrieve.js';
import { createSourceClient } from './source-client.js';
import type { SourceGet } from './source-transport.js';
import { consumerVihfSubject } from './vihf-subject.js';

/** A study a professional opened in the session, as the portal shows it. */
export type OpenedStudy = StudyRow;

type AuditSink = { record(event: AuditEvent): number };

export interface ConsumerSettings {
  /** Origin browsers reach the portal at, e.g. https://db1.example.fr (the portal is under /portal). */
  publicBaseUrl: string;
  cacheDir: string;
  cacheMaxBytes: number;
  /** Temp files (coerced copies, DICOMweb spools), on the data volume. */
  tempDir: string;
  allowInsecureSourceHosts: boolean;
  sourcePorts?: readonly number[];
  sourcePathPrefix?: string;
  sessionTtlMs: number;
  sessionIdleMs: number;
  secureCookies: boolean;
  contextTtlMs: number;
  sourceConcurrency: number;
  sourceResponseTimeoutMs: number;
  sourceIdleTimeoutMs: number;
  viewerUrlTemplate: string;
  /** Associations an import uses at once (bounded by the PACS's own association limit). */
  importAssociations: number;
}

export interface ConsumerDeps {
  db: Db;
  settings: ConsumerSettings;
  psc: PscClient;
  dmp: DmpConsumerPort;
  /** LPS identity, default structure and roles for the VIHF (xds contextFromConfig). */
  xdsContext: XdsSubmissionContext;
  whitelist: () => Whitelist | undefined;
  /** The practice's PACS (import). */
  bridge: PacsBridge;
  /** GETs to source DRIMboxes (give one with the box's client certificate for mutual TLS). */
  sourceGet?: SourceGet;
  log?: Logger;
  now?: () => number;
  /** Whether new long work may start (false while the box lets an update through). */
  admits?: () => boolean;
  /**
   * Direct mode (pkcs11.card.directMode): the signer of the professional's own CPS card for their VIHF, when they
   * logged in with it at the box and it is still in; undefined: the structure's signer (indirect mode).
   */
  directSigner?: (user: PortalUser) => Signer | undefined;
  /** The audit trail: every pull and import, who asked it, and whether the study came whole (store/audit.ts). */
  audit?: Pick<AuditSink, 'record'>;
}

export type Result<T> = { ok: true; value: T } | { ok: false; status: number; message: string; relogin?: boolean };

export const PORTAL = '/portal';
export const EXPIRED = 'votre connexion Pro Santé Connect a expiré : reconnectez-vous';

export function fail<T>(status: number, message: string, relogin = false): Result<T> {
  return { ok: false, status, message, ...(relogin ? { relogin } : {}) };
}

export function digest(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Only paths inside the portal are followed after login (no open redirect). */
export function safeReturnTo(value: string | undefined | null): string {
  // Printable ASCII only: a CR, LF or NUL in a Location header is refused by Node (it once answered 500).
  if (!value || !value.startsWith(`${PORTAL}/`) || value.startsWith('//') || /[^\x21-\x7e]|\\/.test(value) || value.includes('/../')) return `${PORTAL}/`;
  return value;
}

export interface ExamList {
  patient: OpenedPatient;
  exams: ExamSummary[];
}

export interface StudyView {
  study: StudyRow;
  manifest: KosManifest;
  patient?: OpenedPatient;
  cachedInstances: number;
  referencedInstances: number;
  viewerUrl: string;
  /** The patient's other exams opened in this session with images in the cache: the viewer shows one beside this one. */
  priors: { studyUid: string; contentDate?: string; viewerUrl: string }[];
}

/**
 * What the consumer's flows share: the session table and manager, the image cache, the jobs, the source client, and
 * the helpers that open a patient or make the VIHF of the professional at the screen.
 */
export async function createConsumerCore(deps: ConsumerDeps) {
  const { db, settings, psc, dmp, xdsContext } = deps;
  const log = deps.log ?? createLogger({ component: 'consumer' });
  const now = deps.now ?? Date.now;
  const base = settings.publicBaseUrl.replace(/\/+$/, '');
  const table = new ConsumerSessionTable(db);
  const stats = new ContextCallStats(db);
  const metadata = new ConsumerMetadataCache(db);
  const sessions = new SessionManager(
    table,
    { ttlMs: settings.sessionTtlMs, idleMs: settings.sessionIdleMs, cookie: { name: 'drimbox_portail', path: PORTAL, secure: settings.secureCookies } },
    now,
  );
  const cache = new ImageCache({ dir: settings.cacheDir, maxBytes: settings.cacheMaxBytes, index: new ConsumerCacheIndex(db), metadata, log, transaction: cacheIndexTransaction(db) });
  await cache.open();
  const jobs = new JobRegistry();
  const locks = new StudyLocks();
  const client = createSourceClient({
    ...(deps.sourceGet ? { get: deps.sourceGet } : {}),
    responseTimeoutMs: settings.sourceResponseTimeoutMs,
    idleTimeoutMs: settings.sourceIdleTimeoutMs,
  });
  const policy = { whitelist: deps.whitelist, allowInsecureSourceHosts: settings.allowInsecureSourceHosts, sourcePorts: settings.sourcePorts, sourcePathPrefix: settings.sourcePathPrefix };
  const dicomweb: DicomwebService = await createLocalDicomweb({
    cache,
    metadata,
    publicBaseUrl: `${base}${PORTAL}/dicom-web`,
    tempDir: join(settings.tempDir, 'dicomweb'),
    log,
  });
  const authorize = createLocalAccess(sessions, table);
  const sweeper = setInterval(() => {
    try {
      sessions.sweep();
      table.deleteExpiredContexts(now());
    } catch (err) {
      log.warn('consumer: session sweep failed', { error: err });
    }
  }, 60_000);
  sweeper.unref();

  const redirectUri = `${base}${PORTAL}/callback`;

  function patientOf(row: PatientRow): OpenedPatient {
    let traits: PatientTraits;
    try {
      traits = JSON.parse(row.traits) as PatientTraits;
    } catch {
      traits = { source: 'aucune' };
    }
    return {
      handle: row.handle,
      ins: { value: row.ins, oid: row.insOid },
      traits,
      ...(row.localId ? { localId: row.localId } : {}),
      ...(row.localIdIssuer ? { localIdIssuer: row.localIdIssuer } : {}),
      ...(row.situation ? { situation: row.situation } : {}),
      ...(row.consent !== undefined ? { consent: row.consent } : {}),
      origin: row.origin,
    };
  }

  function openPatient(session: Session, ins: Ins, traits: PatientTraits, call?: ContextCall): OpenedPatient {
    const row = table.addPatient({
      sessionId: session.id,
      handle: randomBytes(12).toString('base64url'),
      ins: ins.value,
      insOid: ins.oid,
      traits: JSON.stringify(traits),
      ...(call ? { localId: call.localId, localIdIssuer: call.localIdIssuer, consent: call.consent } : {}),
      ...(call?.situation ? { situation: call.situation } : {}),
      origin: call ? 'contexte' : 'recherche',
      openedAt: now(),
    });
    return patientOf(row);
  }

  /** The VIHF of the professional at the screen, and its signer in direct mode (their card). */
  function vihfFor(session: AuthenticatedSession, patient: OpenedPatient): { subject: VihfSubject; signer?: Signer } {
    const subject = consumerVihfSubject(session.user, chooseSituation(session.user, patient.situation), patient.ins, xdsContext);
    const signer = deps.directSigner?.(session.user);
    return signer ? { subject: { ...subject, mode: 'DIRECTE' }, signer } : { subject };
  }

  function applyResumeContext(session: Session): OpenedPatient | undefined {
    if (!session.resumeContext) return undefined;
    sessions.setResumeContext(session, undefined);
    try {
      const call = JSON.parse(session.resumeContext) as ContextCall;
      return openPatient(session, call.ins, traitsFromContext(call), call);
    } catch {
      return undefined;
    }
  }

  const patientUrl = (p: OpenedPatient) => `${PORTAL}/patient/${p.handle}`;

  /**
   * The session with a usable PSC access token: as it is while the token lives (or when it has none: a card login),
   * renewed by PSC's refresh grant once it has expired, undefined when that is not possible (a new login is needed).
   */
  async function withUsableToken(session: AuthenticatedSession): Promise<AuthenticatedSession | undefined> {
    if (!session.tokens || tokenUsable(session, now())) return session;
    if (!session.tokens.refreshToken) return undefined;
    try {
      const renewed = sessions.renewTokens(session, await psc.refresh(session.tokens.refreshToken, session.user.sub));
      log.info('consumer: PSC access token renewed', { subjectNameId: session.user.subjectNameId });
      return renewed;
    } catch (err) {
      log.warn('consumer: PSC refresh refused, a new login is needed', { error: err });
      return undefined;
    }
  }

  return {
    deps,
    settings,
    psc,
    dmp,
    log,
    now,
    base,
    table,
    stats,
    sessions,
    cache,
    jobs,
    locks,
    client,
    policy,
    dicomweb,
    authorize,
    sweeper,
    redirectUri,
    patientOf,
    openPatient,
    vihfFor,
    applyResumeContext,
    patientUrl,
    withUsableToken,
  };
}

export type ConsumerCore = Awaited<ReturnType<typeof createConsumerCore>>;
