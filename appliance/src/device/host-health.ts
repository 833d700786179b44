import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import si from 'systeminformation';
import type { Logger } from '../log/logger.js';

/**
 * The computer the box runs on, for the status screen and the fleet: CPU temperature and throttling, load, memory,
 * uptime. Sampled on an interval and kept: readers get the last sample at once, no probe ever runs on a request's
 * path. systeminformation reads /proc and /sys asynchronously; `vcgencmd get_throttled` (Raspberry Pi firmware)
 * runs as a child process with a timeout, only where it exists.
 */
export interface HostSample {
  at: string;
  /** °C; null where the kernel exposes no sensor (VMs, containers on PCs). */
  cpuTemperatureC: number | null;
  /** Average CPU use since the previous sample, %. */
  cpuLoadPercent: number;
  memoryTotalBytes: number;
  memoryAvailableBytes: number;
  uptimeSeconds: number;
  /** Raspberry Pi firmware flags; absent elsewhere. */
  throttling?: Throttling;
}

export interface Throttling {
  raw: string;
  underVoltageNow: boolean;
  frequencyCappedNow: boolean;
  throttledNow: boolean;
  softTemperatureLimitNow: boolean;
  underVoltageSinceBoot: boolean;
  frequencyCappedSinceBoot: boolean;
  throttledSinceBoot: boolean;
  softTemperatureLimitSinceBoot: boolean;
}

/**
 * `throttled=0x50005` as the firmware prints it. Bits (Raspberry Pi documentation, "vcgencmd get_throttled"):
 * 0 under-voltage, 1 ARM frequency capped, 2 throttled, 3 soft temperature limit — now; 16–19 the same since boot.
 */
export function parseThrottled(output: string): Throttling | undefined {
  const m = /throttled=(0x[0-9a-f]+)/i.exec(output);
  if (!m) return undefined;
  const v = Number.parseInt(m[1]!, 16);
  const bit = (n: number) => (v & (1 << n)) !== 0;
  return {
    raw: m[1]!.toLowerCase(),
    underVoltageNow: bit(0),
    frequencyCappedNow: bit(1),
    throttledNow: bit(2),
    softTemperatureLimitNow: bit(3),
    underVoltageSinceBoot: bit(16),
    frequencyCappedSinceBoot: bit(17),
    throttledSinceBoot: bit(18),
    softTemperatureLimitSinceBoot: bit(19),
  };
}

const VCGENCMD = ['/usr/bin/vcgencmd', '/opt/vc/bin/vcgencmd'];

function vcgencmdThrottled(): Promise<Throttling | undefined> {
  const tool = VCGENCMD.find((p) => existsSync(p));
  if (!tool) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    execFile(tool, ['get_throttled'], { timeout: 2_000 }, (err, stdout) => resolve(err ? undefined : parseThrottled(stdout)));
  });
}

export class HostHealth {
  private last: HostSample | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The last sample (undefined until the first one ends). Never waits. */
  latest(): HostSample | undefined {
    return this.last;
  }

  /** Takes a sample now (overlapping calls share it). */
  sample(): Promise<void> {
    this.running ??= this.take().finally(() => (this.running = undefined));
    return this.running;
  }

  private async take(): Promise<void> {
    try {
      const [temperature, memory, load, throttling] = await Promise.all([si.cpuTemperature(), si.mem(), si.currentLoad(), vcgencmdThrottled()]);
      this.last = {
        at: new Date().toISOString(),
        cpuTemperatureC: typeof temperature.main === 'number' && temperature.main > 0 ? temperature.main : null,
        cpuLoadPercent: Math.round(load.currentLoad * 10) / 10,
        memoryTotalBytes: memory.total,
        memoryAvailableBytes: memory.available,
        uptimeSeconds: Math.round(si.time().uptime),
        ...(throttling ? { throttling } : {}),
      };
    } catch (err) {
      this.log.warn('host health sample failed', { error: err });
    }
  }
}
