/** The box's own CLI on its configuration file, as a technician runs it next to the running service. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { boxEnv, DRIMBOX_BIN } from './box-process.js';

const run = promisify(execFile);
const CLI_TIMEOUT_MS = 30_000;

/** One row of `drimbox queue list --json`: the fields the demo and its tests read. */
export interface QueueRow {
  id: number;
  op: string;
  uniqueId: string;
  state: 'pending' | 'sending' | 'done' | 'waiting-retry' | 'dead';
  attempts: number;
  lastError: string | null;
}

export async function drimbox(configFile: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(process.execPath, [DRIMBOX_BIN, ...args, '--config', configFile], { env: boxEnv(), timeout: CLI_TIMEOUT_MS, maxBuffer: 1 << 24 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`drimbox ${args.join(' ')} --config ${configFile} failed: ${e.message}${e.stderr ? `\n${e.stderr}` : ''}`);
  }
}

/** The DMP outbox of the box that reads `configFile`. */
export async function queueList(configFile: string): Promise<QueueRow[]> {
  const text = await drimbox(configFile, ['queue', 'list', '--json']);
  try {
    return JSON.parse(text) as QueueRow[];
  } catch (err) {
    throw new Error(`drimbox queue list --json: not JSON (${(err as Error).message}): ${text.slice(0, 200)}`);
  }
}
