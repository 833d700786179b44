import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  chooseSituation,
  isAuthenticated,
  portalUserFrom,
  SessionManager,
  tokenUsable,
  type AuthenticatedSession,
  type PortalUser,
  type Session,
} from '../auth/session/index.js';
import type { PscClient } from '../auth/psc/index.js';
import type { Whitelist } from '../auth/whitelist/index.js';
import type { KosManifest } from '../dicom/kos/index.js';
import type { DicomwebService } from '../dicomweb/index.js';
import type { PacsBridge } from '../dimse/types.js';
import { createLogger, type Logger } from '../log/logger.js';
import { ConsumerCacheIndex, ConsumerMetadataCache } from '../store/consumer-cache.js';
import { ConsumerSessionTable, type PatientRow, type StudyRow } from '../store/consumer-sessions.js';

/** A study a professional opened in the session, as the portal shows it. */
export type OpenedStudy = StudyRow;
import { ContextCallStats, modelStatCsv, type StatsRange } from '../store/consumer-stats.js';
import type { Db } from '../store/database.js';
import type { VihfSubject, XdsSubmissionContext } from '../xds/index.js';
import type { Signer } from '../auth/signer/signer.js';
import type { AuditEvent } from '../store/audit.js';

type AuditSink = { record(event: AuditEvent): number };
import { ImageCache } from './cache/image-cache.js';
import { parseContextCall, type ContextCall } from './context-call.js';
import { fetchKos, findImagingExams, type DmpConsumerPort } from './dmp.js';
import { examFromEntry, sortExams, traitsFromEntries, type ExamSummary } from './exams.js';
import { runImport } from './import.js';
import { insMatriculeProblem, normaliseInsOid, type Ins } from './ins.js';
import { JobRegistry, type Job, type JobProgress } from './jobs.js';
import { coverageOf, createLocalAccess, createLocalDicomweb } from './local-dicomweb.js';
import { traitsFromContext, traitsFromRegistry, type OpenedPatient, type PatientTraits } from './patients.js';
import { runRetrieve, StudyLocks } from './retrieve.js';
import { createSourceClient } from './source-client.js';
import { consumerVihfSubject } from './vihf-subject.js';

/**
 * The consumer DRIMbox (DESIGN.md "Consumer"): login through Pro Santé Connect, the RIS's contextual call, the
 * patient's imaging exams from the DMP, pulling a study from its source DRIMbox into the cache, the viewer's read
 * path, and the import into the local PACS. Everything a user opened is held by their session (SQLite rows keyed by
 * the session, jobs owned by it), never in state shared between users.
 */

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
  /** Fetch for source DRIMboxes (inject one with the box's client certificate for mTLS). */
  sourceFetch?: typeof fetch;
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

const PORTAL = '/portal';
const EXPIRED = 'votre connexion Pro Santé Connect a expiré : reconnectez-vous';

function fail<T>(status: number, message: string, relogin = false): Result<T> {
  return { ok: false, status, message, ...(relogin ? { relogin } : {}) };
}

function digest(value: string): string {
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
}

