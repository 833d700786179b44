import { createHash } from 'node:crypto';
import type { FC } from 'hono/jsx';
import { SETUP } from '../strings/setup.js';
import { CsrfField, SetupLayout, type Csrf } from './layout.js';
import { Field } from './fields.js';
import { Outcome } from './outcome.js';

export interface SummaryRow {
  step: string;
  title: string;
  values: [string, string][];
  outcome?: unknown;
  complete: boolean;
}

export const SummaryPage: FC<{ rows: SummaryRow[]; n: number; total: number; csrf: Csrf; incomplete: string[]; fleet: string[]; lpsMissing: boolean; error?: string }> = (p) => (
  <SetupLayout title={SETUP.steps.resume.title} counter={SETUP.stepOf(p.n, p.total)}>
    <p class="aide-etape">{SETUP.steps.resume.help}</p>
    {p.error ? (
      <p class="erreur" id="erreur-application" role="alert">
        {p.error}
      </p>
    ) : null}
    {p.incomplete.length ? (
      <div class="alerte" id="etapes-incompletes">
        {SETUP.steps.resume.incomplete} {p.incomplete.join(', ')}
      </div>
    ) : null}
    {p.lpsMissing ? <p class="alerte">{SETUP.steps.resume.lpsMissing}</p> : null}
    {p.fleet.length ? (
      <p class="faits">
        {SETUP.steps.resume.fleet} {p.fleet.join(', ')}
      </p>
    ) : null}
    {p.rows.map((r) => (
      <section class={`recap${r.complete ? '' : ' incomplet'}`} data-etape={r.step}>
        <h2>
          {r.title} <a href={`/setup/etape/${r.step}`} class="lien-modifier">{SETUP.steps.resume.edit}</a>
        </h2>
        <dl>
          {r.values.map(([k, v]) => (
            <>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </>
          ))}
        </dl>
        {r.outcome !== undefined ? <Outcome id={`recap-test-${r.step}`} outcome={r.outcome} /> : null}
      </section>
    ))}
    <form method="post" action="/setup/appliquer" class="navigation">
      <CsrfField csrf={p.csrf} />
      <a href="/setup/etape/pin" class="bouton secondaire" id="precedent">
        {SETUP.back}
      </a>
      <button type="submit" class="principal" id="appliquer" disabled={p.incomplete.length > 0}>
        {SETUP.steps.resume.apply}
      </button>
    </form>
  </SetupLayout>
);

export const PinLoginPage: FC<{ csrf: Csrf; next: string; message?: string; locked?: boolean }> = ({ csrf, next, message, locked }) => (
  <SetupLayout title={SETUP.access.pinTitle}>
    <p>{SETUP.access.pinHelp}</p>
    {message ? (
      <p class="erreur" id="message-pin" role="alert">
        {message}
      </p>
    ) : null}
    {locked ? null : (
      <form method="post" action="/setup/code" class="etape">
        <CsrfField csrf={csrf} />
        <input type="hidden" name="suite" value={next} />
        <Field spec={{ name: 'pin', label: SETUP.access.pin, keyboard: 'numerique', maxLength: 12, masked: true }} />
        <nav class="navigation">
          <span />
          <button type="submit" class="principal" id="valider-code">
            {SETUP.access.enter}
          </button>
        </nav>
      </form>
    )}
  </SetupLayout>
);

/**
 * Asks the box every second whether its services started again (a `startedAt` other than the one the page was served
 * with), then goes on to the status (or to the wizard after a reset). Inline, the one script of the setup screens that
 * is: the page is shown as the services stop, and a script it had to fetch could meet a closed port and never run.
 * Each question gives up after 3 s, so one left unanswered by a stopping box does not hold the next ones.
 */
const WAIT_FOR_RESTART = `(function () {
  'use strict';
  var before = document.getElementById('application').getAttribute('data-depuis');
  function ask() {
    var controller = new AbortController();
    var giveUp = setTimeout(function () { controller.abort(); }, 3000);
    fetch('/setup/etat', { credentials: 'same-origin', cache: 'no-store', signal: controller.signal })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (state) {
        if (state.startedAt === before) return setTimeout(ask, 1000);
        location.href = state.setUp ? '/status' : '/setup';
      })
      .catch(function () { setTimeout(ask, 1000); /* restarting: not answering yet */ })
      .finally(function () { clearTimeout(giveUp); });
  }
  setTimeout(ask, 1000);
})();`;

/** WAIT_FOR_RESTART as a CSP hash-source (CSP Level 3, "source lists"): the setup screens' policy runs this inline script, no other. */
export const WAIT_FOR_RESTART_HASH = `'sha256-${createHash('sha256').update(WAIT_FOR_RESTART, 'utf8').digest('base64')}'`;

export const ApplyingPage: FC<{ since: string }> = ({ since }) => (
  <SetupLayout title={SETUP.apply.applyingTitle}>
    <p id="application" data-depuis={since}>
      {SETUP.apply.applying}
    </p>
    <div class="roue" aria-hidden="true" />
    <script dangerouslySetInnerHTML={{ __html: WAIT_FOR_RESTART }} />
  </SetupLayout>
);

export const ResetPage: FC<{ csrf: Csrf; pending: number; kiosk: boolean; message?: string }> = ({ csrf, pending, kiosk, message }) => (
  <SetupLayout title={SETUP.reset.title}>
    <p>{SETUP.reset.help}</p>
    {pending ? <p class="alerte">{SETUP.reset.pending(pending)}</p> : null}
    {message ? (
      <p class="erreur" role="alert" id="message-reset">
        {message}
      </p>
    ) : null}
    {kiosk ? (
      <form method="post" action="/setup/reinitialiser" class="etape">
        <CsrfField csrf={csrf} />
        <Field spec={{ name: 'pin', label: SETUP.access.pin, keyboard: 'numerique', maxLength: 12, masked: true }} />
        <button type="submit" class="danger" id="reinitialiser">
          {SETUP.reset.confirm}
        </button>
      </form>
    ) : (
      <p class="alerte">{SETUP.reset.kioskOnly}</p>
    )}
  </SetupLayout>
);
