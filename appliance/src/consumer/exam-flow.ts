import type { AuthenticatedSession, Session } from '../auth/session/index.js';
import type { KosManifest } from '../dicom/kos/index.js';
import { EXPIRED, fail, PORTAL, type ConsumerCore, type ExamList, type OpenedStudy, type Result, type StudyView } from './core.js';
import { fetchKos, findImagingExams } from './dmp.js';
import { examFromEntry, sortExams, traitsFromEntries } from './exams.js';
import { runImport } from './import.js';
import { insMatriculeProblem, normaliseInsOid } from './ins.js';
import type { Job, JobProgress } from './jobs.js';
import { coverageOf } from './local-dicomweb.js';
import { traitsFromRegistry, type OpenedPatient } from './patients.js';
import { runRetrieve } from './retrieve.js';

/** The patient's exams from the DMP, their transfer from the source box into the cache, and the import into the local PACS. */
export function examFlow(core: ConsumerCore) {
  const { deps, settings, dmp, log, now, table, cache, jobs, locks, client, policy, patientOf, openPatient, vihfFor, withUsableToken } = core;
  /** One audit row per pull or import, once it ends: an incomplete study says so (reason, skipped). */
  function auditWhenFinished(session: AuthenticatedSession, job: Job, kosSopInstanceUid: string): void {
    if (!deps.audit) return;
    const audit = deps.audit;
    void job.whenFinished().then(() => {
      const p = job.progress;
      const incomplete = typeof p.details.incomplete === 'string' ? p.details.incomplete : undefined;
      // What the manifest references and the job could not bring: never imported, or never pulled.
      const missing = typeof p.details.missing === 'number' ? p.details.missing : 0;
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
          skipped: p.kind === 'import' ? p.failed + missing : missing,
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

  return {
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
      const viewerUrl = settings.viewerUrlTemplate.replace('{study}', encodeURIComponent(studyUid));
      const priors = table
        .studies(session.id)
        .filter((other) => other.studyUid !== studyUid && other.patientHandle === row.patientHandle && cache.cachedSops(other.studyUid).size > 0)
        .map((other) => {
          const contentDate = (JSON.parse(other.manifest) as KosManifest).contentDate;
          return { studyUid: other.studyUid, ...(contentDate ? { contentDate } : {}), viewerUrl: `${viewerUrl}&prior=${encodeURIComponent(other.studyUid)}` };
        })
        .sort((a, b) => (b.contentDate ?? '').localeCompare(a.contentDate ?? ''));
      return {
        study: row,
        manifest,
        ...(p ? { patient: patientOf(p) } : {}),
        cachedInstances: present,
        referencedInstances: referenced,
        viewerUrl,
        priors,
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

  };
}
