import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { openDatabase, databaseFile, type Db } from '../../store/database.js';
import { AuditLog, type AuditQuery, type AuditRow } from '../../store/audit.js';
import { configFrom, configOptions, parseCommandArgs, UsageError, type Command } from '../args.js';

const help = `usage: drimbox audit list [--since WHEN] [--until WHEN] [--study UID] [--subject ID] [--limit N] [--json]
       drimbox audit export --since WHEN [--until WHEN] [--format csv|json] [--out FILE]

The image access trail: every DICOMweb request (who, what, when, outcome, bytes sent).
WHEN is an ISO date or time (2026-01-31, 2026-01-31T08:00:00Z) or a time back from now (90m, 24h, 7d).`;

const COLUMNS: (keyof AuditRow)[] = [
  'id', 'at', 'subjectNameId', 'rpps', 'callingBox', 'clientAddress', 'kosSopInstanceUid', 'method', 'path', 'action',
  'studyUid', 'seriesUid', 'sopInstanceUid', 'status', 'outcome', 'reason', 'instances', 'skipped', 'bytesSent', 'durationMs',
];

/** `--since` values: an ISO date or time, or a duration back from `now`. */
export function parseWhen(value: string, now = new Date()): string {
  const rel = /^(\d{1,6})([mhd])$/.exec(value.trim());
  if (rel) {
    const ms = Number(rel[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 'm' | 'h' | 'd'];
    return new Date(now.getTime() - ms).toISOString();
  }
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())) {
    throw new UsageError(`"${value}" is not a date (2026-01-31, 2026-01-31T08:00:00Z) nor a duration (90m, 24h, 7d)`);
  }
  const t = Date.parse(value.trim());
  if (Number.isNaN(t)) throw new UsageError(`"${value}" is not a valid date`);
  return new Date(t).toISOString();
}

/** RFC 4180 field; a value a spreadsheet would run as a formula is prefixed with a quote (paths come from callers). */
function csvField(value: unknown): string {
  if (value === undefined || value === null) return '';
  let s = String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', resolve));
}

/** Writes the rows as CSV or as a JSON array, one row at a time. Returns the number of rows. */
export async function exportAudit(rows: Iterable<AuditRow>, format: 'csv' | 'json', out: Writable): Promise<number> {
  let n = 0;
  if (format === 'csv') {
    await write(out, COLUMNS.join(',') + '\r\n');
    for (const row of rows) {
      await write(out, COLUMNS.map((c) => csvField(row[c])).join(',') + '\r\n');
      n++;
    }
    return n;
  }
  await write(out, '[');
  for (const row of rows) {
    await write(out, (n ? ',\n' : '\n') + JSON.stringify(row));
    n++;
  }
  await write(out, n ? '\n]\n' : ']\n');
  return n;
}

function formatRow(r: AuditRow): string {
  const what = r.sopInstanceUid ?? r.seriesUid ?? r.studyUid ?? '';
  const who = [r.subjectNameId, r.callingBox].filter(Boolean).join(' via ') || '-';
  const size = r.bytesSent >= 1_048_576 ? `${(r.bytesSent / 1_048_576).toFixed(1)} MB` : `${r.bytesSent} B`;
  return `#${r.id} ${r.at} ${r.status} ${r.outcome.padEnd(11)} ${r.action.padEnd(8)} ${who} ${what} ${r.instances} inst. ${size} ${r.durationMs} ms${r.reason ? ` — ${r.reason}` : ''}`;
}

const OPTIONS = {
  ...configOptions,
  since: { type: 'string' },
  until: { type: 'string' },
  study: { type: 'string' },
  subject: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
  format: { type: 'string' },
  out: { type: 'string' },
} as const;

/** The command's work on an open database (tests pass their own). */
export async function runAudit(argv: string[], db: Db, stdout: Writable = process.stdout): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  const [action] = positionals;
  const query: AuditQuery = {
    since: values.since ? parseWhen(values.since) : undefined,
    until: values.until ? parseWhen(values.until) : undefined,
    studyUid: values.study,
    subjectNameId: values.subject,
  };
  const audit = new AuditLog(db);
  switch (action) {
    case 'list': {
      const limit = values.limit === undefined ? 50 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
      const rows = audit.list({ ...query, limit });
      if (values.json) await write(stdout, JSON.stringify(rows, null, 2) + '\n');
      else for (const r of rows) await write(stdout, formatRow(r) + '\n');
      return 0;
    }
    case 'export': {
      if (!values.since) throw new UsageError('export needs --since (e.g. --since 30d)');
      const format = values.format ?? 'csv';
      if (format !== 'csv' && format !== 'json') throw new UsageError('--format is csv or json');
      const out = values.out ? createWriteStream(values.out, { flags: 'wx' }) : stdout;
      const n = await exportAudit(audit.iterate(query), format, out);
      if (values.out) {
        await new Promise<void>((resolve, reject) => (out as ReturnType<typeof createWriteStream>).end((err?: Error | null) => (err ? reject(err) : resolve())));
        process.stderr.write(`${n} access record(s) written to ${values.out}\n`);
      }
      return 0;
    }
    default:
      throw new UsageError(action ? `unknown action "${action}"\n${help}` : help);
  }
}

export const command: Command = {
  summary: 'the image access trail: who retrieved what, when, with what outcome (list, export as CSV or JSON)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, OPTIONS);
    if (values.help || positionals.length === 0) {
      process.stdout.write(help + '\n');
      return values.help ? 0 : 2;
    }
    const db = openDatabase(databaseFile(configFrom(values).dataDir));
    try {
      return await runAudit(argv, db);
    } finally {
      db.close();
    }
  },
};
