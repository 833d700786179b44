import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { waitFor } from './ports.js';

/** DCMTK leaves Nagle on unless TCP_NODELAY=1 (44–89 ms stall per instance otherwise). */
const env = { ...process.env, TCP_NODELAY: '1' };

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a dcmtk tool (echoscu, storescu, findscu, getscu, movescu...) to its end, killing it after timeoutMs. */
export function runDcmtk(tool: string, args: string[], timeoutMs = 120_000): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(tool, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

export interface StoreScpPeer {
  pid: number;
  port: number;
  aeTitle: string;
  outDir: string;
  stop(): Promise<void>;
}

/**
 * dcmtk's storescp on a loopback port, writing what it receives to outDir. bitPreserving (+B) writes the
 * dataset bytes exactly as received, so a test can compare them with what was sent.
 */
export async function startStorescp(options: { port: number; aeTitle: string; outDir: string; bitPreserving?: boolean; acceptAll?: boolean }): Promise<StoreScpPeer> {
  mkdirSync(options.outDir, { recursive: true });
  const args = ['--aetitle', options.aeTitle, '--output-directory', options.outDir];
  if (options.bitPreserving) args.push('--bit-preserving');
  if (options.acceptAll) args.push('+xa');
  args.push(String(options.port));
  const child: ChildProcess = spawn('storescp', args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  let dead = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => ((dead = true), resolve())));
  await waitFor(
    () =>
      new Promise<boolean>((resolve, reject) => {
        if (dead) return reject(new Error(`storescp exited: ${stderr}`));
        const socket = createConnection({ host: '127.0.0.1', port: options.port }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      }),
    10_000,
    `storescp on port ${options.port}`,
  );
  return {
    pid: child.pid!,
    port: options.port,
    aeTitle: options.aeTitle,
    outDir: options.outDir,
    async stop() {
      if (!dead) {
        process.kill(child.pid!, 'SIGTERM');
        await exited;
      }
    },
  };
}
