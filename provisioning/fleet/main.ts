/**
 * `drimbox-fleet`: the vendor's tool for a fleet of DRIMboxes on balena (never run on a box). BALENA_API_KEY is the
 * vendor's token; BALENA_API_URL another API than balenaCloud (open-balena, the tests' fake).
 */
import { parseArgs } from 'node:util';
import type { Command } from './command.js';
import { FleetError, connect, describe } from './sdk.js';
import { attention } from './commands/attention.js';
import { list } from './commands/list.js';
import { pin } from './commands/pin.js';
import { register } from './commands/register.js';
import { rollback } from './commands/rollback.js';
import { trackLatest } from './commands/track-latest.js';

const COMMANDS: Record<string, Command> = { register, list, attention, pin, rollback, 'track-latest': trackLatest };

function usage(): string {
  return ['usage: drimbox-fleet <command> --fleet ORG/FLEET [options]   (BALENA_API_KEY in the environment)', '', ...Object.entries(COMMANDS).map(([, c]) => `  ${c.usage}`)].join('\n') + '\n';
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`drimbox-fleet: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  let values: CommandContextValues;
  try {
    values = parseArgs({ args: rest, options: { fleet: { type: 'string' }, help: { type: 'boolean', short: 'h' }, ...command.options }, allowPositionals: false, strict: true }).values as CommandContextValues;
  } catch (err) {
    process.stderr.write(`drimbox-fleet ${name}: ${(err as Error).message}\nusage: drimbox-fleet ${command.usage}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`usage: drimbox-fleet ${command.usage}\n`);
    return 0;
  }
  if (typeof values.fleet !== 'string' || !/^[\w.-]+\/[\w.-]+$/.test(values.fleet)) {
    process.stderr.write(`drimbox-fleet ${name}: --fleet ORG/FLEET is required (the fleet's slug)\n`);
    return 2;
  }
  const balena = await connect(process.env);
  return command.run({ balena, fleet: values.fleet, values, out: (t) => process.stdout.write(t), now: new Date() });
}

type CommandContextValues = Record<string, string | boolean | string[] | undefined>;

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`drimbox-fleet: ${err instanceof FleetError ? err.message : describe(err)}\n`);
    process.exitCode = 1;
  },
);
