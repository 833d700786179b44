/**
 * Bench helpers around one pull of a published study: the consumer's pull in a child process (wan-pull-child.ts,
 * optionally pinned to CPUs with taskset), and the anchor: curl fetching the same series URLs with the same headers,
 * one after another, each written to a file.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { KosManifest } from '../../appliance/src/dicom/kos/index.js';
import { SOURCE_ACCEPT } from '../../appliance/src/consumer/source-client.js';
import { imageMallocEnv, imageNodeFlags } from './image-runtime.js';
import type { PullOrder, PullReport } from './wan-pull-child.js';

interface RunOptions {
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Written to the child's stdin, which is then ended unless `keepStdinOpen`. */
  input?: string;
  keepStdinOpen?: boolean;
  /** Told the child's whole stdout so far at each piece of it, with its stdin (to answer it). */
  onStdout?: (stdout: string, stdin: Writable) => void;
}

function run(command: string, args: string[], options: RunOptions = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      options.onStdout?.(stdout, child.stdin);
    });
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    if (options.input) child.stdin.write(options.input);
    if (!options.keepStdinOpen) child.stdin.end();
  });
}

/** `cpus`: a taskset CPU list ("0") to pin the child to, or undefined to let it run anywhere. */
function pinned(cpus: string | undefined, command: string, args: string[]): [string, string[]] {
  return cpus === undefined ? [command, args] : ['taskset', ['-c', cpus, command, ...args]];
}

/**
 * The child runs with the image's Node flags and malloc settings, as the box that pulls does. With `order.warmUp`,
 * `beforeMeasured` runs once the child has warmed up, before its measured pull (to settle the page cache).
 * PULL_CHILD_PROFILE=DIR: it writes a V8 CPU profile there; PULL_CHILD_FLAGS="…": Node flags added to the image's
 * (e.g. --trace-opt).
 */
export async function pullInChild(order: PullOrder, cpus?: string, beforeMeasured?: () => void): Promise<PullReport> {
  const profile = process.env.PULL_CHILD_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PULL_CHILD_PROFILE}`] : [];
  const extra = process.env.PULL_CHILD_FLAGS?.split(' ').filter(Boolean) ?? [];
  const [cmd, args] = pinned(cpus, process.execPath, [...imageNodeFlags(), ...extra, ...profile, '--import', 'tsx', join(import.meta.dirname, 'wan-pull-child.ts')]);
  const { code, stdout, stderr } = await run(cmd, args, {
    env: imageMallocEnv(),
    input: `${JSON.stringify(order)}\n`,
    keepStdinOpen: !!order.warmUp,
    onStdout: (out, stdin) => {
      if (/^warmed$/m.test(out) && stdin.writable) {
        beforeMeasured?.();
        stdin.end('go\n');
      }
    },
  });
  // The report is the last line of JSON (flags such as --trace-deopt may print after it).
  const last = stdout.trim().split('\n').filter((line) => line.startsWith('{')).pop() ?? '';
  if (code !== 0 || !last.startsWith('{')) throw new Error(`pull child failed (exit ${code}): ${stderr}`);
  const report = JSON.parse(last) as PullReport;
  if (report.state !== 'done') throw new Error(`pull child ended ${report.state}: ${report.message ?? ''}`);
  return report;
}

/**
 * curl of every series URL of the manifest, one after another, each multipart answer written to a file.
 * `keepIn`: the files are left in a new folder there, as a pull with `keepCache` leaves its cache (the caller
 * deletes it), so that no run follows a deletion and each finds the disk as the others did (test/bench/README.md).
 */
export async function curlSeries(manifest: KosManifest, accessToken: string, cpus?: string, keepIn?: string): Promise<{ ms: number; bytes: number }> {
  const dir = mkdtempSync(join(keepIn ?? tmpdir(), 'curl-anchor-'));
  try {
    let bytes = 0;
    const start = performance.now();
    for (const [i, s] of manifest.series.entries()) {
      const file = join(dir, `series-${i}.multipart`);
      const [cmd, args] = pinned(cpus, 'curl', [
        '-sS', '--fail', '-o', file,
        '-H', `accept: ${SOURCE_ACCEPT}`,
        '-H', `authorization: Bearer ${accessToken}`,
        '-H', `kos-sopinstanceuid: ${manifest.sopInstanceUid}`,
        s.retrieveUrl!,
      ]);
      const r = await run(cmd, args);
      if (r.code !== 0) throw new Error(`curl ${s.retrieveUrl} failed: ${r.stderr}`);
      bytes += statSync(file).size;
    }
    return { ms: performance.now() - start, bytes };
  } finally {
    if (!keepIn) rmSync(dir, { recursive: true, force: true });
  }
}
