import { createHash } from 'node:crypto';

/**
 * A device's place in a staged rollout: a number in [0, 1) from the SHA-256 of its uuid. A fraction f takes every
 * device below f, so 5 % is always inside 10 %, and re-running never reshuffles who already has the release.
 */
export function rolloutPosition(uuid: string): number {
  return createHash('sha256').update(uuid.toLowerCase()).digest().readUInt32BE(0) / 2 ** 32;
}

export function inFraction(uuid: string, fraction: number): boolean {
  return rolloutPosition(uuid) < fraction;
}

/** The ring tag a device gets when a fraction takes it: the smallest fraction that did (auditable afterwards). */
export function ringLabel(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`;
}
