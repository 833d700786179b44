import type { Child, FC } from 'hono/jsx';
import { SETUP } from '../strings/setup.js';
import { CsrfField, SetupLayout, type Csrf } from './layout.js';
import { Field, STEP_FIELDS } from './fields.js';

export interface StepFrame {
  step: string;
  n: number;
  total: number;
  csrf: Csrf;
  answers: Record<string, string>;
  errors: Record<string, string>;
  /** The step's own content (facts, tests, choices), inside the form. */
  children?: Child;
  /** Whether the step has a live test (a "Tester" button). */
  testable?: boolean;
  /** Content after the form (another form: an upload). */
  after?: Child;
  /** Multipart form (certificate upload from a LAN browser). */
  nextLabel?: string;
}

/** A wizard screen: title, help, the step's fields and content, then Précédent / Tester / Suivant. */
export const StepPage: FC<StepFrame> = (p) => {
  const texts = SETUP.steps[p.step as keyof typeof SETUP.steps] as { title: string; help: string };
  return (
    <SetupLayout title={texts.title} counter={SETUP.stepOf(p.n, p.total)}>
      <p class="aide-etape">{texts.help}</p>
      <form method="post" action={`/setup/etape/${p.step}`} id="formulaire-etape" class="etape" data-etape={p.step}>
        <CsrfField csrf={p.csrf} />
        {(STEP_FIELDS[p.step] ?? []).map((spec) => (
          <Field spec={spec} value={p.answers[spec.name]} error={p.errors[spec.name]} />
        ))}
        {p.children}
        <nav class="navigation">
          {p.n > 1 ? (
            <button type="submit" name="action" value="precedent" class="secondaire" id="precedent">
              {SETUP.back}
            </button>
          ) : (
            <span />
          )}
          {p.testable ? (
            <button type="submit" name="action" value="tester" class="secondaire" id="tester">
              {SETUP.test}
            </button>
          ) : null}
          <button type="submit" name="action" value="suivant" class="principal" id="suivant">
            {p.nextLabel ?? SETUP.next}
          </button>
        </nav>
      </form>
      {p.after}
    </SetupLayout>
  );
};
