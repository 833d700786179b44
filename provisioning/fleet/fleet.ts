import type { Balena } from './sdk.js';
import { FleetError, describe } from './sdk.js';
import type { FleetDevice } from './health.js';

type Commit = { commit: string } | undefined;
const first = (v: unknown): Commit => (Array.isArray(v) ? (v[0] as Commit) : (v as Commit));

/** The tag a rollout leaves on each device it pins (how it was chosen, and to what): `track-latest` undoes those. */
export const RING_TAG = 'drimbox.ring';
export const RING_LATEST = 'latest';

export async function recordRing(balena: Balena, uuids: string[], how: string, commit: string): Promise<void> {
  for (const uuid of uuids) await balena.models.device.tags.set(uuid, RING_TAG, `${how} ${commit.slice(0, 7)}`);
}

/** Every device of the fleet with its tags and releases, in one request. */
export async function listDevices(balena: Balena, fleet: string): Promise<FleetDevice[]> {
  let devices: Record<string, unknown>[];
  try {
    devices = (await balena.models.device.getAllByApplication(fleet, {
      $select: ['uuid', 'device_name', 'overall_status', 'is_online'],
      $expand: {
        device_tag: { $select: ['tag_key', 'value'] },
        is_running__release: { $select: ['commit'] },
        is_pinned_on__release: { $select: ['commit'] },
      },
    } as never)) as unknown as Record<string, unknown>[];
  } catch (err) {
    throw new FleetError(`cannot list the devices of fleet ${fleet}: ${describe(err)}`);
  }
  return devices.map((d) => ({
    uuid: String(d.uuid),
    name: String(d.device_name ?? ''),
    status: String(d.overall_status ?? 'unknown'),
    online: d.is_online === true,
    release: first(d.is_running__release)?.commit,
    pinned: first(d.is_pinned_on__release)?.commit,
    tags: Object.fromEntries(((d.device_tag as { tag_key: string; value: string }[] | undefined) ?? []).map((t) => [t.tag_key, t.value])),
  }));
}

/** The release, checked: it exists, belongs to this fleet, and was built successfully. */
export async function findRelease(balena: Balena, fleet: string, commit: string): Promise<{ id: number; commit: string }> {
  if (!/^[0-9a-f]{7,40}$/i.test(commit)) throw new FleetError(`"${commit}" is not a release commit (7 to 40 hexadecimal digits)`);
  let release: Record<string, unknown>;
  try {
    release = (await balena.models.release.get(commit, {
      $select: ['id', 'commit', 'status', 'is_invalidated'],
      $expand: { belongs_to__application: { $select: ['slug'] } },
    } as never)) as unknown as Record<string, unknown>;
  } catch (err) {
    throw new FleetError(`release ${commit}: ${describe(err)}`);
  }
  const app = first(release.belongs_to__application) as unknown as { slug?: string } | undefined;
  if (app?.slug?.toLowerCase() !== fleet.toLowerCase()) throw new FleetError(`release ${commit} belongs to ${app?.slug ?? 'another fleet'}, not to ${fleet}`);
  if (release.status !== 'success') throw new FleetError(`release ${commit} did not build successfully (status: ${String(release.status)}): it cannot be pinned`);
  if (release.is_invalidated === true) throw new FleetError(`release ${commit} was invalidated: it cannot be pinned`);
  return { id: Number(release.id), commit: String(release.commit) };
}
