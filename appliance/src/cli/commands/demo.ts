import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseCommandArgs, UsageError, type Command } from '../args.js';

// The demo drives the simulators of the test bed: it runs from a source checkout, not from the box image.
const demoModule = fileURLToPath(new URL('../../../../test/demo/demo.ts', import.meta.url));

export const command: Command = {
  summary: 'the two-site demonstration on simulators (--check: run the whole story headless and exit)',
  async run(argv) {
    const { values } = parseCommandArgs(argv, { check: { type: 'boolean' }, slices: { type: 'string' } }, false);
    if (values.help) {
      process.stdout.write('usage: drimbox demo [--check] [--slices N]\n');
      return 0;
    }
    if (!existsSync(demoModule)) throw new UsageError('the demonstration needs the project checkout (test/demo/): it is not part of the box image');
    const slices = values.slices === undefined ? undefined : Number(values.slices);
    if (slices !== undefined && (!Number.isInteger(slices) || slices < 1 || slices > 2000)) throw new UsageError('--slices takes a whole number from 1 to 2000');
    const { runDemo } = (await import(pathToFileURL(demoModule).href)) as typeof import('../../../../test/demo/demo.js');
    return runDemo({ check: values.check ?? false, slices });
  },
};
