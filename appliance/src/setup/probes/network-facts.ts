import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import si from 'systeminformation';

/** The box's network and clock as the setup wizard shows them. A fact that cannot be read is 'unknown', never an error. */
export interface InterfaceFacts {
  name: string;
  mac: string | 'unknown';
  up: boolean | 'unknown';
  /** Carries the default route. */
  isDefault: boolean | 'unknown';
  addresses: { family: 'IPv4' | 'IPv6'; address: string; prefix: number; cidr: string }[];
}

export interface NetworkFacts {
  hostname: string;
  interfaces: InterfaceFacts[];
  defaultGateway: string | 'unknown';
  dnsServers: string[] | 'unknown';
  clock: { now: string; timezone: string | 'unknown'; ntpSynchronized: boolean | 'unknown' };
}

const STEP_TIMEOUT_MS = 3_000;

/** A promise that gives up with `fallback` after STEP_TIMEOUT_MS, or when it rejects. */
function bounded<T>(promise: Promise<T>, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), STEP_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([promise.catch(() => fallback), late]).finally(() => clearTimeout(timer));
}

function run(command: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: STEP_TIMEOUT_MS, maxBuffer: 64 * 1024 }, (err, stdout) => resolve(err ? undefined : stdout.trim()));
  });
}

/** `timedatectl` (systemd), else systemd-timesyncd's flag file; 'unknown' where neither exists (containers). */
export async function ntpSynchronized(): Promise<boolean | 'unknown'> {
  const answer = await run('timedatectl', ['show', '-p', 'NTPSynchronized', '--value']);
  if (answer === 'yes') return true;
  if (answer === 'no') return false;
  if (existsSync('/run/systemd/timesync/synchronized')) return true;
  if (existsSync('/run/systemd/timesync')) return false;
  return 'unknown';
}

/** The `nameserver` lines of a resolv.conf, in order. */
export function parseResolvConf(text: string): string[] {
  return text
    .split('\n')
    .map((line) => /^\s*nameserver\s+(\S+)/.exec(line)?.[1])
    .filter((server): server is string => server !== undefined);
}

async function dnsServers(): Promise<string[] | 'unknown'> {
  try {
    return parseResolvConf(await readFile('/etc/resolv.conf', 'utf8'));
  } catch {
    return 'unknown';
  }
}

type DetailedInterface = si.Systeminformation.NetworkInterfacesData;

function interfaces(detailed: DetailedInterface[] | undefined): InterfaceFacts[] {
  const byName = new Map((detailed ?? []).map((d) => [d.iface, d] as const));
  const out = new Map<string, InterfaceFacts>();
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    const external = (addresses ?? []).filter((a) => !a.internal);
    if (external.length === 0) continue;
    out.set(name, {
      name,
      mac: external[0]!.mac && external[0]!.mac !== '00:00:00:00:00:00' ? external[0]!.mac : 'unknown',
      up: 'unknown',
      isDefault: 'unknown',
      addresses: external.map((a) => ({ family: a.family, address: a.address, prefix: Number(a.cidr?.split('/')[1] ?? NaN), cidr: a.cidr ?? 'unknown' })),
    });
  }
  // Interfaces with no address (a cable unplugged) are worth showing too: systeminformation lists them.
  for (const d of byName.values()) {
    if (d.internal) continue;
    const known = out.get(d.iface) ?? { name: d.iface, mac: d.mac || 'unknown', up: 'unknown', isDefault: 'unknown', addresses: [] };
    known.up = d.operstate === 'up' ? true : d.operstate === 'down' ? false : 'unknown';
    known.isDefault = d.default;
    if (known.mac === 'unknown' && d.mac) known.mac = d.mac;
    out.set(d.iface, known);
  }
  return [...out.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export async function networkFacts(): Promise<NetworkFacts> {
  const [detailed, gateway, dns, ntp] = await Promise.all([
    bounded(si.networkInterfaces(), undefined),
    bounded(si.networkGatewayDefault(), ''),
    bounded(dnsServers(), 'unknown' as const),
    bounded(ntpSynchronized(), 'unknown' as const),
  ]);
  let timezone: string;
  try {
    timezone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'unknown';
  } catch {
    timezone = 'unknown';
  }
  return {
    hostname: hostname(),
    interfaces: interfaces(Array.isArray(detailed) ? detailed : detailed ? [detailed] : undefined),
    defaultGateway: gateway || 'unknown',
    dnsServers: dns,
    clock: { now: new Date().toISOString(), timezone, ntpSynchronized: ntp },
  };
}
