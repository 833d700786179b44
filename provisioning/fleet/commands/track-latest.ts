import type { Command } from '../command.js';
import { FleetError, describe } from '../sdk.js';
import { listDevices } from '../fleet.js';

export const trackLatest: Command = {
  usage: 'track-latest --fleet ORG/FLEET   the fleet, and every device pinned by a rollout, back to the latest release',
  options: {},
  async run({ balena, fleet, out }) {
    try {
      await balena.models.application.trackLatestRelease(fleet);
      const pinned = (await listDevices(balena, fleet)).filter((d) => d.pinned);
      if (pinned.length) await balena.models.device.trackApplicationRelease(pinned.map((d) => d.uuid));
      out(`fleet ${fleet} tracks its latest release (${pinned.length} device(s) unpinned)\n`);
      return 0;
    } catch (err) {
      throw new FleetError(`track-latest: ${describe(err)}`);
    }
  },
};
