import type { Db } from './database.js';

/**
 * Rows of the consumer portal's sessions and of what each session opened (patients, studies), and the contextual
 * calls waiting for a login. Plain persistence: ids arrive already hashed, values already validated and serialised
 * by auth/session and consumer/. Everything a session opened is deleted with it.
 */

export interface SessionRow {
  id: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  pendingLogin?: string;
  resumeContext?: string;
  user?: string;
  accessToken?: string;
  idToken?: string;
  refreshToken?: string;
  tokenExpiresAt?: number;
}

export interface PatientRow {
  sessionId: string;
  handle: string;
  ins: string;
  insOid: string;
  traits: string;
  localId?: string;
  localIdIssuer?: string;
  situation?: string;
  consent?: boolean;
  origin: 'contexte' | 'recherche';
  openedAt: number;
}

export interface StudyRow {
  sessionId: string;
  studyUid: string;
  patientHandle: string;
  documentUniqueId: string;
  kosSopInstanceUid: string;
  manifest: string;
  openedAt: number;
}

interface RawSession {
  id: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  pending_login: string | null;
  resume_context: string | null;
  user: string | null;
  access_token: string | null;
  id_token: string | null;
  refresh_token: string | null;
  token_expires_at: number | null;
}

interface RawPatient {
  session_id: string;
  handle: string;
  ins: string;
  ins_oid: string;
  traits: string;
  local_id: string | null;
  local_id_issuer: string | null;
  situation: string | null;
  consent: number | null;
  origin: 'contexte' | 'recherche';
  opened_at: number;
}

interface RawStudy {
  session_id: string;
  study_uid: string;
  patient_handle: string;
  document_unique_id: string;
  kos_sop_instance_uid: string;
  manifest: string;
  opened_at: number;
}

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

function sessionFrom(r: RawSession): SessionRow {
  return {
    id: r.id,
    createdAt: r.created_at,
    lastSeenAt: r.last_seen_at,
    expiresAt: r.expires_at,
    pendingLogin: opt(r.pending_login),
    resumeContext: opt(r.resume_context),
    user: opt(r.user),
    accessToken: opt(r.access_token),
    idToken: opt(r.id_token),
    refreshToken: opt(r.refresh_token),
    tokenExpiresAt: opt(r.token_expires_at),
  };
}

function patientFrom(r: RawPatient): PatientRow {
  return {
    sessionId: r.session_id,
    handle: r.handle,
    ins: r.ins,
    insOid: r.ins_oid,
    traits: r.traits,
    localId: opt(r.local_id),
    localIdIssuer: opt(r.local_id_issuer),
    situation: opt(r.situation),
    consent: r.consent === null ? undefined : r.consent === 1,
    origin: r.origin,
    openedAt: r.opened_at,
  };
}

function studyFrom(r: RawStudy): StudyRow {
  return {
    sessionId: r.session_id,
    studyUid: r.study_uid,
    patientHandle: r.patient_handle,
    documentUniqueId: r.document_unique_id,
    kosSopInstanceUid: r.kos_sop_instance_uid,
    manifest: r.manifest,
    openedAt: r.opened_at,
  };
}

export class ConsumerSessionTable {
  constructor(private readonly db: Db) {}

  insert(row: SessionRow): void {
    this.db
      .prepare(
        `INSERT INTO consumer_sessions (id, created_at, last_seen_at, expires_at, pending_login, resume_context, user, access_token, id_token, refresh_token, token_expires_at)
         VALUES (@id, @createdAt, @lastSeenAt, @expiresAt, @pendingLogin, @resumeContext, @user, @accessToken, @idToken, @refreshToken, @tokenExpiresAt)`,
      )
      .run({
        id: row.id,
        createdAt: row.createdAt,
        lastSeenAt: row.lastSeenAt,
        expiresAt: row.expiresAt,
        pendingLogin: row.pendingLogin ?? null,
        resumeContext: row.resumeContext ?? null,
        user: row.user ?? null,
        accessToken: row.accessToken ?? null,
        idToken: row.idToken ?? null,
        refreshToken: row.refreshToken ?? null,
        tokenExpiresAt: row.tokenExpiresAt ?? null,
      });
  }

