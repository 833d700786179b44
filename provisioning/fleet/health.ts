/**
 * A box's health as the fleet sees it: the device tags the box itself writes through its supervisor
 * (appliance/src/device/fleet-telemetry.ts — keep the names in step) and the device's own status.
 */
export interface FleetDevice {
  uuid: string;
  name: string;
  status: string;
  online: boolean;
  release?: string;
  pinned?: string;
  tags: Record<string, string>;
}

export interface BoxHealth {
  uuid: string;
  name: string;
  status: string;
  online: boolean;
  release: string | null;
  health: string | null;
  queue: number | null;
  dead: number | null;
  lastPublication: string | null;
  certExpiry: string | null;
  diskFreeMb: number | null;
  version: string | null;
  ring: string | null;
}

const num = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : null);
/** A date tag (the box writes days; a full ISO time is read as its day). */
const date = (v: string | undefined) => (v && /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) ? v.slice(0, 10) : null);

export function boxHealth(d: FleetDevice): BoxHealth {
  return {
    uuid: d.uuid,
    name: d.name,
    status: d.status,
    online: d.online,
    release: d.release ?? null,
    health: d.tags['drimbox.health'] ?? null,
    queue: num(d.tags['drimbox.queue']),
    dead: num(d.tags['drimbox.dead']),
    lastPublication: date(d.tags['drimbox.lastPublication']),
    certExpiry: date(d.tags['drimbox.certExpiry']),
    diskFreeMb: num(d.tags['drimbox.diskFreeMb']),
    version: d.tags['drimbox.version'] ?? null,
    ring: d.tags['drimbox.ring'] ?? null,
  };
}

/** Why a box needs the vendor (empty: it does not). */
export function attentionReasons(h: BoxHealth, today: Date, certDays: number): string[] {
  const reasons: string[] = [];
  if (!h.online) reasons.push(`offline (${h.status})`);
  if (h.health === 'fail') reasons.push('health: fail');
  if (h.dead !== null && h.dead > 0) reasons.push(`${h.dead} DMP submission(s) abandoned (dead letters)`);
  if (h.certExpiry) {
    const days = Math.floor((Date.parse(`${h.certExpiry}T00:00:00Z`) - today.getTime()) / 86_400_000);
    if (days < 0) reasons.push(`structure certificate expired on ${h.certExpiry}`);
    else if (days <= certDays) reasons.push(`structure certificate expires on ${h.certExpiry} (in ${days} days)`);
  }
  return reasons;
}
