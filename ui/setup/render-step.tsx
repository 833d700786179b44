import { SETUP } from '../strings/setup.js';
import type { Csrf } from './layout.js';
import { StepPage } from './step-page.js';
import { SummaryPage, type SummaryRow } from './other-pages.js';
import { BoxDeclaration, CertificateFiles, CertificateResult, CertificateUpload, DmpChoice, NetworkFacts, PinFields, PscChoice, RetrieveChoice, ReverseResult, RisMessages, type ExchangeView, type NetworkView } from './step-views.js';
import { Outcome } from './outcome.js';
import { STEP_IDS, stepNumber, type StepId } from '../../appliance/src/setup/steps.js';

/** What a wizard screen needs from the wizard (appliance/src/setup/wizard.ts), and nothing more. */
export interface WizardView {
  answers(step: StepId): Record<string, string>;
  testOutcome(step: StepId): unknown;
  incompleteSteps(): StepId[];
  declaration(): Promise<{ aeTitle: string; address: string; port: number }>;
  hl7Since(isoTime: string): ExchangeView[];
  network(): Promise<NetworkView>;
  usbFiles(): Promise<{ name: string; size: number }[]>;
  hl7Endpoint(): { address: string; port: number };
  fleetForced(): string[];
  lpsMissing(): boolean;
}

export interface StepViewOptions {
  csrf: Csrf;
  origin: 'kiosk' | 'lan';
  errors?: Record<string, string>;
  applyError?: string;
}

const SECRET_FIELDS = new Set(['p12Password', 'clientSecret', 'pinHash']);

function summaryRows(w: WizardView): SummaryRow[] {
  const incomplete = new Set(w.incompleteSteps());
  return STEP_IDS.filter((s) => s !== 'resume').map((step) => {
    const answers = w.answers(step);
    const labels = SETUP.steps[step] as Record<string, unknown>;
    const values: [string, string][] = Object.entries(answers)
      .filter(([, v]) => v !== '')
      .map(([k, v]) => [typeof labels[k] === 'string' ? (labels[k] as string) : k, SECRET_FIELDS.has(k) ? '••••••' : k.endsWith('File') ? (v.split('/').pop() ?? v) : v]);
    return { step, title: (labels.title as string) ?? step, values, outcome: w.testOutcome(step), complete: !incomplete.has(step) };
  });
}

/** Renders one wizard screen with what its step shows besides its fields. */
export async function renderStep(w: WizardView, step: StepId, o: StepViewOptions): Promise<string> {
  const n = stepNumber(step);
  const total = STEP_IDS.length;
  const answers = w.answers(step);
  const errors = o.errors ?? {};
  const frame = { step, n, total, csrf: o.csrf, answers, errors };
  const outcome = w.testOutcome(step);
  switch (step) {
    case 'reseau':
      return String(<StepPage {...frame}><NetworkFacts net={await w.network()} /></StepPage>);
    case 'pacs':
      return String(<StepPage {...frame} testable><p class="aide">{SETUP.steps.pacs.testHelp}</p><Outcome id="resultat-echo" outcome={outcome} /></StepPage>);
    case 'pacs-retour': {
      const chosen = answers.retrieve || (outcome as { reverse?: { facts?: { chosen?: string } } } | undefined)?.reverse?.facts?.chosen;
      return String(
        <StepPage {...frame} testable>
          <BoxDeclaration d={await w.declaration()} />
          <ReverseResult outcome={outcome} />
          <RetrieveChoice value={chosen} error={errors.retrieve} />
        </StepPage>,
      );
    }
    case 'ris': {
      const since = new Date(Date.now() - 60_000).toISOString();
      const ep = w.hl7Endpoint();
      return String(
        <StepPage {...frame}>
          <dl class="declaration">
            <dt>{SETUP.steps.ris.address}</dt>
            <dd id="ris-adresse-boitier">{ep.address}</dd>
            <dt>{SETUP.steps.ris.port}</dt>
            <dd id="ris-port">{ep.port}</dd>
          </dl>
          <input type="hidden" name="risAddress" value="" />
          <div id="ris-messages" data-depuis={since}>
            <RisMessages exchanges={w.hl7Since(since)} />
          </div>
          <p class="aide">{SETUP.steps.ris.skipNote}</p>
        </StepPage>,
      );
    }
    case 'certificat':
      return String(
        <StepPage {...frame} testable after={o.origin === 'lan' ? <CertificateUpload csrf={o.csrf} /> : undefined}>
          <CertificateFiles c={{ usbFiles: await w.usbFiles(), p12File: answers.p12File, caFile: answers.caFile, canUpload: o.origin === 'lan', csrf: o.csrf }} />
          {errors._ ? <p class="erreur" role="alert">{SETUP.fields[errors._] ?? errors._}</p> : null}
          {errors.p12 || errors.ca ? <p class="erreur" role="alert">{SETUP.fields[errors.p12 ?? errors.ca ?? ''] ?? ''}</p> : null}
          <div class="champ">
            <label for="champ-p12Password">{SETUP.steps.certificat.password}</label>
            <input id="champ-p12Password" name="p12Password" type="password" value={answers.p12Password ?? ''} data-clavier="secret" inputmode="none" autocomplete="off" maxlength={256} />
          </div>
          <CertificateResult outcome={outcome} structureId={w.answers('identite').structureId} />
        </StepPage>,
      );
    case 'dmp':
      return String(
        <StepPage {...frame} testable>
          <DmpChoice answers={answers} errors={errors} />
          <Outcome id="resultat-dmp" outcome={outcome} />
        </StepPage>,
      );
    case 'psc': {
      const base = w.answers('reseau').publicBaseUrl;
      let redirect = '';
      try {
        redirect = base ? `${new URL(base).origin}/portal/callback` : '';
      } catch {
        // an unchecked address: shown once the network step is right
      }
      return String(
        <StepPage {...frame} testable>
          <PscChoice answers={answers} errors={errors} redirectUri={redirect} />
          <Outcome id="resultat-psc" outcome={outcome} />
        </StepPage>,
      );
    }
    case 'pin':
      return String(<StepPage {...frame}><PinFields errors={errors} alreadySet={!!answers.pinHash} /></StepPage>);
    case 'resume':
      return String(<SummaryPage rows={summaryRows(w)} n={n} total={total} csrf={o.csrf} incomplete={w.incompleteSteps().map((s) => (SETUP.steps[s] as { title: string }).title)} fleet={w.fleetForced()} lpsMissing={w.lpsMissing()} {...(o.applyError ? { error: o.applyError } : {})} />);
    default:
      return String(<StepPage {...frame} />);
  }
}

/** The RIS screen's live part, fetched again by setup.js. */
export function risMessagesFragment(w: WizardView, since: string): string {
  const valid = /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(since) ? since : new Date().toISOString();
  return String(<RisMessages exchanges={w.hl7Since(valid)} />);
}
