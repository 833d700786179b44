import { ConfigError } from '../config/load.js';
import { PacsError } from '../dimse/types.js';
import { UsageError, type Command } from './args.js';

// Lazy: a subcommand loads only what it needs (the SCU diagnostics must not open the database).
const commands: Record<string, () => Promise<{ command: Command }>> = {
  serve: () => import('./commands/serve.js'),
  config: () => import('./commands/config.js'),
  pacs: () => import('./commands/pacs.js'),
  synth: () => import('./commands/synth.js'),
  hl7: () => import('./commands/hl7.js'),
  kos: () => import('./commands/kos.js'),
  queue: () => import('./commands/queue.js'),
  xds: () => import('./commands/xds.js'),
  audit: () => import('./commands/audit.js'),
  card: () => import('./commands/card.js'),
};

async function usage(): Promise<string> {
  const lines = ['usage: drimbox <command> [options]   (drimbox <command> --help for details)', ''];
  for (const [name, load] of Object.entries(commands)) {
    try {
      lines.push(`  ${name.padEnd(8)} ${(await load()).command.summary}`);
    } catch {
      // a command whose module is not there yet is simply not listed
    }
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write((await usage()) + '\n');
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`drimbox: unknown command "${name}"\n\n${await usage()}\n`);
    return 2;
  }
  const { command } = await load();
  return command.run(rest);
}

// `drimbox ... | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

process.on('unhandledRejection', (reason) => {
  // Logged, never fatal: one bad association must not take the box down.
  process.stderr.write(`drimbox: unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}\n`);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof PacsError || err instanceof UsageError) {
      process.stderr.write(`drimbox: ${err.message}\n`);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    } else {
      process.stderr.write(`drimbox: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
