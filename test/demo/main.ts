/**
 * `npm run demo [-- --check] [-- --slices N] [-- --source-image IMAGE]`: the two-site demonstration on the simulators of
 * the test bed (with --source-image, the source box runs from the shipped image: scripts/build-image.sh). It runs
 * from a checkout (it needs test/peers), never from the box image: it is not a `drimbox` command.
 */
import { parseArgs } from 'node:util';
import { runDemo } from './demo.js';

const { values } = parseArgs({ options: { check: { type: 'boolean' }, slices: { type: 'string' }, 'source-image': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  process.stdout.write('usage: npm run demo [-- --check] [-- --slices N] [-- --source-image localhost/drimbox:test]\n');
  process.exit(0);
}
const slices = values.slices === undefined ? undefined : Number(values.slices);
if (slices !== undefined && (!Number.isInteger(slices) || slices < 1 || slices > 2000)) {
  process.stderr.write('demo: --slices takes a whole number from 1 to 2000\n');
  process.exit(2);
}
process.exit(await runDemo({ check: values.check ?? false, slices, sourceImage: values['source-image'] }));
