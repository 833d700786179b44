import { Hono } from 'hono';
import { createStatusReporter, type StatusDeps } from '../device/status-report.js';
import { runHealthChecks, type HealthCheck, type HealthReport } from '../device/health.js';
import type { Outbox } from '../store/outbox.js';
import { createSetupRoutes, type SetupRoutesDeps } from './setup-routes.js';
import { createStatusRoutes } from './status-routes.js';
import type { LanEnv } from './lan-app.js';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Db } from '../store/database.js';
import type { StoreScp } from '../dimse/index.js';
import type { Hl7ExchangeLog } from '../source/hl7-exchange-log.js';
import type { Logger } from '../log/logger.js';
import type { BoxCertificate } from '../device/box-certificate.js';
import type { ReportInbox } from '../store/report-inbox.js';
import type { KosArchive } from '../store/kos-archive.js';
import type { DiskGuard } from '../device/disk-guard.js';
import type { Appliance } from '../device/appliance.js';
import type { RestartRequest } from '../box-runner.js';
import { AdminGate } from '../setup/admin-gate.js';
import { SetupDraft } from '../setup/draft-store.js';
import { SetupWizard } from '../setup/wizard.js';
import { bindSetupProbes } from '../setup/bind-probes.js';
import { lanAddress } from '../setup/lan-address.js';
import { FolderSize } from '../device/folder-size.js';
import { BOX_VERSION } from '../version.js';

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
  const access = { gate: deps.gate, isSetUp: () => deps.wizard.isSetUp(), secureLan: deps.secureLan };
  const report = createStatusReporter({ ...deps.status, health: cachedHealth(deps.health) }).report;
  app.route('/status', createStatusRoutes({ access, report, outbox: deps.outbox, wake: deps.wakeOutbox, boxName: deps.boxName }));
}

export interface PracticeSide {
  config: Config;
  db: Db;
  scp: StoreScp;
  mllpPort: number;
  hl7Exchanges: Hl7ExchangeLog;
  env: NodeJS.ProcessEnv;
  configFile?: string;
  restart?: (request: RestartRequest) => void;
  adminGate?: AdminGate;
  log: Logger;
  certificate: BoxCertificate | undefined;
  outbox: Outbox;
  inbox: ReportInbox;
  archive: KosArchive;
  dmpCertificateNotAfter: Date | undefined;
  disk: DiskGuard;
  appliance: Appliance;
  health: HealthCheck[];
  wakeOutbox: () => void;
}

/** The wizard, the administrators' gate and the screens of the running box, wired to its parts. */
export function practiceScreensFor(p: PracticeSide): { wizard: SetupWizard; gate: AdminGate; mount(app: Hono<LanEnv>): void } {
  const { config, log } = p;
  const gate = p.adminGate ?? new AdminGate(config.setup, () => config.setup.adminPinHash);
  const wizard = new SetupWizard({
    config,
    configFile: p.configFile,
    env: p.env,
    draft: new SetupDraft(p.db),
    probes: bindSetupProbes({ config, scp: p.scp }),
    hl7: p.hl7Exchanges,
    hl7Port: p.mllpPort,
    hl7Address: () => lanAddress(config.hl7.host),
    onApplied: () => (p.restart ? p.restart({}) : log.warn('setup: configuration written; restart the box to apply it')),
    log: log.child({ component: 'setup' }),
  });
  const startedAt = new Date().toISOString();
  const cacheSize = new FolderSize(config.consumer.cacheDir || join(config.dataDir, 'consumer-cache'));
  const { outbox, certificate } = p;
  const deps: PracticeScreensDeps = {
    wizard,
    gate,
    secureLan: !!certificate,
    startedAt,
    factoryReset: () => (p.restart ? p.restart({ wipe: true }) : log.warn('factory reset needs the box runner (drimbox serve)')),
    pendingPublications: () => {
      const c = outbox.counts();
      return c.pending + c['waiting-retry'] + c.sending;
    },
    health: p.health,
    outbox,
    wakeOutbox: p.wakeOutbox,
    boxName: config.box.name,
    status: {
      outbox,
      inbox: p.inbox,
      archive: p.archive,
      dmpConfigured: p.dmpCertificateNotAfter !== undefined,
      certificates: () => [
        ...(p.dmpCertificateNotAfter ? [{ id: 'dmp' as const, notAfter: p.dmpCertificateNotAfter }] : []),
        ...(certificate ? [{ id: 'tls' as const, notAfter: certificate.notAfter }] : []),
      ],
      disk: () => p.disk.check(),
      minFreeBytes: config.storage.minFreeMegabytes * 1_048_576,
      cacheBytes: () => cacheSize.current(),
      host: () => p.appliance.host.latest(),
      device: () => p.appliance.status(),
      version: BOX_VERSION,
    },
  };
  return { wizard, gate, mount: (app) => mountPracticeScreens(app, deps) };
}
