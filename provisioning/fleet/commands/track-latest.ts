import type { Command } from '../command.js';
import { FleetError, describe } from '../sdk.js';
import { listDevices, RING_LATEST, RING_TAG } from '../fleet.js';

export const trackLatest: Command = {
  usage: 'track-latest --fleet ORG/FLEET   the fleet, and every device a rollout pinned, back to the latest release (devices pinned by hand stay)',
  options: {},
  async run({ balena, fleet, out }) {
    try {
      await balena.models.application.trackLatestRelease(fleet);
      const devices = await listDevices(balena, fleet);
      const byRollout = devices.filter((d) => d.pinned && d.tags[RING_TAG] && d.tags[RING_TAG] !== RING_LATEST);
      if (byRollout.length) {
        await balena.models.device.trackApplicationRelease(byRollout.map((d) => d.uuid));
        for (const d of byRollout) await balena.models.device.tags.set(d.uuid, RING_TAG, RING_LATEST);
      }
      const byHand = devices.filter((d) => d.pinned && !byRollout.includes(d)).length;
      out(`fleet ${fleet} tracks its latest release (${byRollout.length} device(s) unpinned${byHand ? `, ${byHand} pinned by hand left as they are` : ''})\n`);
      return 0;
    } catch (err) {
      throw new FleetError(`track-latest: ${describe(err)}`);
    }
  },
};
