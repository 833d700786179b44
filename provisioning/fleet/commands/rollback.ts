import type { Command } from '../command.js';
import { FleetError, describe } from '../sdk.js';
import { findRelease, listDevices, recordRing } from '../fleet.js';
import { selectDevices } from '../select.js';

export const rollback: Command = {
  usage: 'rollback --fleet ORG/FLEET --to COMMIT (--all | --tag KEY=VALUE | --devices UUID,...)   back to an earlier release',
  options: { to: { type: 'string' }, all: { type: 'boolean' }, tag: { type: 'string' }, devices: { type: 'string' } },
  async run({ balena, fleet, values, out }) {
    if (typeof values.to !== 'string') throw new FleetError('rollback needs --to COMMIT (the release to go back to)');
    const release = await findRelease(balena, fleet, values.to);
    try {
      if (values.all) {
        if (values.tag !== undefined || values.devices !== undefined) throw new FleetError('--all is the whole fleet: no --tag or --devices with it');
        await balena.models.application.pinToRelease(fleet, release.commit);
        const pinned = (await listDevices(balena, fleet)).filter((d) => d.pinned && d.pinned !== release.commit);
        if (pinned.length) {
          await balena.models.device.pinToRelease(pinned.map((d) => d.uuid), release.commit);
          await recordRing(balena, pinned.map((d) => d.uuid), 'rollback', release.commit);
        }
        out(`fleet ${fleet} pinned to ${release.commit.slice(0, 7)} (and ${pinned.length} device(s) pinned elsewhere)\n`);
        return 0;
      }
      const chosen = selectDevices(await listDevices(balena, fleet), { tag: values.tag as string | undefined, devices: values.devices as string | undefined });
      if (chosen.length) {
        await balena.models.device.pinToRelease(chosen.map((d) => d.uuid), release.commit);
        await recordRing(balena, chosen.map((d) => d.uuid), 'rollback', release.commit);
      }
      out(`${chosen.length} device(s) pinned back to ${release.commit.slice(0, 7)}\n`);
      return 0;
    } catch (err) {
      if (err instanceof FleetError) throw err;
      throw new FleetError(`rollback to ${release.commit.slice(0, 7)}: ${describe(err)}`);
    }
  },
};
