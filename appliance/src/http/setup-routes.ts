import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { SETUP } from '../../../ui/strings/setup.js';
import { ApplyingPage, PinLoginPage, ResetPage } from '../../../ui/setup/other-pages.js';
import { loadSetupAssets } from '../../../ui/setup/assets.js';
import type { AdminGate, PinCheck } from '../setup/admin-gate.js';
import { isStepId, STEP_IDS, type StepId } from '../setup/steps.js';
import { SetupInputError, type SetupWizard } from '../setup/wizard.js';
import { CSRF_FIELD, formToken, practiceAccess, promoteToAdmin, requireAdmin, staticAssets, type AdminEnv } from './admin-access.js';
import { renderStep, risMessagesFragment } from '../../../ui/setup/render-step.js';
import { practiceScreenHeaders } from './page-headers.js';

export interface SetupRoutesDeps {
  wizard: SetupWizard;
  gate: AdminGate;
  secureLan: boolean;
  /** When the running services started (the page after "apply" waits for a newer one). */
  startedAt: string;
  /** Erases the configuration and the data folder, then restarts the services in first-run mode. */
  factoryReset: () => void;
  pendingPublications: () => number;
}

const MAX_FORM_BYTES = 4 * 1024 * 1024;

/** Where the certificates are kept is the box's decision (files copied or uploaded), never a form field. */
const NOT_FROM_FORMS = new Set([CSRF_FIELD, 'action', 'usb', 'p12File', 'caFile', 'pinHash']);

function form(body: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === 'string' && !NOT_FROM_FORMS.has(k)) out[k] = v;
  return out;
}

function pinRefusal(check: Exclude<PinCheck, { ok: true }>): string {
  return check.reason === 'wrong-pin' ? SETUP.access.wrong(check.triesLeft) : check.reason === 'locked' ? SETUP.access.locked(check.minutesLeft) : SETUP.access.noPin;
}

/** A local path to come back to after the PIN: only the box's own setup and status pages. */
function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(setup|status)(\/[a-z0-9\-/]*)?$/.test(value) ? value : '/setup';
}

