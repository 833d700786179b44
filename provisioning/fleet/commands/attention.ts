import type { Command } from '../command.js';
import { FleetError } from '../sdk.js';
import { listDevices } from '../fleet.js';
import { attentionReasons, boxHealth } from '../health.js';
import { table } from '../format.js';

export const attention: Command = {
  usage: 'attention --fleet ORG/FLEET [--cert-days 30] [--json]   boxes with dead letters, a certificate about to expire, failing or offline',
  options: { json: { type: 'boolean' }, 'cert-days': { type: 'string' } },
  async run({ balena, fleet, values, out, now }) {
    const days = values['cert-days'] === undefined ? 30 : Number(values['cert-days']);
    if (!Number.isInteger(days) || days < 0) throw new FleetError(`--cert-days takes a whole number of days, got "${String(values['cert-days'])}"`);
    const boxes = (await listDevices(balena, fleet)).map(boxHealth);
    const needing = boxes.map((b) => ({ ...b, reasons: attentionReasons(b, now, days) })).filter((b) => b.reasons.length > 0);
    if (values.json) out(JSON.stringify(needing, null, 2) + '\n');
    else if (needing.length === 0) out(`all ${boxes.length} boxes of ${fleet} are fine\n`);
    else out(table(['NAME', 'UUID', 'REASONS'], needing.map((b) => [b.name, b.uuid.slice(0, 7), b.reasons.join('; ')])));
    return 0;
  },
};
