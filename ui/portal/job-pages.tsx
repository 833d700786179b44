import type { JobProgress, StudyView } from '../../appliance/src/consumer/index.js';
import { FR } from '../strings/portal.js';
import { fill, frenchDateTime, megabytes } from './format.js';
import { Layout, type LayoutUser } from './layout.js';
import { IdentityBlock, ImportForm, JobLine } from './parts.js';

/** A retrieve or import job (live progress by portail.js), and a study opened in the session. */

const isFinished = (j: JobProgress) => j.state === 'done' || j.state === 'failed' || j.state === 'cancelled';

export function JobPage({ user, job: j, view }: { user: LayoutUser; job: JobProgress; view?: StudyView }) {
  const finished = isFinished(j);
  return (
    <Layout title={j.kind === 'retrieve' ? FR.retrieveTitle : FR.importTitle} user={user}>
      <section id="travail" data-job={j.id} data-state={j.state} data-finished={finished ? '1' : '0'}>
        <p>
          {`${FR.studyTitle} `}
          <code>{j.studyInstanceUid}</code>
          {j.details.source ? ` — ${FR.jobSource} ${j.details.source}` : ''}
        </p>
        <progress id="progression" max={Math.max(1, j.total)} value={j.done}>
          {j.done}
        </progress>
        <p>
          <strong id="etat-travail">{FR.jobStates[j.state] ?? j.state}</strong>
          {' — '}
          <span id="compteurs">{counters(j)}</span>
        </p>
        {j.message && (
          <p class={j.state === 'done' ? 'note' : 'erreur'} id="message-travail" role="status">
            {j.message}
          </p>
        )}
      </section>
      <Failures job={j} />
      {view && finished && <StudyActions view={view} job={j} />}
      {view && finished && j.kind === 'retrieve' && view.cachedInstances > 0 && <ImportForm view={view} />}
      {view?.patient && (
        <p>
          <a href={`/portal/patient/${view.patient.handle}`}>{FR.backToPatient}</a>
        </p>
      )}
      <LiveLabels />
    </Layout>
  );
}
export const jobPage = (user: LayoutUser, job: JobProgress, view?: StudyView) => <JobPage user={user} job={job} view={view} />;

export function StudyPage({ user, view, jobs }: { user: LayoutUser; view: StudyView; jobs: JobProgress[] }) {
  const mine = jobs.filter((j) => j.studyInstanceUid === view.study.studyUid);
  const running = mine.find((j) => j.state === 'running' || j.state === 'waiting');
  return (
    <Layout title={FR.studyTitle} user={user}>
      {view.patient && <IdentityBlock patient={view.patient} />}
      <section>
        <h2>{FR.studyTitle}</h2>
        <p>
          <code id="etude-uid">{view.study.studyUid}</code>
        </p>
        <p id="etat-cache">{fill(FR.studyCached, { present: view.cachedInstances, total: view.referencedInstances })}</p>
        <StudyActions view={view} job={running} />
      </section>
      {view.cachedInstances > 0 && <ImportForm view={view} />}
      {mine.length > 0 && (
        <section>
          <h2>{FR.recentJobs}</h2>
          <ul>
            {mine.map((j) => (
              <JobLine job={j} />
            ))}
          </ul>
        </section>
      )}
    </Layout>
  );
}
export const studyPage = (user: LayoutUser, view: StudyView, jobs: JobProgress[]) => <StudyPage user={user} view={view} jobs={jobs} />;

function counters(j: JobProgress): string {
  const parts = [fill(FR.jobProgress, { done: j.done, total: j.total })];
  if (j.kind === 'retrieve') {
    if (j.alreadyCached) parts.push(fill(FR.jobAlreadyCached, { n: j.alreadyCached }));
    parts.push(fill(FR.jobTransferred, { n: j.transferred }));
  } else parts.push(fill(FR.jobImported, { n: j.transferred }));
  parts.push(fill(FR.jobBytes, { mb: megabytes(j.bytes) }));
  if (j.failed) parts.push(fill(FR.jobFailed, { n: j.failed }));
  return parts.join(' · ');
}

function Failures({ job: j }: { job: JobProgress }) {
  if (!j.failures.length) return null;
  return (
    <section>
      <h2>{j.kind === 'import' ? FR.importReportTitle : FR.failuresTitle}</h2>
      <ul id="echecs">
        {j.failures.map((f) => (
          <li>
            {f.sopInstanceUid && (
              <>
                <code>{f.sopInstanceUid}</code>
                {' : '}
              </>
            )}
            {f.reason}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The viewer link once images are cached; resuming while images are missing and nothing runs. */
function StudyActions({ view, job: j }: { view: StudyView; job?: JobProgress }) {
  const resumable = view.cachedInstances < view.referencedInstances && (!j || j.state !== 'running');
  return (
    <p class="actions">
      {view.cachedInstances > 0 && (
        <a class="bouton principal" id="lien-visionneuse" href={view.viewerUrl}>
          {FR.viewButton}
        </a>
      )}{' '}
      {view.cachedInstances > 0 &&
        view.priors.map((p) => (
          <>
            <a class="bouton" data-compare-with={p.studyUid} href={p.viewerUrl}>
              {fill(FR.compareButton, { date: frenchDateTime(p.contentDate) || p.studyUid })}
            </a>{' '}
          </>
        ))}
      {resumable && (
        <form method="post" action={`/portal/etudes/${view.study.studyUid}/reprendre`} class="en-ligne">
          <button type="submit" id="reprendre">{FR.resumeButton}</button>
        </form>
      )}
    </p>
  );
}

/** The words portail.js needs for live progress, as a JSON data block (not a script: nothing runs from it). */
function LiveLabels() {
  const labels = {
    states: FR.jobStates,
    progress: FR.jobProgress,
    alreadyCached: FR.jobAlreadyCached,
    transferred: FR.jobTransferred,
    imported: FR.jobImported,
    bytes: FR.jobBytes,
    failed: FR.jobFailed,
  };
  // Raw text inside <script>: JSON with every "<" escaped, so no "</script>" can end the block early.
  return <script type="application/json" id="libelles" dangerouslySetInnerHTML={{ __html: JSON.stringify(labels).replace(/</g, '\\u003c') }} />;
}