export async function createConsumerService(deps: ConsumerDeps) {
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
  const cache = new ImageCache({ dir: settings.cacheDir, maxBytes: settings.cacheMaxBytes, index: new ConsumerCacheIndex(db), metadata, log });
  await cache.open();
  const jobs = new JobRegistry();
  const locks = new StudyLocks();
  const client = createSourceClient({
    ...(deps.sourceFetch ? { fetch: deps.sourceFetch } : {}),
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

  return {
    sessions,
    cache,
    jobs,
    dicomweb,
    authorize,
    redirectUri,

    // ------------------------------------------------------------------------------------------------ login

    /** Starts a PSC login for the browser's session (created if needed); returns where to send the browser. */
    async startLogin(session: Session | undefined, returnTo: string | undefined): Promise<{ location: string; setCookie?: string }> {
      let setCookie: string | undefined;
      let s = session;
      if (!s) {
        const issued = sessions.create();
        s = issued.session;
        setCookie = issued.setCookie;
      }
      const { url, pending } = await psc.startLogin(redirectUri);
      sessions.beginLogin(s, { ...pending, returnTo: safeReturnTo(returnTo), startedAt: now() });
      return { location: url.toString(), ...(setCookie ? { setCookie } : {}) };
    },

    /** The PSC callback: checks the login in progress, gets tokens and userinfo, rotates the session. */
    async finishLogin(session: Session | undefined, params: URLSearchParams): Promise<Result<{ location: string; setCookie: string }>> {
      const pending = session?.pendingLogin;
      if (!session || !pending) return fail(400, "aucune connexion en cours dans ce navigateur : recommencez depuis la page d'accueil du portail");
      if (now() - pending.startedAt > 10 * 60_000) return fail(400, 'la connexion a pris trop de temps : recommencez');
      if (params.get('error')) return fail(401, `Pro Santé Connect a refusé la connexion (${params.get('error')})`);
      let tokens;
      let info;
      try {
        tokens = await psc.finishLogin(params, pending);
        info = await psc.userInfo(tokens.accessToken, tokens.sub);
      } catch (err) {
        log.warn('consumer: PSC login failed', { error: err });
        const failure = (err as { failure?: string }).failure;
        return failure === 'unreachable'
          ? fail(502, 'Pro Santé Connect ne répond pas : réessayez dans un instant')
          : fail(401, "la connexion Pro Santé Connect n'a pas abouti : recommencez");
      }
      const user = portalUserFrom(info);
      const issued = sessions.completeLogin(session, user, tokens);
      log.info('consumer: professional logged in', { subjectNameId: user.subjectNameId });
      const opened = applyResumeContext(issued.session);
      return { ok: true, value: { location: opened ? patientUrl(opened) : pending.returnTo, setCookie: issued.setCookie } };
    },

    /**
     * A CPS card login (card in the box's reader with its PIN, or a workstation's card by TLS client certificate):
     * a new session for the professional, as after a PSC login but without PSC tokens.
     */
    cardLogin(session: Session | undefined, user: PortalUser): { location: string; setCookie: string } {
      const base = session ?? sessions.create().session;
      const issued = sessions.completeLogin(base, user, undefined);
      log.info('consumer: professional logged in with a CPS card', { subjectNameId: user.subjectNameId, method: user.authentication?.method });
      const opened = applyResumeContext(issued.session);
      return { location: opened ? patientUrl(opened) : `${PORTAL}/`, setCookie: issued.setCookie };
    },

    /** Ends the sessions a card opened at the box (pulled out of the reader), with their jobs. */
    endCardSessions(cardSerial?: string): number {
      const ids = table.deleteCardSessions(cardSerial);
      for (const id of ids) jobs.cancelOwner(id);
      if (ids.length) log.info('consumer: card sessions ended', { count: ids.length, reason: cardSerial ? 'card removed' : 'box start' });
      return ids.length;
    },

    /** Ends the session (its patients, studies and jobs go with it); returns PSC's end-session URL when there is one. */
    async logout(session: Session | undefined): Promise<{ location: string; setCookie: string }> {
      if (!session) return { location: `${PORTAL}/`, setCookie: sessions.clearCookieHeader() };
      jobs.cancelOwner(session.id);
      const setCookie = sessions.end(session);
      const idToken = session.tokens?.idToken;
      if (!idToken) return { location: `${PORTAL}/`, setCookie };
      try {
        const url = await psc.logoutUrl(idToken, `${base}${PORTAL}/`);
        return { location: url.toString(), setCookie };
      } catch (err) {
        log.warn('consumer: PSC logout URL unavailable', { error: err });
        return { location: `${PORTAL}/`, setCookie };
      }
    },

    // ------------------------------------------------------------------------------------- contextual call

    /** POST /portal/contexte: validates and counts the call; a valid one gets a one-time redirect URL. */
    receiveContextCall(body: string): Result<{ location: string }> {
      const parsed = parseContextCall(body);
      if (!parsed.ok) {
        stats.record('erreur', parsed.reason);
        return fail(400, parsed.reason);
      }
      const token = randomBytes(24).toString('base64url');
      table.addPendingContext(digest(token), JSON.stringify(parsed.call), now(), now() + settings.contextTtlMs);
      stats.record('succes', undefined);
      return { ok: true, value: { location: `${PORTAL}/contexte/${token}` } };
    },

    /** A call refused before its parameters could be read (wrong content type, too large): counted as an error. */
    recordFailedContextCall(reason: string): void {
      stats.record('erreur', reason);
    },

    /** GET of the redirect URL: opens the patient in the session, through a PSC login when needed. */
    async openContext(session: Session | undefined, token: string): Promise<Result<{ location: string; setCookie?: string }>> {
      const json = /^[A-Za-z0-9_-]{20,64}$/.test(token) ? table.takePendingContext(digest(token), now()) : undefined;
      if (!json) return fail(410, 'ce lien a déjà servi ou a expiré : relancez l’ouverture depuis votre logiciel');
      if (isAuthenticated(session)) {
        // A call can be posted by any site onto a logged-in professional's session: nothing is searched, and no
        // consent is taken, until the professional confirms on the portal's own page.
        sessions.setResumeContext(session, json);
        return { ok: true, value: { location: `${PORTAL}/contexte-confirmation` } };
      }
      let s = session;
      let setCookie: string | undefined;
      if (!s) {
        const issued = sessions.create();
        s = issued.session;
        setCookie = issued.setCookie;
      }
      sessions.setResumeContext(s, json);
      const { url, pending } = await psc.startLogin(redirectUri);
      sessions.beginLogin(s, { ...pending, returnTo: `${PORTAL}/`, startedAt: now() });
      return { ok: true, value: { location: url.toString(), ...(setCookie ? { setCookie } : {}) } };
    },

    /** The call waiting for the logged-in professional's confirmation, if any. */
    pendingContext(session: AuthenticatedSession): ContextCall | undefined {
      if (!session.resumeContext) return undefined;
      try {
        return JSON.parse(session.resumeContext) as ContextCall;
      } catch {
        return undefined;
      }
    },

    /** The professional confirms (opens the patient) or declines (forgets the call). */
    confirmContext(session: AuthenticatedSession, confirmed: boolean): { location: string } {
      if (!confirmed) {
        sessions.setResumeContext(session, undefined);
        return { location: `${PORTAL}/` };
      }
      const opened = applyResumeContext(session);
      return { location: opened ? patientUrl(opened) : `${PORTAL}/` };
    },

    contextCallCounts: (range: StatsRange = {}) => stats.counts(range),
    modelStat: (range: StatsRange = {}) => modelStatCsv(stats, range),

    // ---------------------------------------------------------------------------------------------- patients

    /** Search by INS: opens the patient in the session (traits will come from the DMP's metadata). */
    openPatientByIns(session: AuthenticatedSession, value: string, system: string): Result<OpenedPatient> {
      const ins = value.trim().toUpperCase();
      const problem = insMatriculeProblem(ins);
      if (problem) return fail(400, problem);
      const oid = normaliseInsOid(system);
      if (!oid) return fail(400, "OID d'INS inconnu");
      const existing = table.patientByIns(session.id, ins);
      if (existing) return { ok: true, value: patientOf(existing) };
      return { ok: true, value: openPatient(session, { value: ins, oid }, { source: 'aucune' }) };
    },

    patients(session: AuthenticatedSession): OpenedPatient[] {
      return table.patients(session.id).map(patientOf);
    },

    patient(session: AuthenticatedSession, handle: string): OpenedPatient | undefined {
      const row = table.patient(session.id, handle);
      return row ? patientOf(row) : undefined;
    },

    /** The patient's imaging exams in the DMP (ITI-18), as the professional at the screen. */
    async listExams(session: AuthenticatedSession, handle: string): Promise<Result<ExamList>> {
      const row = table.patient(session.id, handle);
      if (!row) return fail(404, "ce patient n'est pas ouvert dans votre session");
      let patient = patientOf(row);
      if (patient.consent === false) return fail(403, "le patient n'a pas donné son accord (InformationEtConsentement) : le DMP n'est pas consulté");
      const vihf = vihfFor(session, patient);
      const found = await findImagingExams(dmp, vihf.subject, vihf.signer);
      if (!found.ok) return fail(502, found.message);
      if (patient.traits.source === 'aucune') {
        const traits = traitsFromRegistry(traitsFromEntries(found.value));
        if (traits.source !== 'aucune') {
          table.setTraits(session.id, handle, JSON.stringify(traits));
          patient = { ...patient, traits };
        }
      }
      log.info('consumer: DMP searched', { subjectNameId: session.user.subjectNameId, exams: found.value.length });
      return { ok: true, value: { patient, exams: sortExams(found.value.map(examFromEntry)) } };
    },

    /** ITI-43 of the exam's KOS, then the transfer from its source DRIMbox into the cache, as a job. */
    async openExam(session: AuthenticatedSession, handle: string, documentUniqueId: string): Promise<Result<Job>> {
      const row = table.patient(session.id, handle);
      if (!row) return fail(404, "ce patient n'est pas ouvert dans votre session");
      const patient = patientOf(row);
      if (patient.consent === false) return fail(403, "le patient n'a pas donné son accord : le DMP n'est pas consulté");
      const live = await withUsableToken(session);
      if (!live) return fail(401, EXPIRED, true);
      const vihf = vihfFor(live, patient);
      const fetched = await fetchKos(dmp, vihf.subject, documentUniqueId, vihf.signer);
      if (!fetched.ok) return fail(502, fetched.message);
      const manifest = fetched.value.manifest;
      table.addStudy({
        sessionId: session.id,
        studyUid: manifest.studyInstanceUid,
        patientHandle: handle,
        documentUniqueId,
        kosSopInstanceUid: manifest.sopInstanceUid,
        manifest: JSON.stringify(manifest),
        openedAt: now(),
      });
      return { ok: true, value: startRetrieve(live, manifest) };
    },

    /** Resumes a study's transfer (a new job: what is cached is not fetched again). */
    async resumeStudy(session: AuthenticatedSession, studyUid: string): Promise<Result<Job>> {
      const opened = table.study(session.id, studyUid);
      if (!opened) return fail(404, "cet examen n'est pas ouvert dans votre session");
      const live = await withUsableToken(session);
      if (!live) return fail(401, EXPIRED, true);
      return { ok: true, value: startRetrieve(live, JSON.parse(opened.manifest) as KosManifest) };
    },

    /** The session with a PSC access token usable now (renewed with the refresh token when it has expired). */
    usableSession: (session: AuthenticatedSession) => withUsableToken(session),

    studies(session: AuthenticatedSession): OpenedStudy[] {
      return table.studies(session.id);
    },

    study(session: AuthenticatedSession, studyUid: string): StudyView | undefined {
      const row = table.study(session.id, studyUid);
      if (!row) return undefined;
      const manifest = JSON.parse(row.manifest) as KosManifest;
      const coverage = coverageOf(manifest);
      const cached = cache.cachedSops(studyUid);
      let referenced = 0;
      let present = 0;
      for (const [series, sops] of coverage) {
        referenced += sops.size;
        for (const sop of sops) if (cached.get(series)?.has(sop)) present++;
      }
      const p = table.patient(session.id, row.patientHandle);
      return {
        study: row,
        manifest,
        ...(p ? { patient: patientOf(p) } : {}),
        cachedInstances: present,
        referencedInstances: referenced,
        viewerUrl: settings.viewerUrlTemplate.replace('{study}', encodeURIComponent(studyUid)),
      };
    },

    /** C-STORE of the cached study into the local PACS, optionally under the local IPP, as a job. */
    importStudy(session: AuthenticatedSession, studyUid: string, coercion?: { id: string; issuer?: string }): Result<Job> {
      const opened = table.study(session.id, studyUid);
      if (!opened) return fail(404, "cet examen n'est pas ouvert dans votre session");
      if (coercion && !/^[\x20-\x5b\x5d-\x7e]{1,64}$/.test(coercion.id.trim())) {
        return fail(400, "l'identifiant patient local doit faire 1 à 64 caractères ASCII imprimables, sans barre oblique inverse");
      }
      const manifest = JSON.parse(opened.manifest) as KosManifest;
      const only = new Set(manifest.series.flatMap((s) => s.instances.map((i) => i.sopInstanceUid)));
      const job = jobs.create(session.id, 'import', studyUid, only.size, { coerced: !!coercion, ...(coercion ? { localId: coercion.id.trim() } : {}) });
      void runImport(
        job,
        { studyInstanceUid: studyUid, only, ...(coercion ? { coercion: { id: coercion.id.trim(), ...(coercion.issuer?.trim() ? { issuer: coercion.issuer.trim() } : {}) } } : {}) },
        { cache, bridge: deps.bridge, tempDir: settings.tempDir, log, lanes: settings.importAssociations, admits: deps.admits },
      );
      log.info('consumer: import started', { subjectNameId: session.user.subjectNameId, job: job.progress.id, instances: only.size, coerced: !!coercion });
      auditWhenFinished(session, job, manifest.sopInstanceUid);
      return { ok: true, value: job };
    },

    job(session: Session, id: string): Job | undefined {
      return jobs.get(id, session.id);
    },

    jobsOf(session: Session): JobProgress[] {
      return jobs.list(session.id).map((j) => j.snapshot());
    },

    /** Transfers and imports in progress (the appliance holds its update lock while this is not zero). */
    busy: () => jobs.active(),

    stop() {
      clearInterval(sweeper);
      jobs.cancelAll();
    },
  };

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

  /** One audit row per pull or import, once it ends: an incomplete study says so (reason, skipped). */
  function auditWhenFinished(session: AuthenticatedSession, job: Job, kosSopInstanceUid: string): void {
    if (!deps.audit) return;
    const audit = deps.audit;
    void job.whenFinished().then(() => {
      const p = job.progress;
      const incomplete = typeof p.details.incomplete === 'string' ? p.details.incomplete : undefined;
      // What the manifest references: an incomplete job says "got/referenced".
      const referenced = incomplete ? Number(incomplete.split('/')[1]) : p.total;
      try {
        audit.record({
          at: p.startedAt,
          subjectNameId: session.user.subjectNameId,
          kosSopInstanceUid,
          method: 'JOB',
          path: `${PORTAL}/travaux/${p.id}`,
          action: p.kind === 'import' ? 'consumer-import' : 'consumer-retrieve',
          studyUid: p.studyInstanceUid,
          status: p.state === 'done' ? 200 : 0,
          outcome: p.state === 'done' && !incomplete ? 'complete' : p.state === 'cancelled' ? 'interrupted' : 'failed',
          ...(p.message ? { reason: incomplete ? `incomplete ${incomplete}: ${p.message}` : p.message } : {}),
          instances: p.transferred,
          skipped: Math.max(0, referenced - (p.kind === 'import' ? p.transferred : p.done)),
          bytesSent: p.bytes,
          durationMs: Date.parse(p.finishedAt ?? p.startedAt) - Date.parse(p.startedAt),
        });
      } catch (err) {
        log.warn('consumer: audit of a job failed', { job: p.id, error: err });
      }
    });
  }

  function startRetrieve(session: AuthenticatedSession, manifest: KosManifest): Job {
    const total = new Set(manifest.series.flatMap((s) => s.instances.map((i) => i.sopInstanceUid))).size;
    const job = jobs.create(session.id, 'retrieve', manifest.studyInstanceUid, total);
    void runRetrieve(job, { manifest, ...(session.tokens ? { accessToken: session.tokens.accessToken } : {}) }, { cache, client, policy, log, concurrency: settings.sourceConcurrency, locks, admits: deps.admits });
    log.info('consumer: retrieve started', { subjectNameId: session.user.subjectNameId, job: job.progress.id, instances: total });
    auditWhenFinished(session, job, manifest.sopInstanceUid);
    return job;
  }
}

export type ConsumerService = Awaited<ReturnType<typeof createConsumerService>>;
