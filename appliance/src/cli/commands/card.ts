import { TokenError } from '../../auth/pkcs11/errors.js';
import { defaultCardModule, describeToken } from '../../auth/pkcs11/card-info.js';
import { Pkcs11Module } from '../../auth/pkcs11/module.js';
import { listTokens } from '../../auth/pkcs11/tokens.js';
import { configFrom, configOptions, parseCommandArgs, UsageError, type Command } from '../args.js';

const help = `usage: drimbox card info [--module PATH]

  info     prints, as JSON, the tokens present on the PKCS#11 module (CPS cards in their readers, HSM tokens)
           and the holder each certificate names (national id, surname, given name, profession). No PIN needed.
  --module the PKCS#11 module (default: pkcs11.card.module of the configuration, else OpenSC's opensc-pkcs11.so)`;

export const command: Command = {
  summary: 'CPS cards and PKCS#11 tokens present, and whom they name',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { ...configOptions, module: { type: 'string' } });
    const [action, ...rest] = positionals;
    if (values.help || !action) {
      process.stdout.write(help + '\n');
      return values.help ? 0 : 2;
    }
    if (action !== 'info') throw new UsageError(`unknown card action "${action}" (info)`);
    if (rest.length) throw new UsageError('card info takes no positional argument');
    const module = values.module ?? (configFrom(values).pkcs11.card.module || defaultCardModule());
    if (!module) throw new UsageError('no PKCS#11 module: give --module PATH (OpenSC: apt install opensc-pkcs11)');
    try {
      const m = Pkcs11Module.open(module);
      const tokens = listTokens(m.direct()).map(describeToken);
      m.close();
      process.stdout.write(JSON.stringify({ module, tokens }, null, 2) + '\n');
      return 0;
    } catch (err) {
      if (err instanceof TokenError) {
        process.stderr.write(`drimbox card info: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
  },
};
