import { SETUP } from '../../../ui/strings/setup.js';
import { Hono } from 'hono';
import type { AdminGate } from '../setup/admin-gate.js';
import type { SetupWizard } from '../setup/wizard.js';
import { createStatusReporter, type StatusDeps } from '../device/status-report.js';
import { runHealthChecks, type HealthCheck, type HealthReport } from '../device/health.js';
import type { Outbox } from '../store/outbox.js';
import { requireCsrf, withSession, type AdminEnv } from './admin-access.js';
import { createSetupRoutes, type SetupRoutesDeps } from './setup-routes.js';
import { createStatusRoutes } from './status-routes.js';
import type { LanEnv } from './lan-app.js';

export interface PracticeScreensDeps extends Omit<SetupRoutesDeps, 'wizard' | 'gate'> {
  wizard: SetupWizard;
  gate: AdminGate;
  health: HealthCheck[];
  status: Omit<StatusDeps, 'health'>;
  outbox: Pick<Outbox, 'retry'>;
  wakeOutbox: () => void;
  boxName: string;
}

const HEALTH_CACHE_MS = 5_000;

/** One C-ECHO every few seconds at most, however many screens are open. */
function cachedHealth(checks: HealthCheck[]): () => Promise<HealthReport> {
  let last: { at: number; report: Promise<HealthReport> } | undefined;
  return () => {
    if (!last || Date.now() - last.at > HEALTH_CACHE_MS) last = { at: Date.now(), report: runHealthChecks(checks) };
    return last.report;
  };
}

/** The touch screen's and the administrator's pages on the practice's side: `/setup` and `/status`, one gate. */
export function mountPracticeScreens(app: Hono<LanEnv>, deps: PracticeScreensDeps): void {
  app.route('/setup', createSetupRoutes(deps));
  const status = new Hono<AdminEnv>();
  status.use('*', withSession({ gate: deps.gate, isSetUp: () => deps.wizard.isSetUp(), secureLan: deps.secureLan }));
  status.use('*', requireCsrf(deps.gate, (c) => c.text(SETUP.access.forbidden, 403)));
  status.route('/', createStatusRoutes({ report: createStatusReporter({ ...deps.status, health: cachedHealth(deps.health) }).report, outbox: deps.outbox, wake: deps.wakeOutbox, boxName: deps.boxName }));
  app.route('/status', status);
}