  /** New PSC tokens for a session (a refresh): the ones a refresh does not return are kept. */
  setTokens(id: string, tokens: { accessToken: string; idToken?: string; refreshToken?: string; expiresAt: number }): void {
    this.db
      .prepare('UPDATE consumer_sessions SET access_token = ?, id_token = COALESCE(?, id_token), refresh_token = COALESCE(?, refresh_token), token_expires_at = ? WHERE id = ?')
      .run(tokens.accessToken, tokens.idToken ?? null, tokens.refreshToken ?? null, tokens.expiresAt, id);
  }

  get(id: string): SessionRow | undefined {
    const r = this.db.prepare('SELECT * FROM consumer_sessions WHERE id = ?').get(id) as RawSession | undefined;
    return r ? sessionFrom(r) : undefined;
  }

  touch(id: string, at: number): void {
    this.db.prepare('UPDATE consumer_sessions SET last_seen_at = ? WHERE id = ?').run(at, id);
  }

  setPendingLogin(id: string, pendingLogin: string | undefined): void {
    this.db.prepare('UPDATE consumer_sessions SET pending_login = ? WHERE id = ?').run(pendingLogin ?? null, id);
  }

  setResumeContext(id: string, context: string | undefined): void {
    this.db.prepare('UPDATE consumer_sessions SET resume_context = ? WHERE id = ?').run(context ?? null, id);
  }

  delete(id: string): boolean {
    return this.db.prepare('DELETE FROM consumer_sessions WHERE id = ?').run(id).changes > 0;
  }

  /**
   * Sessions opened with a CPS card in the box's reader: those of one card (pulled out), or all of them (at start:
   * no card session outlives the process that watched its card). Returns their ids.
   */
  deleteCardSessions(cardSerial?: string): string[] {
    const where = "json_extract(user, '$.authentication.method') = 'cps-card'" + (cardSerial === undefined ? '' : " AND json_extract(user, '$.authentication.cardSerial') = ?");
    const args = cardSerial === undefined ? [] : [cardSerial];
    const ids = (this.db.prepare(`SELECT id FROM consumer_sessions WHERE ${where}`).all(...args) as { id: string }[]).map((r) => r.id);
    for (const id of ids) this.delete(id);
    return ids;
  }

  /** Sessions past their absolute end, or idle longer than allowed. */
  deleteExpired(now: number, idleBefore: number): number {
    return this.db.prepare('DELETE FROM consumer_sessions WHERE expires_at <= ? OR last_seen_at <= ?').run(now, idleBefore).changes;
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM consumer_sessions').get() as { n: number }).n;
  }

  // ------------------------------------------------------------------------------------------ patients

  addPatient(row: PatientRow): PatientRow {
    // The same INS opened again in a session keeps its handle; a contextual call refreshes the traits and IPP.
    this.db
      .prepare(
        `INSERT INTO consumer_session_patients (session_id, handle, ins, ins_oid, traits, local_id, local_id_issuer, situation, consent, origin, opened_at)
         VALUES (@sessionId, @handle, @ins, @insOid, @traits, @localId, @localIdIssuer, @situation, @consent, @origin, @openedAt)
         ON CONFLICT (session_id, ins) DO UPDATE SET
           ins_oid = excluded.ins_oid,
           traits = CASE WHEN excluded.origin = 'contexte' THEN excluded.traits ELSE traits END,
           local_id = coalesce(excluded.local_id, local_id),
           local_id_issuer = coalesce(excluded.local_id_issuer, local_id_issuer),
           situation = coalesce(excluded.situation, situation),
           consent = coalesce(excluded.consent, consent),
           origin = CASE WHEN excluded.origin = 'contexte' THEN 'contexte' ELSE origin END,
           opened_at = excluded.opened_at`,
      )
      .run({
        ...row,
        localId: row.localId ?? null,
        localIdIssuer: row.localIdIssuer ?? null,
        situation: row.situation ?? null,
        consent: row.consent === undefined ? null : row.consent ? 1 : 0,
      });
    return this.patientByIns(row.sessionId, row.ins)!;
  }

