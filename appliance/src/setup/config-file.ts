import { closeSync, copyFileSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';

type JsonObject = Record<string, unknown>;

/** The configuration file as written (no defaults, no environment): what the setup screen edits. */
export function readConfigFileJson(file: string): JsonObject {
  if (!existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${file} must hold a JSON object`);
  return parsed as JsonObject;
}

export function mergeJson(a: JsonObject, b: JsonObject): JsonObject {
  const out: JsonObject = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const prev = out[key];
    const bothObjects = [value, prev].every((v) => v !== null && typeof v === 'object' && !Array.isArray(v));
    out[key] = bothObjects ? mergeJson(prev as JsonObject, value as JsonObject) : value;
  }
  return out;
}

export interface WriteHooks {
  /** Between the fsync of the new file and the rename (the crash test stops the process here). */
  beforeRename?: () => void;
}

function fsyncPath(path: string, flags: 'r' | 'r+'): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes the configuration so that a power cut at any moment leaves the old file or the new one, whole: the content
 * is first validated by the start-up schema (with the same environment), written to a temporary file beside it,
 * fsynced, the current file copied to `<file>.previous`, then renamed over — a rename within a folder is atomic —
 * and the folder fsynced. A configuration the box could not start with is never written.
 */
export function writeConfigFile(file: string, content: JsonObject, env: NodeJS.ProcessEnv, hooks: WriteHooks = {}): Config {
  const dir = dirname(file);
  const temp = join(dir, `.${basename(file)}.${process.pid}.tmp`);
  const text = JSON.stringify(content, null, 2) + '\n';
  let config: Config;
  try {
    const fd = openSync(temp, 'w', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    config = loadConfig({ file: temp, env });
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  if (existsSync(file)) {
    copyFileSync(file, `${file}.previous`);
    fsyncPath(`${file}.previous`, 'r+');
  }
  hooks.beforeRename?.();
  renameSync(temp, file);
  fsyncPath(dir, 'r');
  return config;
}

/** Leftovers of a write cut short (a temporary file never renamed): removed at start, never read. */
export function removeStaleTemporaries(file: string): void {
  const prefix = `.${basename(file)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(file));
  } catch {
    return;
  }
  for (const name of names) if (name.startsWith(prefix) && name.endsWith('.tmp')) rmSync(join(dirname(file), name), { force: true });
}
