import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

// scrypt (RFC 7914) at N=2^15, r=8, p=1: ~32 MiB and ~0.1 s on a Pi-class CPU per try — slow enough to make a
// stolen hash of a short PIN costly, quick enough for a touch screen. Parameters travel with the hash.
const PARAMS = { N: 32_768, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
const PIN_FORMAT = /^[0-9]{6,12}$/;

function scrypt(pin: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(pin, salt, KEY_BYTES, { ...options, maxmem: 128 * options.N! * options.r! * 2 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export function isAcceptablePin(pin: string): boolean {
  return PIN_FORMAT.test(pin) && !/^(\d)\1+$/.test(pin) && !'0123456789012'.includes(pin) && !'9876543210987'.includes(pin);
}

/** `scrypt$N$r$p$salt$hash` (base64): never the PIN itself. */
export async function hashPin(pin: string): Promise<string> {
  if (!isAcceptablePin(pin)) throw new Error('PIN: 6 to 12 digits, not all the same, not a run');
  const salt = randomBytes(16);
  const key = await scrypt(pin, salt, PARAMS);
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPin(pin: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt' || !PIN_FORMAT.test(pin)) return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every(Number.isSafeInteger) || N > 1 << 20 || r > 32 || p > 16) return false;
  const expected = Buffer.from(parts[5]!, 'base64');
  const key = await scrypt(pin, Buffer.from(parts[4]!, 'base64'), { N, r, p });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Shape check for the configuration schema: a hash this module wrote, or nothing (no PIN yet). */
export const PIN_HASH_PATTERN = /^$|^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/;
