import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../appliance/src/config/load.js';
import { removeStaleTemporaries, writeConfigFile } from '../../appliance/src/setup/config-file.js';

const CHILD = join(import.meta.dirname, 'crash', 'config-write-child.ts');
let dir: string;
let file: string;
const OLD = { box: { name: 'Cabinet ancien' }, pacs: { aeTitle: 'ANCIEN', port: 104 } };
const NEW = { box: { name: 'Cabinet nouveau' }, pacs: { aeTitle: 'NOUVEAU', port: 11112 } };

/** Runs the writer in its own process; with `kill`, SIGKILLs it between the fsync and the rename. */
function runChild(content: object, kill: boolean): Promise<{ code: number | null; signal: NodeJS.Signals | null; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, file, JSON.stringify(content), kill ? 'yes' : 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (line === 'before-rename') child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, lines }));
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drimbox-config-write-'));
  file = join(dir, 'config.json');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the setup screen writes the configuration atomically', () => {
  it('a kill between the write and the rename leaves the old file whole; the leftover is cleaned, never read', async () => {
    writeFileSync(file, JSON.stringify(OLD));
    const run = await runChild(NEW, true);
    expect(run.signal).toBe('SIGKILL');
    expect(run.lines).toEqual(['before-rename']);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(OLD);
    expect(loadConfig({ file, env: {} }).pacs.aeTitle).toBe('ANCIEN');
    const leftovers = readdirSync(dir).filter((n) => n.endsWith('.tmp'));
    expect(leftovers).toHaveLength(1);
    // The temporary file was complete (fsynced) — but it is not the configuration until renamed.
    expect(JSON.parse(readFileSync(join(dir, leftovers[0]!), 'utf8'))).toEqual(NEW);
    removeStaleTemporaries(file);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a write that completes leaves the new file and the previous one beside it', async () => {
    writeFileSync(file, JSON.stringify(OLD));
    const run = await runChild(NEW, false);
    expect(run.code).toBe(0);
    expect(loadConfig({ file, env: {} }).pacs.aeTitle).toBe('NOUVEAU');
    expect(JSON.parse(readFileSync(`${file}.previous`, 'utf8'))).toEqual(OLD);
  });

  it('never writes a configuration the box could not start with', () => {
    writeFileSync(file, JSON.stringify(OLD));
    expect(() => writeConfigFile(file, { pacs: { port: 70000 } }, {})).toThrow(ConfigError);
    expect(() => writeConfigFile(file, { pacs: { nonsense: true } }, {})).toThrow(/unknown configuration key/);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(OLD);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(file)).toBe(true);
  });

  it('validates with the same environment as the start (a fleet variable that breaks it refuses the write)', () => {
    writeFileSync(file, JSON.stringify(OLD));
    expect(() => writeConfigFile(file, NEW, { DRIMBOX_PACS_PORT: 'abc' })).toThrow(/DRIMBOX_PACS_PORT/);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(OLD);
  });
});
