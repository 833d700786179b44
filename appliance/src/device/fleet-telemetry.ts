import type { Logger } from '../log/logger.js';
import type { Outbox } from '../store/outbox.js';
import { BOX_VERSION } from '../version.js';
import type { DiskGuard } from './disk-guard.js';
import { runHealthChecks, type HealthCheck } from './health.js';
import type { SupervisorClient } from './supervisor.js';

/**
 * The box's health where the vendor's fleet tool sees it: a few coarse device tags (no patient data, low churn:
 * dates not times, disk in steps of 100 MB), sent through the supervisor only when a value changed. Tag names
 * are read by `drimbox-fleet` (provisioning/fleet): keep them in step.
 */
export interface FleetFacts {
  health: 'ok' | 'warn' | 'fail';
  /** DMP operations waiting (pending, sending, waiting-retry). */
  queue: number;
  dead: number;
  lastPublication?: string;
  certificateExpiry?: Date;
  diskFreeBytes?: number;
  version: string;
}

/** Checks whose failure means the box is failing its practice (not merely degraded): the fleet sees `fail`. */
const FAILING_CHECKS = ['dmp-outbox', 'disk', 'report-inbox'];

export async function collectFleetFacts(deps: { health: HealthCheck[]; outbox: Pick<Outbox, 'counts' | 'lastDeliveredAt'>; disk: DiskGuard; certificateExpiry?: Date }): Promise<FleetFacts> {
  const report = await runHealthChecks(deps.health);
  const counts = deps.outbox.counts();
  const space = await deps.disk.check().catch(() => undefined);
  return {
    health: report.ok ? 'ok' : report.checks.some((c) => !c.ok && FAILING_CHECKS.includes(c.name)) ? 'fail' : 'warn',
    queue: counts.pending + counts.sending + counts['waiting-retry'],
    dead: counts.dead,
    lastPublication: deps.outbox.lastDeliveredAt(),
    certificateExpiry: deps.certificateExpiry,
    diskFreeBytes: space?.freeBytes,
    version: BOX_VERSION,
  };
}

export function fleetTags(f: FleetFacts): Record<string, string> {
  const day = (iso: string | Date) => new Date(iso).toISOString().slice(0, 10);
  return {
    'drimbox.health': f.health,
    'drimbox.queue': String(f.queue),
    'drimbox.dead': String(f.dead),
    'drimbox.lastPublication': f.lastPublication ? day(f.lastPublication) : 'never',
    'drimbox.certExpiry': f.certificateExpiry ? day(f.certificateExpiry) : 'none',
    'drimbox.diskFreeMb': f.diskFreeBytes === undefined ? 'unknown' : String(Math.floor(f.diskFreeBytes / 100e6) * 100),
    'drimbox.version': f.version,
  };
}

export class FleetTelemetry {
  private sent: Record<string, string> = {};
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly supervisor: SupervisorClient,
    private readonly collect: () => Promise<FleetFacts>,
    private readonly log: Logger,
  ) {}

  start(intervalMs: number): void {
    void this.report();
    this.timer = setInterval(() => void this.report(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Sends the tags that changed since the last accepted report; returns what was sent. */
  async report(): Promise<Record<string, string>> {
    try {
      const tags = fleetTags(await this.collect());
      const changed = Object.fromEntries(Object.entries(tags).filter(([k, v]) => this.sent[k] !== v));
      if (Object.keys(changed).length === 0) return {};
      await this.supervisor.setTags(changed);
      this.sent = { ...this.sent, ...changed };
      return changed;
    } catch (err) {
      this.log.warn('fleet telemetry: tags not sent (next try at the next report)', { error: err });
      return {};
    }
  }
}
