import { FleetError } from './sdk.js';
import type { FleetDevice } from './health.js';
import { inFraction } from './rollout.js';

export interface Selection {
  tag?: string;
  fraction?: string;
  devices?: string;
}

/** The devices a rollout or a rollback is about: by tag KEY=VALUE, by fraction of the fleet, or by uuid. */
export function selectDevices(all: FleetDevice[], s: Selection): FleetDevice[] {
  const given = [s.tag, s.fraction, s.devices].filter((v) => v !== undefined).length;
  if (given !== 1) throw new FleetError('choose the devices with exactly one of --tag KEY=VALUE, --fraction 0.05, --devices UUID,UUID');
  if (s.tag !== undefined) {
    const eq = s.tag.indexOf('=');
    if (eq <= 0) throw new FleetError(`--tag takes KEY=VALUE, got "${s.tag}"`);
    const [key, value] = [s.tag.slice(0, eq), s.tag.slice(eq + 1)];
    return all.filter((d) => d.tags[key] === value);
  }
  if (s.fraction !== undefined) {
    const f = Number(s.fraction);
    if (!(f > 0 && f <= 1)) throw new FleetError(`--fraction takes a number above 0 and at most 1, got "${s.fraction}"`);
    return all.filter((d) => inFraction(d.uuid, f));
  }
  const wanted = s.devices!.split(',').map((u) => u.trim().toLowerCase()).filter(Boolean);
  const unknown = wanted.filter((u) => !all.some((d) => d.uuid.toLowerCase().startsWith(u)));
  if (unknown.length) throw new FleetError(`not in this fleet: ${unknown.join(', ')}`);
  return all.filter((d) => wanted.some((u) => d.uuid.toLowerCase().startsWith(u)));
}
