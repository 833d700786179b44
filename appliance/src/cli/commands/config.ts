import { redactSecrets } from '../../log/serialize.js';
import { configLeaves } from '../../config/load.js';
import { configFrom, configOptions, parseCommandArgs, UsageError, type Command } from '../args.js';

const help = `usage: drimbox config show [--config FILE]   the effective configuration (defaults < file < DRIMBOX_* env; secrets shown as [redacted])
       drimbox config keys                     every key, its environment variable and default
       drimbox config check [--config FILE]    validate, exit 1 naming the bad key`;

export const command: Command = {
  summary: 'show, list or check the configuration',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, configOptions);
    const [action] = positionals;
    if (values.help || !action) {
      process.stdout.write(help + '\n');
      return values.help ? 0 : 2;
    }
    switch (action) {
      case 'show':
        // Passwords, tokens, the PSC secret and PINs are never printed: a screen or a support ticket is not a vault.
        process.stdout.write(JSON.stringify(redactSecrets(configFrom(values)), null, 2) + '\n');
        return 0;
      case 'check':
        configFrom(values);
        process.stdout.write('configuration OK\n');
        return 0;
      case 'keys':
        for (const leaf of configLeaves()) {
          process.stdout.write(`${leaf.path.join('.').padEnd(36)} ${leaf.env.padEnd(44)} ${JSON.stringify(leaf.value)}\n`);
        }
        return 0;
      default:
        throw new UsageError(`unknown action "${action}"\n${help}`);
    }
  },
};
