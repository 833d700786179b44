import type { ExamSummary, JobProgress, OpenedPatient, OpenedStudy, StudyView } from '../../appliance/src/consumer/index.js';
import type { ContextCall } from '../../appliance/src/consumer/context-call.js';
import { INS_OIDS, insLabel } from '../../appliance/src/consumer/ins.js';
import { esc, fill, frenchDate, frenchDateTime, layout, megabytes, type LayoutUser } from './html.js';
import { FR } from './strings.js';

/** The portal's pages. Ids (`id="…"`) are stable: the end-to-end tests and the kiosk drive the pages by them. */

/** `cardReader`: the box has a CPS card reader and this is its touch screen. */
export function welcomePage(cardReader = false): string {
  return layout(
    FR.welcomeTitle,
    `<p>${esc(FR.welcomeText)}</p>
<p><a class="bouton principal" id="connexion-psc" href="/portal/login">${esc(FR.loginButton)}</a></p>${
      cardReader ? `\n<p><a class="bouton" id="connexion-carte" href="/portal/carte">${esc(FR.cardLoginButton)}</a></p>` : ''
    }`,
  );
}

export function logoutPage(user: LayoutUser): string {
  return layout(
    FR.logoutTitle,
    `<p>${esc(FR.logoutConfirm)}</p>
<form method="post" action="/portal/logout"><button type="submit" class="principal" id="confirmer-deconnexion">${esc(FR.logoutButton)}</button></form>`,
    user,
  );
}

/** A contextual call that arrived onto a logged-in session: nothing is searched until the professional confirms. */
export function contextConfirmPage(user: LayoutUser, call: ContextCall): string {
  return layout(
    FR.contextConfirmTitle,
    `<p>${esc(FR.contextConfirmText)}</p>
<section class="identite"><dl id="contexte-patient">
${trait(FR.birthName, call.birthName.toUpperCase(), 'contexte-nom')}
${trait(FR.birthGivenNames, call.birthGivenNames, 'contexte-prenoms')}
${trait(FR.birthDate, frenchDate(call.birthDate), 'contexte-date-naissance')}
${trait(FR.ins, call.ins.value, 'contexte-ins')}
${trait(FR.contextConsent, call.consent ? FR.yes : FR.no, 'contexte-consentement')}
</dl></section>
<form method="post" action="/portal/contexte-confirmation" class="en-ligne"><input type="hidden" name="decision" value="ouvrir"><button type="submit" class="principal" id="confirmer-contexte">${esc(FR.contextConfirmButton)}</button></form>
<form method="post" action="/portal/contexte-confirmation" class="en-ligne"><input type="hidden" name="decision" value="annuler"><button type="submit" id="annuler-contexte">${esc(FR.contextCancelButton)}</button></form>`,
    user,
  );
}

export function errorPage(message: string, user?: LayoutUser, title: string = FR.errorTitle): string {
  return layout(title, `<p class="erreur" id="message-erreur" role="alert">${esc(message)}</p><p><a href="/portal/">${esc(FR.backHome)}</a></p>`, user);
}

function searchForm(): string {
  const options = Object.entries(INS_OIDS)
    .map(([oid, label]) => `<option value="${esc(oid)}">${esc(label)} (${esc(oid)})</option>`)
    .join('');
  return `<section><h2>${esc(FR.searchTitle)}</h2>
<form method="post" action="/portal/recherche" id="recherche-ins" class="formulaire">
<label for="ins">${esc(FR.insLabel)}</label>
<input id="ins" name="ins" required minlength="15" maxlength="15" pattern="[0-9]{5}([0-9]{2}|2A|2B|2a|2b)[0-9]{8}" autocomplete="off" inputmode="text">
<label for="ins-oid">${esc(FR.insOidLabel)}</label>
<select id="ins-oid" name="oid">${options}</select>
<button type="submit" class="principal" id="rechercher">${esc(FR.searchButton)}</button>
</form></section>`;
}

function patientName(p: OpenedPatient): string {
  const t = p.traits;
  const name = [t.birthName?.toUpperCase(), t.firstGivenName].filter(Boolean).join(' ');
  return name || `${FR.ins} ${p.ins.value}`;
}

function jobLine(j: JobProgress): string {
  const kind = j.kind === 'retrieve' ? FR.retrieveTitle : FR.importTitle;
  return `<li><a href="/portal/travaux/${esc(j.id)}">${esc(kind)}</a> — ${esc(FR.jobStates[j.state] ?? j.state)} — ${esc(fill(FR.jobProgress, { done: j.done, total: j.total }))}</li>`;
}

