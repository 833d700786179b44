import { existsSync, renameSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { log } from './log/logger.js';
import { AdminGate } from './setup/admin-gate.js';
import { removeStaleTemporaries } from './setup/config-file.js';
import { startBox, type BoxOptions, type RunningBox } from './start-box.js';

export interface RestartRequest {
  /** Factory reset: the configuration file and the data folder's content are erased before the start. */
  wipe?: boolean;
}

/**
 * The box's services, restartable in place: the setup screen writes a configuration and asks for a restart — the
 * services drain (in-flight work ends), stop and start again on the new file, without rebooting the computer.
 * The administrators' sessions and the PIN's try counters outlive the restart.
 */
export class BoxRunner {
  private current: RunningBox | undefined;
  private restarting: Promise<void> | undefined;
  readonly gate: AdminGate;
  private config: Config;

  constructor(
    private readonly configFile: string | undefined,
    private readonly options: Omit<BoxOptions, 'configFile' | 'restart' | 'adminGate'> = {},
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.config = this.load();
    this.gate = new AdminGate(this.config.setup, () => this.config.setup.adminPinHash);
  }

  get box(): RunningBox {
    if (!this.current) throw new Error('the box is not running');
    return this.current;
  }

  private load(): Config {
    if (this.configFile) removeStaleTemporaries(this.configFile);
    // A missing file is a first run (embedded defaults): the setup screen writes it.
    return loadConfig({ env: this.configFile ? { ...this.env, DRIMBOX_CONFIG: this.configFile } : this.env });
  }

  async start(): Promise<RunningBox> {
    this.current = await startBox(this.config, {
      ...this.options,
      ...(this.configFile ? { configFile: this.configFile } : {}),
      env: this.env,
      adminGate: this.gate,
      restart: (request) => void this.restart(request),
    });
    return this.current;
  }

  /** One restart at a time; a failed start on the new file is logged and retried on the previous one. */
  restart(request: RestartRequest = {}): Promise<void> {
    this.restarting ??= this.doRestart(request).finally(() => (this.restarting = undefined));
    return this.restarting;
  }

  private async doRestart(request: RestartRequest): Promise<void> {
    // Let the answer that asked for the restart reach the browser first.
    await new Promise((r) => setTimeout(r, 200));
    const old = this.current;
    if (old) {
      await old.drain(old.config.device.stopGraceSeconds * 1000);
      await old.stop();
      this.current = undefined;
    }
    if (request.wipe) await this.wipe(old?.config ?? this.config);
    try {
      this.config = this.load();
      await this.start();
      log.info('services restarted on the new configuration', { wipe: !!request.wipe });
    } catch (err) {
      log.error('services could not start on the new configuration; back to the previous one', { error: err });
      // The file too: the next start of the process must not meet the configuration that failed.
      if (this.configFile && existsSync(`${this.configFile}.previous`)) renameSync(`${this.configFile}.previous`, this.configFile);
      this.config = old?.config ?? this.config;
      await this.start();
    }
  }

  private async wipe(config: Config): Promise<void> {
    if (resolve(config.dataDir) === resolve('/')) throw new Error('factory reset refused: dataDir is the root folder');
    if (this.configFile) for (const f of [this.configFile, `${this.configFile}.previous`]) await rm(f, { force: true });
    const entries = await readdir(config.dataDir).catch(() => [] as string[]);
    for (const name of entries) await rm(join(config.dataDir, name), { recursive: true, force: true });
    this.gate.closeAll();
    log.warn('factory reset: configuration and data erased', { dataDir: config.dataDir });
  }

  async stop(graceMs?: number): Promise<void> {
    await this.restarting;
    const box = this.current;
    if (!box) return;
    await box.drain(graceMs ?? box.config.device.stopGraceSeconds * 1000);
    await box.stop();
    this.current = undefined;
  }
}
