import type { Command } from '../command.js';
import { FleetError, describe } from '../sdk.js';
import { findRelease, listDevices, recordRing } from '../fleet.js';
import { selectDevices } from '../select.js';
import { ringLabel } from '../rollout.js';

export const pin: Command = {
  usage: 'pin --fleet ORG/FLEET --release COMMIT (--tag KEY=VALUE | --fraction 0.05 | --devices UUID,...) [--dry-run]   staged rollout',
  options: { release: { type: 'string' }, tag: { type: 'string' }, fraction: { type: 'string' }, devices: { type: 'string' }, 'dry-run': { type: 'boolean' } },
  async run({ balena, fleet, values, out }) {
    if (typeof values.release !== 'string') throw new FleetError('pin needs --release COMMIT');
    const release = await findRelease(balena, fleet, values.release);
    const chosen = selectDevices(await listDevices(balena, fleet), { tag: values.tag as string | undefined, fraction: values.fraction as string | undefined, devices: values.devices as string | undefined });
    const todo = chosen.filter((d) => d.pinned !== release.commit);
    out(`${values['dry-run'] ? 'would pin' : 'pinning'} ${todo.length} device(s) to ${release.commit.slice(0, 7)} (${chosen.length - todo.length} already on it)\n`);
    for (const d of todo) out(`  ${d.name} ${d.uuid.slice(0, 7)}\n`);
    if (values['dry-run'] || todo.length === 0) return 0;
    try {
      await balena.models.device.pinToRelease(todo.map((d) => d.uuid), release.commit);
      // How each device was chosen, kept on it: the rollout can be audited, widened without reshuffling, undone.
      const how = values.fraction !== undefined ? ringLabel(Number(values.fraction)) : values.tag !== undefined ? `tag:${String(values.tag)}` : 'devices';
      await recordRing(balena, todo.map((d) => d.uuid), how, release.commit);
    } catch (err) {
      throw new FleetError(`pinning to ${release.commit.slice(0, 7)}: ${describe(err)}`);
    }
    return 0;
  },
};
