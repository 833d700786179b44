import type { ExamSummary, OpenedPatient } from '../../appliance/src/consumer/index.js';
import { FR } from '../strings/portal.js';
import { frenchDateTime } from './format.js';
import { Layout, type LayoutUser } from './layout.js';
import { IdentityBlock, patientName } from './parts.js';

export type ExamsOutcome = { ok: true; exams: ExamSummary[] } | { ok: false; message: string };

/** A patient opened in the session: identity, then the imaging exams the DMP lists for them. */
export function PatientPage({ user, patient, exams }: { user: LayoutUser; patient: OpenedPatient; exams: ExamsOutcome }) {
  return (
    <Layout title={patientName(patient)} user={user}>
      <IdentityBlock patient={patient} />
      <section>
        <h2>{FR.examsTitle}</h2>
        <ExamList handle={patient.handle} exams={exams} />
      </section>
    </Layout>
  );
}
export const patientPage = (user: LayoutUser, patient: OpenedPatient, exams: ExamsOutcome) => <PatientPage user={user} patient={patient} exams={exams} />;

const COLUMNS = [FR.examDate, FR.examModality, FR.examRegion, FR.examDescription, FR.examFacility, FR.examStatus, FR.examAction];

function ExamList({ handle, exams }: { handle: string; exams: ExamsOutcome }) {
  if (!exams.ok) {
    return (
      <p class="erreur" id="erreur-dmp" role="alert">
        <strong>{FR.dmpErrorTitle}</strong>
        {` : ${exams.message}`}
      </p>
    );
  }
  if (exams.exams.length === 0) return <p id="aucun-examen">{FR.noExams}</p>;
  return (
    <table id="examens">
      <thead>
        <tr>
          {COLUMNS.map((h) => (
            <th scope="col">{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {exams.exams.map((e) => (
          <ExamRow handle={handle} exam={e} />
        ))}
      </tbody>
    </table>
  );
}

function ExamRow({ handle, exam: e }: { handle: string; exam: ExamSummary }) {
  return (
    <tr class="examen" data-document={e.documentUniqueId}>
      <td>{frenchDateTime(e.date)}</td>
      <td>{e.modalities.join(', ')}</td>
      <td>{e.regions.join(', ')}</td>
      <td>{e.description ?? ''}</td>
      <td>{e.facility ?? ''}</td>
      <td>{FR.statusLabels[e.status] ?? e.status}</td>
      <td>
        <form method="post" action={`/portal/patient/${handle}/ouvrir`}>
          <input type="hidden" name="document" value={e.documentUniqueId} />
          <button type="submit" class="ouvrir-examen">{FR.openExam}</button>
        </form>
      </td>
    </tr>
  );
}