/** `/setup`: the first-run wizard and the administrator's PIN. Thin: the wizard (setup/wizard.ts) holds the logic. */
export function createSetupRoutes(deps: SetupRoutesDeps): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const refused = (c: Context<AdminEnv>) => c.html(String(PinLoginPage({ csrf: formToken(c), next: '/setup', message: SETUP.access.forbidden })), 403);

  app.use('*', practiceScreenHeaders());
  // Static files first: a stylesheet or a script never opens a session.
  app.get('/assets/:name', staticAssets(loadSetupAssets()));
  app.use('*', bodyLimit({ maxSize: MAX_FORM_BYTES, onError: (c) => c.text(SETUP.access.formTooBig, 413) }));
  app.use('*', ...practiceAccess({ gate: deps.gate, isSetUp: () => deps.wizard.isSetUp(), secureLan: deps.secureLan }, refused));
  app.get('/etat', (c) => c.json({ setUp: deps.wizard.isSetUp(), startedAt: deps.startedAt }));

  app.get('/code', (c) => c.html(String(PinLoginPage({ csrf: formToken(c), next: safeNext(c.req.query('suite')) }))));
  app.post('/code', async (c) => {
    const body = await c.req.parseBody();
    const next = safeNext(body.suite);
    const check = await deps.gate.checkPin(c.get('origin'), typeof body.pin === 'string' ? body.pin : '');
    if (check.ok) {
      promoteToAdmin(c, { gate: deps.gate, secureLan: deps.secureLan });
      return c.redirect(next, 303);
    }
    return c.html(String(PinLoginPage({ csrf: formToken(c), next, message: pinRefusal(check), locked: check.reason === 'locked' || check.reason === 'no-pin' })), check.reason === 'locked' ? 429 : 401);
  });
  app.post('/verrouiller', (c) => {
    deps.gate.close(c.get('session')!.id); // requireCsrf: a form comes with its session
    return c.redirect('/status', 303);
  });

  // Factory reset: at the touch screen only, with the PIN typed again (physical presence and knowledge).
  app.get('/reinitialiser', (c) => c.html(String(ResetPage({ csrf: formToken(c), pending: deps.pendingPublications(), kiosk: c.get('origin') === 'kiosk' }))));
  app.post('/reinitialiser', async (c) => {
    const kiosk = c.get('origin') === 'kiosk';
    if (!kiosk) return c.html(String(ResetPage({ csrf: formToken(c), pending: deps.pendingPublications(), kiosk })), 403);
    const body = await c.req.parseBody();
    const check = await deps.gate.checkPin('kiosk', typeof body.pin === 'string' ? body.pin : '');
    if (!check.ok) {
      return c.html(String(ResetPage({ csrf: formToken(c), pending: deps.pendingPublications(), kiosk, message: pinRefusal(check) })), check.reason === 'locked' ? 429 : 401);
    }
    deps.gate.closeAll();
    deps.factoryReset();
    return c.html(String(ApplyingPage({ since: deps.startedAt })));
  });

  app.use('*', requireAdmin());
  app.get('/', (c) => c.redirect(`/setup/etape/${deps.wizard.resumeStep()}`, 303));
  app.get('/ris/messages', (c) => c.html(risMessagesFragment(deps.wizard, c.req.query('depuis') ?? '')));
  app.get('/etape/:step', async (c) => {
    const step = c.req.param('step');
    if (!isStepId(step)) return c.notFound();
    return c.html(await renderStep(deps.wizard, step, { csrf: formToken(c), origin: c.get('origin') }));
  });
  app.post('/etape/:step', async (c) => {
    const step = c.req.param('step');
    if (!isStepId(step)) return c.notFound();
    const body = await c.req.parseBody();
    const action = body.action;
    const view = { csrf: formToken(c), origin: c.get('origin') };
    let errors: Record<string, string> = {};
    try {
      if (typeof body.usb === 'string' && step === 'certificat') {
        const [kind, ...rest] = body.usb.split(':');
        if (kind !== 'p12' && kind !== 'ca') throw new SetupInputError('usb-file-unknown');
        await deps.wizard.copyFromUsb(kind, rest.join(':'));
        deps.wizard.save(step, form(body));
        return c.html(await renderStep(deps.wizard, step, view));
      }
      if (step === 'pin') {
        const pin = typeof body.pin === 'string' ? body.pin : '';
        const keep = pin === '' && deps.wizard.values('pin') !== undefined;
        if (!keep) await deps.wizard.setPin(pin, typeof body.pinConfirmation === 'string' ? body.pinConfirmation : '');
      } else {
        const check = deps.wizard.save(step, form(body));
        if (!check.ok) errors = check.errors;
      }
    } catch (err) {
      if (!(err instanceof SetupInputError)) throw err;
      errors = { [step === 'pin' ? 'pin' : '_']: err.code };
    }
    const index = STEP_IDS.indexOf(step);
    if (action === 'precedent') return c.redirect(`/setup/etape/${STEP_IDS[Math.max(0, index - 1)]}`, 303);
    if (action === 'tester') {
      // The test says itself what is missing; the step's other choices (the retrieval method) come after it.
      await deps.wizard.test(step);
      errors = {};
    }
    if (action === 'suivant' && Object.keys(errors).length === 0) return c.redirect(`/setup/etape/${STEP_IDS[Math.min(STEP_IDS.length - 1, index + 1)] as StepId}`, 303);
    return c.html(await renderStep(deps.wizard, step, { ...view, errors }), Object.keys(errors).length ? 422 : 200);
  });
  app.post('/certificat/envoi', async (c) => {
    const body = await c.req.parseBody();
    const errors: Record<string, string> = {};
    for (const kind of ['p12', 'ca'] as const) {
      const file = body[kind];
      if (!(file instanceof File) || file.size === 0) continue;
      try {
        await deps.wizard.storeCertificate(kind, Buffer.from(await file.arrayBuffer()));
      } catch (err) {
        if (!(err instanceof SetupInputError)) throw err;
        errors[kind] = err.code;
      }
    }
    return c.html(await renderStep(deps.wizard, 'certificat', { csrf: formToken(c), origin: c.get('origin'), errors }), Object.keys(errors).length ? 422 : 200);
  });
  app.post('/appliquer', async (c) => {
    const result = deps.wizard.apply();
    if (result.ok) {
      // The touch screen's open access ends with the first setup: from now on, changing a setting asks for the PIN.
      deps.gate.closeAll();
      return c.html(String(ApplyingPage({ since: deps.startedAt })));
    }
    const error = result.reason === 'no-config-file' ? SETUP.apply.noConfigFile : result.reason === 'invalid' ? `${SETUP.apply.failed} ${result.detail}` : undefined;
    return c.html(await renderStep(deps.wizard, 'resume', { csrf: formToken(c), origin: c.get('origin'), ...(error ? { applyError: error } : {}) }), 422);
  });
  return app;
}
