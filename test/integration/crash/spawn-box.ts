import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const STDERR_TAIL_BYTES = 8_192;

/**
 * Starts crash/box-child.ts on `config` and resolves once it is ready, with the first line it prints (its ports).
 * Its stderr goes on to the test's, and the last 8 KiB of it are kept: a box that exits before it is ready says why
 * in the error (CI prints only the end of a run, not the child's log lines above it).
 */
export function spawnBoxChild(name: string, config: unknown): Promise<{ child: ChildProcess; ready: Record<string, unknown> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'box-child.ts')], {
    env: { ...process.env, CRASH_BOX_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, ready: JSON.parse(line) as Record<string, unknown> }));
    child.once('exit', (code, signal) => reject(new Error(`${name} exited with ${code ?? signal} before it was ready; its stderr ended with:\n${tail || '(nothing)'}`)));
  });
}
