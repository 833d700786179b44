import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../log/logger.js';

/**
 * balena's update lock (../shared/reference/appliance-and-fleet.md §4.1): while the file exists — created
 * exclusively (O_CREAT|O_EXCL) and held by a process — the supervisor downloads an update but does not apply it.
 * The box holds it while long work is in flight and removes it as soon as the box is idle, so updates do land.
 * After `maxHoldMs` of continuous holding while an update waits, the box stops admitting new long work, keeps
 * the lock until in-flight work ends (at most `maxHoldMs` more), then lets the update through: neither lock nor
 * new long work until the update lands or, if it does not come, for one more `maxHoldMs`.
 */
export type UpdateLockState = 'free' | 'held' | 'draining' | 'letting-update-through' | 'held-by-another';

export interface UpdateLockStatus {
  state: UpdateLockState;
  file: string;
  /** When the box took the lock (held, draining). */
  since?: string;
  busy: number;
}

export interface UpdateLockOptions {
  file: string;
  maxHoldMs: number;
  busy: () => number;
  /** Whether an update waits to be applied; undefined when unknown (no supervisor): the max hold then applies. */
  updateWaiting: () => boolean | undefined;
  setAdmitting: (admitting: boolean) => void;
  log: Logger;
  now?: () => number;
}

const OWNER = 'drimbox';

function isAlive(pid: number | undefined): boolean {
  if (!Number.isInteger(pid) || pid! <= 0) return false;
  try {
    process.kill(pid!, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class UpdateLock {
  private fd: number | undefined;
  private heldSince: number | undefined;
  private draining = false;
  private letThroughUntil: number | undefined;
  private blockedByAnother = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: UpdateLockOptions) {
    this.now = options.now ?? Date.now;
    // Before any work takes the lock (the start's migrations): a lock a killed run left would make it "held by another".
    this.clearStale();
  }

  /** Removes a lock a previous run of the box left behind (a crash, a kill): it protects nothing any more. */
  clearStale(): void {
    try {
      const holder = JSON.parse(readFileSync(this.options.file, 'utf8')) as { holder?: string; pid?: number };
      // Ours from a run that is gone: its process is dead, or it was this very pid (PID 1 of a restarted container).
      if (holder.holder === OWNER && (holder.pid === process.pid || !isAlive(holder.pid))) {
        unlinkSync(this.options.file);
        this.options.log.warn('update lock: removed the lock a previous run left', { file: this.options.file });
      }
    } catch {
      // absent, or not ours (the supervisor's, another service's): left alone
    }
  }

  start(intervalMs = 1000): void {
    this.sync();
    this.timer = setInterval(() => this.sync(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.release();
    this.options.setAdmitting(true);
  }

  /** Brings the lock in line with the work in flight; called every second, and whenever work starts. */
  sync(): void {
    const now = this.now();
    if (this.letThroughUntil !== undefined) {
      // The box has let an update through: no lock and no new long work until it lands (the box is stopped) or,
      // if it does not come, for one more max hold.
      if (now < this.letThroughUntil && this.options.updateWaiting() !== false) return;
      this.letThroughUntil = undefined;
      this.options.setAdmitting(true);
    }
    const busy = this.options.busy();
    if (this.fd === undefined) {
      if (busy > 0) this.acquire();
      return;
    }
    const heldFor = now - this.heldSince!;
    if (busy === 0 || (this.draining && heldFor >= 2 * this.options.maxHoldMs)) {
      if (this.draining) {
        if (busy > 0) this.options.log.warn('update lock: in-flight work did not end in time; the update goes through', { busy });
        else this.options.log.info('update lock: in-flight work ended, the waiting update may now be applied');
        this.letThroughUntil = now + this.options.maxHoldMs;
      }
      this.release();
      return;
    }
    if (!this.draining && heldFor >= this.options.maxHoldMs && (this.options.updateWaiting() ?? true)) {
      this.draining = true;
      this.options.setAdmitting(false);
      this.options.log.warn('update lock: held too long while an update waits; new long work waits until in-flight work ends', { heldForMs: heldFor, busy });
    }
  }

  status(): UpdateLockStatus {
    const state: UpdateLockState =
      this.fd !== undefined ? (this.draining ? 'draining' : 'held') : this.letThroughUntil !== undefined ? 'letting-update-through' : this.blockedByAnother ? 'held-by-another' : 'free';
    return { state, file: this.options.file, since: this.heldSince ? new Date(this.heldSince).toISOString() : undefined, busy: this.options.busy() };
  }

  private acquire(): void {
    try {
      mkdirSync(dirname(this.options.file), { recursive: true });
      const fd = openSync(this.options.file, 'wx', 0o644);
      writeSync(fd, JSON.stringify({ holder: OWNER, pid: process.pid, since: new Date(this.now()).toISOString() }));
      this.fd = fd;
      this.heldSince = this.now();
      this.blockedByAnother = false;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        if (!this.blockedByAnother) this.options.log.info('update lock: held by another process (an update being applied?)', { file: this.options.file });
        this.blockedByAnother = true;
      } else {
        this.options.log.warn('update lock: cannot create the lock file; updates are not held back', { file: this.options.file, error: err });
      }
    }
  }

  private release(): void {
    if (this.fd !== undefined) {
      try {
        unlinkSync(this.options.file);
      } catch {
        // removed by an override (BALENA_SUPERVISOR_OVERRIDE_LOCK): nothing to undo
      }
      closeSync(this.fd);
      this.fd = undefined;
    }
    this.heldSince = undefined;
    this.draining = false;
  }
}
