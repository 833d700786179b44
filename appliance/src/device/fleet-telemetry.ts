import type { Logger } from '../log/logger.js';
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
