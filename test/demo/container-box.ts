/**
 * The demo's source box run from the shipped image (`--source-image localhost/drimbox:test`): read-only root, its own
 * unprivileged user, an empty /data volume holding only the configuration the demo writes and the certificates the
 * DMP simulator issued. Host networking, so the box reaches the PACS and the simulators on loopback as on a LAN.
 */
import { execFile } from 'node:child_process';
import { chownSync, copyFileSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { reservedPorts, waitFor } from '../peers/ports.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
/** The image's unprivileged user (os-image/appliance/Dockerfile). */
const BOX_UID = 1000;

/** podman with this machine's settings (scripts/podman-here.sh). */
export function podman(args: string[], options: { timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  return run('bash', ['-c', 'source scripts/podman-here.sh && podman_here "$@"', 'podman', ...args], {
    cwd: ROOT,
    timeout: options.timeoutMs ?? 120_000,
    maxBuffer: 1 << 26,
    env: { ...process.env, STORAGE_DRIVER: 'vfs' },
  });
}

export interface ContainerBox {
  name: string;
  dataDir: string;
  kioskPort: number;
  logs(): Promise<string>;
  stop(): Promise<void>;
}

function chownTree(path: string): void {
  chownSync(path, BOX_UID, BOX_UID);
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) chownTree(join(path, name));
}

/**
 * Starts the image on `config` (the overrides a box would get in-process, file paths on the host): every file the
 * configuration names is copied into the volume, and the configuration rewritten to point there.
 */
export async function startContainerBox(image: string, dataDir: string, config: Record<string, unknown>, files: Record<string, string>): Promise<ContainerBox> {
  mkdirSync(join(dataDir, 'files'), { recursive: true });
  const byHostPath = new Map<string, string>();
  for (const [key, hostPath] of Object.entries(files)) {
    const name = `${key}-${basename(hostPath)}`;
    copyFileSync(hostPath, join(dataDir, 'files', name));
    byHostPath.set(hostPath, `/data/files/${name}`);
  }
  // The configuration's (demoPorts: below the ephemeral range, distinct), or one taken the same way.
  const configured = (config.kiosk as { port?: unknown } | undefined)?.port;
  const kioskPort = typeof configured === 'number' && configured > 0 ? configured : (await reservedPorts(1))[0]!;
  const rewritten = JSON.parse(JSON.stringify(config, (_k, v: unknown) => (typeof v === 'string' && byHostPath.has(v) ? byHostPath.get(v) : v))) as Record<string, unknown>;
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ ...rewritten, dataDir: '/data', kiosk: { port: kioskPort } }, null, 2));
  chownTree(dataDir);
  const name = `drimbox-demo-${process.pid}-${Date.now()}`;
  await podman([
    'run', '-d', '--rm', '--no-healthcheck', '--name', name, '--read-only', '--tmpfs', '/tmp', '-v', `${dataDir}:/data`, '--network=host',
    '-e', 'DRIMBOX_CONFIG=/data/config.json', '-e', 'TCP_NODELAY=1', image,
  ]);
  const box: ContainerBox = {
    name,
    dataDir,
    kioskPort,
    logs: async () => {
      const { stdout, stderr } = await podman(['logs', name]).catch((err: Error) => ({ stdout: '', stderr: err.message }));
      return stdout + stderr;
    },
    stop: async () => {
      await podman(['stop', '--time', '30', name]).catch(() => undefined);
    },
  };
  try {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${kioskPort}/health`).catch(() => undefined))?.ok === true, 60_000, `the box in ${image} to answer /health`);
  } catch (err) {
    const logs = await box.logs();
    await box.stop();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
  return box;
}