export function homePage(user: LayoutUser, patients: OpenedPatient[], studies: OpenedStudy[], jobs: JobProgress[]): string {
  const patientList = patients.length
    ? `<ul id="patients-ouverts">${patients.map((p) => `<li><a href="/portal/patient/${esc(p.handle)}">${esc(patientName(p))}</a> — ${esc(FR.ins)} ${esc(p.ins.value)}</li>`).join('')}</ul>`
    : `<p>${esc(FR.noOpenedPatients)}</p>`;
  const studyList = studies.length
    ? `<section><h2>${esc(FR.openedStudies)}</h2><ul id="examens-ouverts">${studies
        .map((s) => `<li><a href="/portal/etudes/${esc(s.studyUid)}">${esc(s.studyUid)}</a></li>`)
        .join('')}</ul></section>`
    : '';
  const jobList = jobs.length ? `<section><h2>${esc(FR.recentJobs)}</h2><ul id="travaux">${jobs.slice(0, 10).map(jobLine).join('')}</ul></section>` : '';
  return layout(FR.homeTitle, `${searchForm()}<section><h2>${esc(FR.openedPatients)}</h2>${patientList}</section>${studyList}${jobList}`, user);
}

function trait(label: string, value: string | undefined, id: string): string {
  return `<dt>${esc(label)}</dt><dd id="${id}">${value ? esc(value) : `<span class="absent">${esc(FR.notProvided)}</span>`}</dd>`;
}

/** The strict INS traits, as the INS rules ask them displayed (ci-sis-imaging.md §3.4). */
export function identityBlock(p: OpenedPatient): string {
  const t = p.traits;
  const source = t.source === 'contexte' ? FR.traitsFromContext : t.source === 'dmp' ? FR.traitsFromDmp : FR.traitsUnknown;
  return `<section class="identite" id="identite-patient" aria-labelledby="titre-identite">
<h2 id="titre-identite">${esc(FR.identityTitle)}</h2>
<dl>
${trait(FR.birthName, t.birthName?.toUpperCase(), 'trait-nom-naissance')}
${trait(FR.firstGivenName, t.firstGivenName, 'trait-premier-prenom')}
${t.birthGivenNames ? trait(FR.birthGivenNames, t.birthGivenNames, 'trait-prenoms') : ''}
${trait(FR.birthDate, frenchDate(t.birthDate), 'trait-date-naissance')}
${trait(FR.sex, t.sex ? (FR.sexLabels[t.sex] ?? t.sex) : undefined, 'trait-sexe')}
${trait(FR.birthPlace, t.birthPlaceCode, 'trait-lieu-naissance')}
${trait(FR.ins, p.ins.value, 'trait-ins')}
${trait(FR.insOid, `${p.ins.oid} (${insLabel(p.ins.oid)})`, 'trait-ins-oid')}
${p.localId ? trait(FR.localId, p.localId, 'trait-ipp') : ''}
</dl>
<p class="note ${t.source === 'aucune' ? 'avertissement' : ''}">${esc(source)}</p>
</section>`;
}

function examRow(handle: string, e: ExamSummary): string {
  return `<tr class="examen" data-document="${esc(e.documentUniqueId)}">
<td>${esc(frenchDateTime(e.date))}</td>
<td>${esc(e.modalities.join(', '))}</td>
<td>${esc(e.regions.join(', '))}</td>
<td>${esc(e.description ?? '')}</td>
<td>${esc(e.facility ?? '')}</td>
<td>${esc(FR.statusLabels[e.status] ?? e.status)}</td>
<td><form method="post" action="/portal/patient/${esc(handle)}/ouvrir"><input type="hidden" name="document" value="${esc(e.documentUniqueId)}"><button type="submit" class="ouvrir-examen">${esc(FR.openExam)}</button></form></td>
</tr>`;
}

export function patientPage(user: LayoutUser, patient: OpenedPatient, exams: { ok: true; exams: ExamSummary[] } | { ok: false; message: string }): string {
  let list: string;
  if (!exams.ok) list = `<p class="erreur" id="erreur-dmp" role="alert"><strong>${esc(FR.dmpErrorTitle)}</strong> : ${esc(exams.message)}</p>`;
  else if (exams.exams.length === 0) list = `<p id="aucun-examen">${esc(FR.noExams)}</p>`;
  else {
    const head = [FR.examDate, FR.examModality, FR.examRegion, FR.examDescription, FR.examFacility, FR.examStatus, FR.examAction].map((h) => `<th scope="col">${esc(h)}</th>`).join('');
    list = `<table id="examens"><thead><tr>${head}</tr></thead><tbody>${exams.exams.map((e) => examRow(patient.handle, e)).join('')}</tbody></table>`;
  }
  return layout(patientName(patient), `${identityBlock(patient)}<section><h2>${esc(FR.examsTitle)}</h2>${list}</section>`, user);
}

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

