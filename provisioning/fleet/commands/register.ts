import type { Command } from '../command.js';
import { FleetError, describe } from '../sdk.js';

/** What a box makes or the technician enters on the box: never a fleet or device variable (visible on the dashboard). */
const SECRET_WORDS = new Set(['PIN', 'PUK', 'PASSWORD', 'SECRET', 'TOKEN']);
const isSecret = (key: string) => key.split('_').some((w) => SECRET_WORDS.has(w)) || key.includes('PRIVATE_KEY');

export const register: Command = {
  usage: 'register --fleet ORG/FLEET --name NAME [--uuid UUID] [--device-type raspberrypi4-64] [--env DRIMBOX_KEY=VALUE ...]   a box for a practice',
  options: { name: { type: 'string' }, uuid: { type: 'string' }, 'device-type': { type: 'string' }, env: { type: 'string', multiple: true } },
  async run({ balena, fleet, values, out }) {
    if (typeof values.name !== 'string' || !values.name.trim()) throw new FleetError('register needs --name (the practice, e.g. "Imagerie de Saint-Pierre")');
    const env: [string, string][] = [];
    for (const pair of (values.env as string[] | undefined) ?? []) {
      const eq = pair.indexOf('=');
      const key = eq > 0 ? pair.slice(0, eq) : '';
      if (!/^DRIMBOX_[A-Z0-9_]+$/.test(key)) throw new FleetError(`--env takes DRIMBOX_KEY=VALUE (the box's configuration keys: drimbox config keys), got "${pair}"`);
      if (isSecret(key)) throw new FleetError(`${key} is a secret: it is entered on the box (setup screen), never set as a device variable anyone with fleet access can read`);
      env.push([key, pair.slice(eq + 1)]);
    }
    const uuid = typeof values.uuid === 'string' ? values.uuid : balena.models.device.generateUniqueKey();
    if (!/^[0-9a-f]{32}$|^[0-9a-f]{62}$/.test(uuid)) throw new FleetError(`--uuid: 32 or 62 lowercase hexadecimal digits, got "${uuid}"`);
    try {
      await balena.models.device.register(fleet, uuid, typeof values['device-type'] === 'string' ? values['device-type'] : undefined);
      await balena.models.device.rename(uuid, values.name.trim());
      for (const [key, value] of env) await balena.models.device.envVar.set(uuid, key, value);
    } catch (err) {
      throw new FleetError(`registering ${values.name} in ${fleet}: ${describe(err)}`);
    }
    out(`registered ${values.name.trim()} as ${uuid} in ${fleet}, ${env.length} variable(s) set\n`);
    return 0;
  },
};
