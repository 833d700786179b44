import type { Command } from '../command.js';
import { listDevices } from '../fleet.js';
import { boxHealth } from '../health.js';
import { healthTable } from '../format.js';

export const list: Command = {
  usage: 'list --fleet ORG/FLEET [--json]   every box with its health from its device tags',
  options: { json: { type: 'boolean' } },
  async run({ balena, fleet, values, out }) {
    const boxes = (await listDevices(balena, fleet)).map(boxHealth);
    out(values.json ? JSON.stringify(boxes, null, 2) + '\n' : healthTable(boxes));
    return 0;
  },
};
