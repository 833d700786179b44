import { randomBytes } from 'node:crypto';

/** PS3.5 §9.1: a UID is at most 64 characters. */
export const MAX_UID_LENGTH = 64;

/** Fewer random digits than this and collisions between boxes become plausible (16 digits ≈ 53 bits). */
const MIN_RANDOM_DIGITS = 16;

/** 128 bits: as much randomness as a UUID (PS3.5 B.2), never more than 39 decimal digits. */
const RANDOM_BYTES = 16;

/** PS3.5 B.2: UIDs derived from a UUID need no registered root. */
export const UUID_ROOT = '2.25';

export type RandomBytes = (count: number) => Uint8Array;

/**
 * PS3.5 §9.1: digits and dots only, at most 64 characters, no empty component, no leading zero
 * in a component of more than one digit ("0" alone is allowed). No padding accepted.
 */
export function isValidUid(s: string): boolean {
  if (s.length === 0 || s.length > MAX_UID_LENGTH) return false;
  return s.split('.').every((component) => /^(0|[1-9][0-9]*)$/.test(component));
}

/**
 * A new UID under `root`: the root, a dot, then as many random decimal digits as fit in 64 characters
 * (up to 128 bits' worth). `random` is injectable for reproducible output (seeded generators, tests).
 */
export function createUid(root: string, random: RandomBytes = randomBytes): string {
  if (!isValidUid(root)) throw new RangeError(`UID root "${root}" is not a valid UID (PS3.5 §9.1: digits and dots, no leading zeros)`);
  const room = MAX_UID_LENGTH - root.length - 1;
  if (room < MIN_RANDOM_DIGITS) {
    throw new RangeError(
      `UID root "${root}" is ${root.length} characters long: it leaves ${Math.max(room, 0)} digits for the unique part, ` +
        `at least ${MIN_RANDOM_DIGITS} are needed (use a root of at most ${MAX_UID_LENGTH - 1 - MIN_RANDOM_DIGITS} characters)`,
    );
  }
  const bytes = Uint8Array.from(random(RANDOM_BYTES));
  if (root === UUID_ROOT) {
    // PS3.5 B.2 wants the integer value of a UUID: make the bytes a version 4 (random) UUID.
    bytes[6] = (bytes[6]! & 0x0f) | 0x40;
    bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  }
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  // A BigInt's decimal form has no leading zero, and cutting its tail keeps that true.
  const digits = value.toString().slice(0, room);
  return `${root}.${digits}`;
}