  /** Traits learnt later (from the DMP's metadata after a search by INS). */
  setTraits(sessionId: string, handle: string, traits: string): void {
    this.db.prepare('UPDATE consumer_session_patients SET traits = ? WHERE session_id = ? AND handle = ?').run(traits, sessionId, handle);
  }

  patient(sessionId: string, handle: string): PatientRow | undefined {
    const r = this.db.prepare('SELECT * FROM consumer_session_patients WHERE session_id = ? AND handle = ?').get(sessionId, handle) as RawPatient | undefined;
    return r ? patientFrom(r) : undefined;
  }

  patientByIns(sessionId: string, ins: string): PatientRow | undefined {
    const r = this.db.prepare('SELECT * FROM consumer_session_patients WHERE session_id = ? AND ins = ?').get(sessionId, ins) as RawPatient | undefined;
    return r ? patientFrom(r) : undefined;
  }

  patients(sessionId: string): PatientRow[] {
    return (this.db.prepare('SELECT * FROM consumer_session_patients WHERE session_id = ? ORDER BY opened_at DESC').all(sessionId) as RawPatient[]).map(patientFrom);
  }

  /** Copies what a session opened to its successor (login rotates the session id). */
  moveOpened(fromSessionId: string, toSessionId: string): void {
    this.db.prepare('UPDATE consumer_session_patients SET session_id = ? WHERE session_id = ?').run(toSessionId, fromSessionId);
    this.db.prepare('UPDATE consumer_session_studies SET session_id = ? WHERE session_id = ?').run(toSessionId, fromSessionId);
  }

  // ------------------------------------------------------------------------------------------- studies

  addStudy(row: StudyRow): void {
    this.db
      .prepare(
        `INSERT INTO consumer_session_studies (session_id, study_uid, patient_handle, document_unique_id, kos_sop_instance_uid, manifest, opened_at)
         VALUES (@sessionId, @studyUid, @patientHandle, @documentUniqueId, @kosSopInstanceUid, @manifest, @openedAt)
         ON CONFLICT (session_id, study_uid) DO UPDATE SET
           patient_handle = excluded.patient_handle, document_unique_id = excluded.document_unique_id,
           kos_sop_instance_uid = excluded.kos_sop_instance_uid, manifest = excluded.manifest, opened_at = excluded.opened_at`,
      )
      .run(row);
  }

  study(sessionId: string, studyUid: string): StudyRow | undefined {
    const r = this.db.prepare('SELECT * FROM consumer_session_studies WHERE session_id = ? AND study_uid = ?').get(sessionId, studyUid) as RawStudy | undefined;
    return r ? studyFrom(r) : undefined;
  }

  studies(sessionId: string): StudyRow[] {
    return (this.db.prepare('SELECT * FROM consumer_session_studies WHERE session_id = ? ORDER BY opened_at DESC').all(sessionId) as RawStudy[]).map(studyFrom);
  }

  // ---------------------------------------------------------------------------------- pending contexts

  addPendingContext(id: string, context: string, createdAt: number, expiresAt: number): void {
    this.db.prepare('INSERT INTO consumer_pending_contexts (id, created_at, expires_at, context) VALUES (?, ?, ?, ?)').run(id, createdAt, expiresAt, context);
  }

  /** Returns the context and deletes it: a redirect URL works once. */
  takePendingContext(id: string, now: number): string | undefined {
    return this.db.transaction(() => {
      const r = this.db.prepare('SELECT context, expires_at FROM consumer_pending_contexts WHERE id = ?').get(id) as { context: string; expires_at: number } | undefined;
      if (!r) return undefined;
      this.db.prepare('DELETE FROM consumer_pending_contexts WHERE id = ?').run(id);
      return r.expires_at > now ? r.context : undefined;
    }).immediate();
  }

  deleteExpiredContexts(now: number): number {
    return this.db.prepare('DELETE FROM consumer_pending_contexts WHERE expires_at <= ?').run(now).changes;
  }
}
