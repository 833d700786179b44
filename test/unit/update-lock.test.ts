import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UpdateLock } from '../../appliance/src/device/update-lock.js';
import { WorkTracker } from '../../appliance/src/device/work-tracker.js';
import { log } from '../../appliance/src/log/logger.js';
import { Appliance } from '../../appliance/src/device/appliance.js';
import { deviceConfigSchema } from '../../appliance/src/device/config-schema.js';

const MAX_HOLD = 60_000;
let dir: string;
let file: string;
let clock: number;
let waiting: boolean | undefined;
let work: WorkTracker;
let lock: UpdateLock;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'drimbox-lock-'));
  file = join(dir, 'balena/updates.lock');
  clock = 1_000_000;
  waiting = undefined;
  work = new WorkTracker();
  lock = new UpdateLock({
    file,
    maxHoldMs: MAX_HOLD,
    busy: () => work.busy(),
    updateWaiting: () => waiting,
    setAdmitting: (a) => work.setAdmitting(a),
    log,
    now: () => clock,
  });
});

afterEach(() => {
  lock.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the update lock', () => {
  it('exists exactly while long work is in flight', () => {
    lock.sync();
    expect(existsSync(file)).toBe(false);
    const end = work.begin('wado-stream');
    lock.sync();
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ holder: 'drimbox', pid: process.pid });
    expect(lock.status().state).toBe('held');
    const endPull = work.begin('pull');
    end();
    lock.sync();
    expect(existsSync(file)).toBe(true);
    endPull();
    lock.sync();
    expect(existsSync(file)).toBe(false);
    expect(lock.status().state).toBe('free');
  });

  it('counts the work components report themselves (DMP submissions)', () => {
    let submitting = 1;
    work.register('dmp-submission', () => submitting);
    lock.sync();
    expect(existsSync(file)).toBe(true);
    submitting = 0;
    lock.sync();
    expect(existsSync(file)).toBe(false);
  });

  it('leaves a lock it does not own alone, and says so', () => {
    mkdirSync(join(dir, 'balena'), { recursive: true });
    writeFileSync(file, ''); // the supervisor's, created as nobody while it applies an update
    work.begin('import');
    lock.start(60_000);
    expect(lock.status().state).toBe('held-by-another');
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  it('removes the lock a killed previous run left behind, not the lock of another live box', () => {
    mkdirSync(join(dir, 'balena'), { recursive: true });
    writeFileSync(file, JSON.stringify({ holder: 'drimbox', pid: process.pid, since: '2026-01-01T00:00:00Z' }));
    lock.clearStale();
    expect(existsSync(file)).toBe(false);
    writeFileSync(file, JSON.stringify({ holder: 'drimbox', pid: 2 ** 22 + 12345, since: '2026-01-01T00:00:00Z' }));
    lock.clearStale();
    expect(existsSync(file)).toBe(false);
    writeFileSync(file, JSON.stringify({ holder: 'drimbox', pid: process.ppid, since: '2026-01-01T00:00:00Z' }));
    lock.clearStale();
    expect(existsSync(file)).toBe(true);
  });

  it('after the max hold while an update waits: no new long work, the lock kept until in-flight work ends, then the update goes through', () => {
    const end = work.begin('pull');
    lock.sync();
    clock += MAX_HOLD - 1;
    waiting = false;
    lock.sync();
    expect(work.admits()).toBe(true);
    waiting = true;
    clock += 1;
    lock.sync();
    expect(lock.status().state).toBe('draining');
    expect(work.admits()).toBe(false);
    expect(existsSync(file)).toBe(true);
    end();
    lock.sync();
    expect(existsSync(file)).toBe(false);
    expect(lock.status().state).toBe('letting-update-through');
    expect(work.admits()).toBe(false);
    // Work that started anyway (a report) takes no lock while the update is let through...
    const report = work.begin('report');
    lock.sync();
    expect(existsSync(file)).toBe(false);
    report();
    // ...and if the update does not come, the box resumes after one more max hold.
    clock += MAX_HOLD;
    lock.sync();
    expect(work.admits()).toBe(true);
    expect(lock.status().state).toBe('free');
  });

  it('lets the update through when in-flight work never ends', () => {
    work.begin('wado-stream');
    waiting = true;
    lock.sync();
    clock += MAX_HOLD;
    lock.sync();
    expect(lock.status().state).toBe('draining');
    clock += MAX_HOLD;
    lock.sync();
    expect(existsSync(file)).toBe(false);
  });
});

describe('the box at start', () => {
  it('holds the lock during its migrations even when a killed run left its lock behind', () => {
    mkdirSync(join(dir, 'balena'), { recursive: true });
    writeFileSync(file, JSON.stringify({ holder: 'drimbox', pid: 2 ** 22 + 12345, since: '2026-01-01T00:00:00Z' }));
    const appliance = new Appliance(deviceConfigSchema.parse({ updateLockFile: file }), {}, log);
    const holder = appliance.guard('migration', () => JSON.parse(readFileSync(file, 'utf8')) as { pid: number });
    expect(holder.pid).toBe(process.pid);
    expect(existsSync(file)).toBe(false);
    appliance.stop();
  });
});
