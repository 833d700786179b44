/**
 * A DRIMbox run as its own process, the way the device runs it: `drimbox serve` (bin/drimbox.js: the sources through
 * tsx in a checkout, the bundle otherwise) on the configuration file the device reads, its data folder, a log file.
 * Seen from outside only: its ports, its HTTP routes, its CLI on the same file. It can be killed and started again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
export const DRIMBOX_BIN = join(ROOT, 'bin/drimbox.js');
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 15_000;
const LOG_TAIL_BYTES = 4_000;

export interface BoxProcessOptions {
  /** Names the log file: `<logDir>/<name>.log`. */
  name: string;
  dataDir: string;
  logDir: string;
  /** The configuration, as the device's file holds it (dataDir is set to `dataDir`). */
  config: Record<string, unknown>;
}

export interface BoxProcess {
  name: string;
  configFile: string;
  logFile: string;
  httpPort: number;
  pid(): number | undefined;
  /** Starts `drimbox serve` and waits for its HTTP listener; again after stop() or kill(), on the same data. */
  start(): Promise<void>;
  /** SIGTERM (the box drains), SIGKILL after a grace period. */
  stop(): Promise<void>;
  /** SIGKILL: the power cut. */
  kill(): Promise<void>;
  /** The end of the log file, for error messages. */
  logTail(): string;
}

/** The environment of the box: this one without DRIMBOX_* (the demo's file says everything). */
export function boxEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DRIMBOX_')));
  return { ...env, TCP_NODELAY: '1' };
}

function portOf(config: Record<string, unknown>): number {
  const port = (config.http as { port?: unknown } | undefined)?.port;
  if (typeof port !== 'number' || port <= 0) throw new Error('a box process needs a fixed http.port in its configuration');
  return port;
}

/** Boxes still running when this process ends (a crash, an uncaught error) go with it, never left behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

export function boxProcess(options: BoxProcessOptions): BoxProcess {
  mkdirSync(options.dataDir, { recursive: true });
  mkdirSync(options.logDir, { recursive: true });
  const configFile = join(options.dataDir, 'config.json');
  const logFile = join(options.logDir, `${options.name}.log`);
  writeFileSync(configFile, JSON.stringify({ ...options.config, dataDir: options.dataDir }, null, 2));
  const httpPort = portOf(options.config);
  let child: ChildProcess | undefined;

  const logTail = () => {
    try {
      const text = readFileSync(logFile, 'utf8');
      return text.slice(-LOG_TAIL_BYTES);
    } catch {
      return '(no log)';
    }
  };
  const signalAndWait = async (signal: NodeJS.Signals, graceMs: number) => {
    const c = child;
    if (!c) return;
    const gone = exited(c);
    c.kill(signal);
    const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), graceMs).unref());
    if ((await Promise.race([gone.then(() => 'gone' as const), timer])) === 'late') {
      c.kill('SIGKILL');
      await gone;
    }
    child = undefined;
  };

  return {
    name: options.name,
    configFile,
    logFile,
    httpPort,
    pid: () => child?.pid,
    async start() {
      if (child) throw new Error(`box ${options.name} is already running (pid ${child.pid})`);
      const fd = openSync(logFile, 'a');
      try {
        writeFileSync(fd, `--- ${new Date().toISOString()} drimbox serve --config ${configFile}\n`);
        child = spawn(process.execPath, [DRIMBOX_BIN, 'serve', '--config', configFile], { cwd: ROOT, env: boxEnv(), stdio: ['ignore', fd, fd] });
      } finally {
        closeSync(fd);
      }
      const started = child;
      running.add(started);
      started.once('exit', () => running.delete(started));
      let exit: string | undefined;
      started.once('exit', (code, signal) => (exit = `exited (${signal ?? `code ${code}`})`));
      const deadline = Date.now() + READY_TIMEOUT_MS;
      for (;;) {
        if (exit) {
          child = undefined;
          throw new Error(`box ${options.name} ${exit} before its HTTP listener answered; log ${logFile}:\n${logTail()}`);
        }
        // Any answer of /health is a listening box: 503 only says a peer (the PACS, the DMP) is not well.
        const res = await fetch(`http://127.0.0.1:${httpPort}/health`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
        if (res) {
          await res.body?.cancel();
          return;
        }
        if (Date.now() > deadline) {
          await signalAndWait('SIGKILL', 0);
          throw new Error(`box ${options.name} did not answer http://127.0.0.1:${httpPort}/health within ${READY_TIMEOUT_MS} ms; log ${logFile}:\n${logTail()}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    stop: () => signalAndWait('SIGTERM', STOP_GRACE_MS),
    kill: () => signalAndWait('SIGKILL', 0),
    logTail,
  };
}