function failures(j: JobProgress): string {
  if (!j.failures.length) return '';
  return `<section><h2>${esc(j.kind === 'import' ? FR.importReportTitle : FR.failuresTitle)}</h2><ul id="echecs">${j.failures
    .map((f) => `<li>${f.sopInstanceUid ? `<code>${esc(f.sopInstanceUid)}</code> : ` : ''}${esc(f.reason)}</li>`)
    .join('')}</ul></section>`;
}

export function importForm(view: StudyView): string {
  const p = view.patient;
  return `<section><h2>${esc(FR.importFormTitle)}</h2>
<form method="post" action="/portal/etudes/${esc(view.study.studyUid)}/importer" id="form-import" class="formulaire">
<label class="case"><input type="checkbox" name="coercion" value="1" id="import-coercion" ${p?.localId ? 'checked' : ''}> ${esc(FR.coerceLabel)}</label>
<label for="import-ipp">${esc(FR.localIdLabel)}</label>
<input id="import-ipp" name="ipp" maxlength="64" value="${esc(p?.localId ?? '')}">
<label for="import-emetteur">${esc(FR.localIdIssuerLabel)}</label>
<input id="import-emetteur" name="emetteur" maxlength="199" value="${esc(p?.localIdIssuer ?? '')}">
<button type="submit" class="principal" id="bouton-import">${esc(FR.importButton)}</button>
</form></section>`;
}

function studyActions(view: StudyView, j?: JobProgress): string {
  const complete = view.cachedInstances > 0;
  const resume =
    view.cachedInstances < view.referencedInstances && (!j || j.state !== 'running')
      ? `<form method="post" action="/portal/etudes/${esc(view.study.studyUid)}/reprendre" class="en-ligne"><button type="submit" id="reprendre">${esc(FR.resumeButton)}</button></form>`
      : '';
  const viewer = complete ? `<a class="bouton principal" id="lien-visionneuse" href="${esc(view.viewerUrl)}">${esc(FR.viewButton)}</a>` : '';
  return `<p class="actions">${viewer} ${resume}</p>`;
}

export function jobPage(user: LayoutUser, j: JobProgress, view?: StudyView): string {
  const title = j.kind === 'retrieve' ? FR.retrieveTitle : FR.importTitle;
  const finished = j.state === 'done' || j.state === 'failed' || j.state === 'cancelled';
  const body = `<section id="travail" data-job="${esc(j.id)}" data-state="${esc(j.state)}" data-finished="${finished ? '1' : '0'}">
<p>${esc(FR.studyTitle)} <code>${esc(j.studyInstanceUid)}</code>${j.details.source ? ` — ${esc(FR.jobSource)} ${esc(j.details.source)}` : ''}</p>
<progress id="progression" max="${Math.max(1, j.total)}" value="${j.done}">${j.done}</progress>
<p><strong id="etat-travail">${esc(FR.jobStates[j.state] ?? j.state)}</strong> — <span id="compteurs">${esc(counters(j))}</span></p>
${j.message ? `<p class="${j.state === 'done' ? 'note' : 'erreur'}" id="message-travail" role="status">${esc(j.message)}</p>` : ''}
</section>
${failures(j)}
${view && finished ? studyActions(view, j) : ''}
${view && finished && j.kind === 'retrieve' && view.cachedInstances > 0 ? importForm(view) : ''}
${view?.patient ? `<p><a href="/portal/patient/${esc(view.patient.handle)}">${esc(FR.backToPatient)}</a></p>` : ''}`;
  return layout(title, `${body}${liveLabels()}`, user);
}

/** The words portail.js needs for live progress, as a JSON data block (not a script: nothing runs from it). */
function liveLabels(): string {
  const labels = {
    states: FR.jobStates,
    progress: FR.jobProgress,
    alreadyCached: FR.jobAlreadyCached,
    transferred: FR.jobTransferred,
    imported: FR.jobImported,
    bytes: FR.jobBytes,
    failed: FR.jobFailed,
  };
  return `<script type="application/json" id="libelles">${JSON.stringify(labels).replace(/</g, '\\u003c')}</script>`;
}

export function studyPage(user: LayoutUser, view: StudyView, jobs: JobProgress[]): string {
  const mine = jobs.filter((j) => j.studyInstanceUid === view.study.studyUid);
  const running = mine.find((j) => j.state === 'running' || j.state === 'waiting');
  const body = `${view.patient ? identityBlock(view.patient) : ''}
<section><h2>${esc(FR.studyTitle)}</h2><p><code id="etude-uid">${esc(view.study.studyUid)}</code></p>
<p id="etat-cache">${esc(fill(FR.studyCached, { present: view.cachedInstances, total: view.referencedInstances }))}</p>
${studyActions(view, running)}</section>
${view.cachedInstances > 0 ? importForm(view) : ''}
${mine.length ? `<section><h2>${esc(FR.recentJobs)}</h2><ul>${mine.map(jobLine).join('')}</ul></section>` : ''}`;
  return layout(FR.studyTitle, body, user);
}
