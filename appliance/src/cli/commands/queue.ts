import { openDatabase, databaseFile } from '../../store/database.js';
import { Outbox, type OutboxState } from '../../store/outbox.js';
import { ReportInbox } from '../../store/report-inbox.js';
import { configFrom, configOptions, parseCommandArgs, UsageError, type Command } from '../args.js';

const help = `usage: drimbox queue list [--state pending|sending|done|waiting-retry|dead] [--json]
       drimbox queue inbox [--state received|waiting|held|done|rejected|duplicate|failed] [--json]
       drimbox queue release ID --by NAME         publish a held report: its study's patient was checked by a person
       drimbox queue refuse ID --by NAME          never publish a held report
       drimbox queue retry ID... | --all-dead      make DMP operations due now
       drimbox queue retry-inbox ID...             process stored report messages again
       drimbox queue purge --older-than DAYS [--include-dead]`;

const outboxStates = ['pending', 'sending', 'done', 'waiting-retry', 'dead'];

export const command: Command = {
  summary: 'the DMP outbox and the report inbox: what is waiting, stuck or dead, and why',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      ...configOptions,
      state: { type: 'string' },
      json: { type: 'boolean' },
      'all-dead': { type: 'boolean' },
      'older-than': { type: 'string' },
      'include-dead': { type: 'boolean' },
      by: { type: 'string' },
    });
    const [action, ...ids] = positionals;
    if (values.help || !action) {
      process.stdout.write(help + '\n');
      return values.help ? 0 : 2;
    }
    const config = configFrom(values);
    const db = openDatabase(databaseFile(config.dataDir));
    try {
      const outbox = new Outbox(db);
      const inbox = new ReportInbox(db);
      switch (action) {
        case 'list': {
          if (values.state && !outboxStates.includes(values.state)) throw new UsageError(`unknown state "${values.state}"`);
          const rows = outbox.list({ state: values.state as OutboxState | undefined });
          if (values.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
          else {
            const c = outbox.counts();
            process.stdout.write(`outbox: ${Object.entries(c).map(([k, v]) => `${v} ${k}`).join(', ')}\n`);
            for (const r of rows) {
              const when = r.state === 'waiting-retry' ? ` next ${r.nextAttemptAt}` : '';
              process.stdout.write(`#${r.id} ${r.op.padEnd(8)} ${r.state.padEnd(13)} attempts ${r.attempts} ${r.uniqueId}${when}${r.lastError ? `\n      ${r.lastError}` : ''}\n`);
            }
          }
          return 0;
        }
        case 'inbox': {
          const rows = inbox.list({ state: values.state as never });
          if (values.json) process.stdout.write(JSON.stringify(rows.map(({ raw, ...r }) => ({ ...r, bytes: raw.length })), null, 2) + '\n');
          else for (const r of rows) process.stdout.write(`#${r.id} ${r.receivedAt} ${r.channel} ${r.messageType ?? ''} ${r.state}${r.error ? ` — ${r.error}` : ''}\n`);
          return 0;
        }
        case 'retry': {
          const n = values['all-dead'] ? outbox.retry('all-dead') : outbox.retry(parseIds(ids));
          process.stdout.write(`${n} operation(s) due now\n`);
          return 0;
        }
        case 'retry-inbox': {
          const n = parseIds(ids).filter((id) => inbox.retry(id)).length;
          process.stdout.write(`${n} message(s) will be processed again\n`);
          return 0;
        }
        case 'release':
        case 'refuse': {
          const by = values.by?.trim();
          if (!by) throw new UsageError(`${action} needs --by NAME: who checked the patient (kept with the report)`);
          const done = parseIds(ids).filter((id) => (action === 'release' ? inbox.release(id, by) : inbox.refuse(id, by)));
          process.stdout.write(`${done.length} held report(s) ${action === 'release' ? 'released: they will be published' : 'refused: they will not be published'}\n`);
          return done.length === ids.length ? 0 : 1;
        }
        case 'purge': {
          const days = Number(values['older-than']);
          if (!Number.isFinite(days) || days < 0) throw new UsageError('purge needs --older-than DAYS');
          const n = outbox.purge({ before: new Date(Date.now() - days * 86_400_000), includeDead: values['include-dead'] });
          process.stdout.write(`${n} finished operation(s) purged\n`);
          return 0;
        }
        default:
          throw new UsageError(`unknown action "${action}"\n${help}`);
      }
    } finally {
      db.close();
    }
  },
};

function parseIds(ids: string[]): number[] {
  if (ids.length === 0) throw new UsageError('give the ids to retry (see "drimbox queue list")');
  return ids.map((s) => {
    const n = Number(s.replace(/^#/, ''));
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`"${s}" is not an id`);
    return n;
  });
}
