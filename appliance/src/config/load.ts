import { readFileSync, existsSync } from 'node:fs';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Embedded defaults: the schema applied to nothing. */
export function defaultConfig(): Config {
  return configSchema.parse({});
}

/** `pacs.aeTitle` → `DRIMBOX_PACS_AE_TITLE`. */
export function envName(path: string[]): string {
  return 'DRIMBOX_' + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

/** Every leaf of the defaults, with the environment variable that overrides it. */
export function configLeaves(): { path: string[]; env: string; value: Json }[] {
  const out: { path: string[]; env: string; value: Json }[] = [];
  const walk = (node: JsonObject, path: string[]) => {
    for (const [key, value] of Object.entries(node)) {
      const p = [...path, key];
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) walk(value, p);
      else out.push({ path: p, env: envName(p), value });
    }
  };
  walk(defaultConfig() as unknown as JsonObject, []);
  return out;
}

function parseEnvValue(env: string, raw: string, like: Json): Json {
  if (typeof like === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${env}: expected a number, got "${raw}"`);
    return n;
  }
  if (typeof like === 'boolean') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new ConfigError(`${env}: expected true or false, got "${raw}"`);
  }
  if (Array.isArray(like)) return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return raw;
}

function setPath(target: JsonObject, path: string[], value: Json): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as JsonObject;
  }
  node[path[path.length - 1]!] = value;
}

function readConfigFile(file: string): JsonObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${file} must hold a JSON object`);
  }
  return parsed as JsonObject;
}

export interface LoadOptions {
  /** Config file written by the setup screen or the technician; DRIMBOX_CONFIG otherwise. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Overrides applied last (tests, CLI flags). */
  overrides?: JsonObject;
}

/** Defaults, then the config file, then DRIMBOX_* variables (how balena fleet/device variables arrive). */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? env.DRIMBOX_CONFIG;
  const merged: JsonObject = file && (options.file || existsSync(file)) ? readConfigFile(file) : {};
  for (const leaf of configLeaves()) {
    const raw = env[leaf.env];
    if (raw !== undefined) setPath(merged, leaf.path, parseEnvValue(leaf.env, raw, leaf.value));
  }
  const input = options.overrides ? deepMerge(merged, options.overrides) : merged;
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      const key = i.path.join('.');
      const envHint = i.path.length ? ` (env ${envName(i.path.map(String))})` : '';
      return `${key || '(root)'}${envHint}: ${i.message}`;
    });
    throw new ConfigError(`invalid configuration${file ? ` (file ${file})` : ''}:\n  ${problems.join('\n  ')}`);
  }
  const unknown = unknownKeys(input, defaultConfig() as unknown as JsonObject, []);
  if (unknown.length) throw new ConfigError(`unknown configuration key(s): ${unknown.join(', ')}`);
  return result.data;
}

function deepMerge(a: JsonObject, b: JsonObject): JsonObject {
  const out: JsonObject = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev)
        ? deepMerge(prev, v)
        : v;
  }
  return out;
}

function unknownKeys(input: JsonObject, known: JsonObject, path: string[]): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(input)) {
    if (!(k in known)) out.push([...path, k].join('.'));
    else {
      const ref = known[k];
      if (v && typeof v === 'object' && !Array.isArray(v) && ref && typeof ref === 'object' && !Array.isArray(ref)) {
        out.push(...unknownKeys(v, ref, [...path, k]));
      }
    }
  }
  return out;
}
