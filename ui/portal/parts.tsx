import type { JobProgress, OpenedPatient, StudyView } from '../../appliance/src/consumer/index.js';
import { insLabel } from '../../appliance/src/consumer/ins.js';
import { FR } from '../strings/portal.js';
import { fill, frenchDate } from './format.js';

/** Pieces several pages share. */

export function patientName(p: OpenedPatient): string {
  const t = p.traits;
  const name = [t.birthName?.toUpperCase(), t.firstGivenName].filter(Boolean).join(' ');
  return name || `${FR.ins} ${p.ins.value}`;
}

/** One line of a definition list; an empty value shows as "non renseigné". */
export function Trait({ label, value, id }: { label: string; value: string | undefined; id: string }) {
  return (
    <>
      <dt>{label}</dt>
      <dd id={id}>{value ? value : <span class="absent">{FR.notProvided}</span>}</dd>
    </>
  );
}

export function JobLine({ job }: { job: JobProgress }) {
  const kind = job.kind === 'retrieve' ? FR.retrieveTitle : FR.importTitle;
  return (
    <li>
      <a href={`/portal/travaux/${job.id}`}>{kind}</a>
      {` — ${FR.jobStates[job.state] ?? job.state} — ${fill(FR.jobProgress, { done: job.done, total: job.total })}`}
    </li>
  );
}

/** The strict INS traits, as the INS rules ask them displayed (ci-sis-imaging.md §3.4). */
export function IdentityBlock({ patient: p }: { patient: OpenedPatient }) {
  const t = p.traits;
  const source = t.source === 'contexte' ? FR.traitsFromContext : t.source === 'dmp' ? FR.traitsFromDmp : FR.traitsUnknown;
  return (
    <section class="identite" id="identite-patient" aria-labelledby="titre-identite">
      <h2 id="titre-identite">{FR.identityTitle}</h2>
      <dl>
        <Trait label={FR.birthName} value={t.birthName?.toUpperCase()} id="trait-nom-naissance" />
        <Trait label={FR.firstGivenName} value={t.firstGivenName} id="trait-premier-prenom" />
        {t.birthGivenNames && <Trait label={FR.birthGivenNames} value={t.birthGivenNames} id="trait-prenoms" />}
        <Trait label={FR.birthDate} value={frenchDate(t.birthDate)} id="trait-date-naissance" />
        <Trait label={FR.sex} value={t.sex ? (FR.sexLabels[t.sex] ?? t.sex) : undefined} id="trait-sexe" />
        <Trait label={FR.birthPlace} value={t.birthPlaceCode} id="trait-lieu-naissance" />
        <Trait label={FR.ins} value={p.ins.value} id="trait-ins" />
        <Trait label={FR.insOid} value={`${p.ins.oid} (${insLabel(p.ins.oid)})`} id="trait-ins-oid" />
        {p.localId && <Trait label={FR.localId} value={p.localId} id="trait-ipp" />}
      </dl>
      <p class={t.source === 'aucune' ? 'note avertissement' : 'note'}>{source}</p>
    </section>
  );
}

export function ImportForm({ view }: { view: StudyView }) {
  const p = view.patient;
  return (
    <section>
      <h2>{FR.importFormTitle}</h2>
      <form method="post" action={`/portal/etudes/${view.study.studyUid}/importer`} id="form-import" class="formulaire">
        <label class="case">
          <input type="checkbox" name="coercion" value="1" id="import-coercion" checked={!!p?.localId} /> {FR.coerceLabel}
        </label>
        <label for="import-ipp">{FR.localIdLabel}</label>
        <input id="import-ipp" name="ipp" maxlength={64} value={p?.localId ?? ''} />
        <label for="import-emetteur">{FR.localIdIssuerLabel}</label>
        <input id="import-emetteur" name="emetteur" maxlength={199} value={p?.localIdIssuer ?? ''} />
        <button type="submit" class="principal" id="bouton-import">{FR.importButton}</button>
      </form>
    </section>
  );
}
