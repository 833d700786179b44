/**
 * One log event as a JSON line: the event's own keys (time, level, message) can never be overwritten by a field;
 * errors keep their code, status, stack and cause chain; secrets never reach the log, whatever the depth.
 */

const RESERVED = new Set(['t', 'level', 'msg']);
/** Field names whose values are secrets: tokens, PINs, passwords, cookies, authorisation headers, keys. */
const SECRET = /authorization|token|password|passwd|passphrase|secret|pin[-_]?hash|(^|_|-)pin($|_|-|code)|cookie|api[-_]?key|private[-_]?key/i;
const MAX_DEPTH = 6;
const MAX_CAUSES = 5;

function errorObject(err: Error, depth: number, seen: Set<unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  for (const [k, v] of Object.entries(err)) if (k !== 'cause') out[k] = clean(v, depth + 1, seen, k);
  if (err.stack) out.stack = err.stack;
  let cause = (err as { cause?: unknown }).cause;
  const causes: unknown[] = [];
  for (let i = 0; cause !== undefined && i < MAX_CAUSES; i++) {
    const code = cause instanceof Error ? (cause as Error & { code?: unknown }).code : undefined;
    causes.push(cause instanceof Error ? { name: cause.name, message: cause.message, ...(typeof code === 'string' ? { code } : {}) } : clean(cause, depth + 1, seen));
    cause = cause instanceof Error ? (cause as { cause?: unknown }).cause : undefined;
  }
  if (causes.length) out.cause = causes.length === 1 ? causes[0] : causes;
  return out;
}

function clean(value: unknown, depth: number, seen: Set<unknown>, key?: string): unknown {
  if (key !== undefined && SECRET.test(key) && value !== undefined && value !== null && value !== '') return '[redacted]';
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  if (depth > MAX_DEPTH) return '[too deep]';
  seen.add(value);
  try {
    if (value instanceof Error) return errorObject(value, depth, seen);
    if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
    if (value instanceof Date) return value.toISOString();
    if (Array.isArray(value)) return value.map((v) => clean(v, depth + 1, seen));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = clean(v, depth + 1, seen, k);
    return out;
  } finally {
    seen.delete(value);
  }
}

/** The JSON line of one event: reserved keys first and unchangeable; a field named like one is kept as `field.<name>`. */
/** A value as the logs would show it: secrets (by field name, at any depth) replaced by "[redacted]". */
export function redactSecrets<T>(value: T): unknown {
  return clean(value, 0, new Set());
}

export function serializeEvent(level: string, msg: string, fields: Record<string, unknown>, now: Date = new Date()): string {
  const out: Record<string, unknown> = { t: now.toISOString(), level, msg };
  const seen = new Set<unknown>();
  for (const [k, v] of Object.entries(fields)) out[RESERVED.has(k) ? `field.${k}` : k] = clean(v, 1, seen, k);
  return JSON.stringify(out);
}
