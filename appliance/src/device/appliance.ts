import { HostHealth, type HostSample } from './host-health.js';
import { configLeaves } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { FleetTelemetry, type FleetFacts } from './fleet-telemetry.js';
import { supervisorFromEnv, type SupervisorClient, type SupervisorDeviceState } from './supervisor.js';
import { UpdateLock, type UpdateLockStatus } from './update-lock.js';
import { WorkTracker } from './work-tracker.js';

export type UpdateState = 'waiting-for-transfers' | 'draining' | 'applying' | 'imminent';

/** The box as a balena appliance: the work in flight, the update lock that protects it, the fleet's view. */
export interface DeviceStatus {
  work: ReturnType<WorkTracker['byKind']>;
  admitting: boolean;
  updateLock?: UpdateLockStatus;
  /** The supervisor's view of updates; absent off balena. */
  update?: SupervisorDeviceState & { checkedAt: string };
  /** What the box is doing about an update (the screens say it in French: ui/strings/status.ts `update`). */
  updateState?: UpdateState;
  /** Configuration keys whose value comes from a fleet or device variable (DRIMBOX_*), never their values. */
  fleetVariables: { key: string; env: string }[];
  /** The computer: temperature, throttling, load, memory, uptime (the last sample). */
  host?: HostSample;
}

const SUPERVISOR_POLL_MS = 30_000;

export class Appliance {
  readonly work = new WorkTracker();
  readonly lock: UpdateLock | undefined;
  readonly supervisor: SupervisorClient | undefined;
  readonly host: HostHealth;
  private update: DeviceStatus['update'];
  private telemetry: FleetTelemetry | undefined;
  private poller: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: Config['device'],
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: Logger,
  ) {
    this.supervisor = supervisorFromEnv(env);
    this.host = new HostHealth(config.hostSampleSeconds * 1000, log);
    this.lock = config.updateLockFile
      ? new UpdateLock({
          file: config.updateLockFile,
          maxHoldMs: config.maxUpdateLockHoldMinutes * 60_000,
          busy: () => this.work.busy(),
          // Without a supervisor, whether an update waits is unknown: the max hold then applies anyway.
          updateWaiting: () => (this.update ? this.update.updatePending || this.update.updateDownloaded : undefined),
          setAdmitting: (admitting) => this.work.setAdmitting(admitting),
          log,
        })
      : undefined;
    if (this.lock) this.work.whenWorkBegins(() => this.lock!.sync());
  }

  /** Work that must not be cut by an update (migrations at start): the lock is taken before it, released after. */
  guard<T>(kind: Parameters<WorkTracker['begin']>[0], work: () => T): T {
    const end = this.work.begin(kind);
    try {
      return work();
    } finally {
      end();
      this.lock?.sync();
    }
  }

  start(collect: () => Promise<FleetFacts>): void {
    this.lock?.start();
    this.host.start();
    if (!this.supervisor) return;
    void this.refreshUpdateState(0);
    this.poller = setInterval(() => void this.refreshUpdateState(0), SUPERVISOR_POLL_MS);
    this.poller.unref();
    this.telemetry = new FleetTelemetry(this.supervisor, collect, this.log);
    this.telemetry.start(this.config.telemetryIntervalSeconds * 1000);
  }

  /** Asks the supervisor again when what the box knows is older than `maxAgeMs` (the status screen: 5 s). */
  async refreshUpdateState(maxAgeMs = 5_000): Promise<void> {
    if (!this.supervisor) return;
    if (this.update && Date.now() - Date.parse(this.update.checkedAt) < maxAgeMs) return;
    try {
      this.update = { ...(await this.supervisor.deviceState()), checkedAt: new Date().toISOString() };
    } catch (err) {
      this.log.warn('supervisor: update state unavailable', { error: err });
    }
  }

  stop(): void {
    this.host.stop();
    if (this.poller) clearInterval(this.poller);
    this.telemetry?.stop();
    this.lock?.stop();
  }

  /** Sends the fleet tags now (tests, and a status screen's "report now"). */
  reportNow(): Promise<Record<string, string>> {
    return this.telemetry?.report() ?? Promise.resolve({});
  }

  status(): DeviceStatus {
    const lock = this.lock?.status();
    const waiting = this.update && (this.update.updateDownloaded || this.update.updatePending);
    let updateState: UpdateState | undefined;
    if (lock?.state === 'held' && waiting) updateState = 'waiting-for-transfers';
    else if (lock?.state === 'draining') updateState = 'draining';
    else if (lock?.state === 'letting-update-through') updateState = 'applying';
    else if (waiting) updateState = 'imminent';
    return {
      work: this.work.byKind(),
      admitting: this.work.admits(),
      updateLock: lock,
      update: this.update,
      ...(updateState ? { updateState } : {}),
      fleetVariables: configLeaves()
        .filter((leaf) => this.env[leaf.env] !== undefined)
        .map((leaf) => ({ key: leaf.path.join('.'), env: leaf.env })),
      ...(this.host.latest() ? { host: this.host.latest()! } : {}),
    };
  }
}
