import type { JobProgress, OpenedPatient, OpenedStudy } from '../../appliance/src/consumer/index.js';
import type { ContextCall } from '../../appliance/src/consumer/context-call.js';
import { INS_OIDS } from '../../appliance/src/consumer/ins.js';
import { FR } from '../strings/portal.js';
import { frenchDate } from './format.js';
import { Layout, type LayoutUser } from './layout.js';
import { JobLine, patientName, Trait } from './parts.js';

/**
 * The portal's pages: one component each, and the call the routes make (`homePage(…)`: the page as JSX, for
 * `c.html`). Ids (`id="…"`) are stable: the end-to-end tests and the kiosk drive the pages by them.
 */

/** `cardReader`: the box has a CPS card reader and this is its touch screen. */
export function WelcomePage({ cardReader = false }: { cardReader?: boolean }) {
  return (
    <Layout title={FR.welcomeTitle}>
      <p>{FR.welcomeText}</p>
      <p>
        <a class="bouton principal" id="connexion-psc" href="/portal/login">{FR.loginButton}</a>
      </p>
      {cardReader && (
        <p>
          <a class="bouton" id="connexion-carte" href="/portal/carte">{FR.cardLoginButton}</a>
        </p>
      )}
    </Layout>
  );
}
export const welcomePage = (cardReader = false) => <WelcomePage cardReader={cardReader} />;

export function LogoutPage({ user }: { user: LayoutUser }) {
  return (
    <Layout title={FR.logoutTitle} user={user}>
      <p>{FR.logoutConfirm}</p>
      <form method="post" action="/portal/logout">
        <button type="submit" class="principal" id="confirmer-deconnexion">{FR.logoutButton}</button>
      </form>
    </Layout>
  );
}
export const logoutPage = (user: LayoutUser) => <LogoutPage user={user} />;

/** A contextual call that arrived onto a logged-in session: nothing is searched until the professional confirms. */
export function ContextConfirmPage({ user, call }: { user: LayoutUser; call: ContextCall }) {
  return (
    <Layout title={FR.contextConfirmTitle} user={user}>
      <p>{FR.contextConfirmText}</p>
      <section class="identite">
        <dl id="contexte-patient">
          <Trait label={FR.birthName} value={call.birthName.toUpperCase()} id="contexte-nom" />
          <Trait label={FR.birthGivenNames} value={call.birthGivenNames} id="contexte-prenoms" />
          <Trait label={FR.birthDate} value={frenchDate(call.birthDate)} id="contexte-date-naissance" />
          <Trait label={FR.ins} value={call.ins.value} id="contexte-ins" />
          <Trait label={FR.contextConsent} value={call.consent ? FR.yes : FR.no} id="contexte-consentement" />
        </dl>
      </section>
      <form method="post" action="/portal/contexte-confirmation" class="en-ligne">
        <input type="hidden" name="decision" value="ouvrir" />
        <button type="submit" class="principal" id="confirmer-contexte">{FR.contextConfirmButton}</button>
      </form>{' '}
      <form method="post" action="/portal/contexte-confirmation" class="en-ligne">
        <input type="hidden" name="decision" value="annuler" />
        <button type="submit" id="annuler-contexte">{FR.contextCancelButton}</button>
      </form>
    </Layout>
  );
}
export const contextConfirmPage = (user: LayoutUser, call: ContextCall) => <ContextConfirmPage user={user} call={call} />;

export function ErrorPage({ message, user, title = FR.errorTitle }: { message: string; user?: LayoutUser; title?: string }) {
  return (
    <Layout title={title} user={user}>
      <p class="erreur" id="message-erreur" role="alert">{message}</p>
      <p>
        <a href="/portal/">{FR.backHome}</a>
      </p>
    </Layout>
  );
}
export const errorPage = (message: string, user?: LayoutUser, title?: string) => <ErrorPage message={message} user={user} title={title} />;

function SearchForm() {
  return (
    <section>
      <h2>{FR.searchTitle}</h2>
      <form method="post" action="/portal/recherche" id="recherche-ins" class="formulaire">
        <label for="ins">{FR.insLabel}</label>
        <input id="ins" name="ins" required minlength={15} maxlength={15} pattern="[0-9]{5}([0-9]{2}|2A|2B|2a|2b)[0-9]{8}" autocomplete="off" inputmode="text" />
        <label for="ins-oid">{FR.insOidLabel}</label>
        <select id="ins-oid" name="oid">
          {Object.entries(INS_OIDS).map(([oid, label]) => (
            <option value={oid}>{`${label} (${oid})`}</option>
          ))}
        </select>
        <button type="submit" class="principal" id="rechercher">{FR.searchButton}</button>
      </form>
    </section>
  );
}

export function HomePage(props: { user: LayoutUser; patients: OpenedPatient[]; studies: OpenedStudy[]; jobs: JobProgress[] }) {
  const { patients, studies, jobs } = props;
  return (
    <Layout title={FR.homeTitle} user={props.user}>
      <SearchForm />
      <section>
        <h2>{FR.openedPatients}</h2>
        {patients.length ? (
          <ul id="patients-ouverts">
            {patients.map((p) => (
              <li>
                <a href={`/portal/patient/${p.handle}`}>{patientName(p)}</a>
                {` — ${FR.ins} ${p.ins.value}`}
              </li>
            ))}
          </ul>
        ) : (
          <p>{FR.noOpenedPatients}</p>
        )}
      </section>
      {studies.length > 0 && (
        <section>
          <h2>{FR.openedStudies}</h2>
          <ul id="examens-ouverts">
            {studies.map((s) => (
              <li>
                <a href={`/portal/etudes/${s.studyUid}`}>{s.studyUid}</a>
              </li>
            ))}
          </ul>
        </section>
      )}
      {jobs.length > 0 && (
        <section>
          <h2>{FR.recentJobs}</h2>
          <ul id="travaux">
            {jobs.slice(0, 10).map((j) => (
              <JobLine job={j} />
            ))}
          </ul>
        </section>
      )}
    </Layout>
  );
}
export const homePage = (user: LayoutUser, patients: OpenedPatient[], studies: OpenedStudy[], jobs: JobProgress[]) => (
  <HomePage user={user} patients={patients} studies={studies} jobs={jobs} />
);
