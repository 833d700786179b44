import { z } from 'zod';
import { PIN_HASH_PATTERN } from './admin-pin.js';

/** What the setup screen keeps about itself: whether the box is set up, the administrator's PIN (hashed). */
export const setupConfigSchema = z.object({
  /** When the first setup was applied (ISO date); empty: first run — the touch screen opens the wizard, unguarded. */
  completedAt: z.string().default(''),
  /** The administrator's PIN as an scrypt hash (setup/admin-pin.ts); never the PIN. */
  adminPinHash: z.string().regex(PIN_HASH_PATTERN, 'setup.adminPinHash: an scrypt hash written by the setup screen').default(''),
  /** Where a USB stick is mounted on the box: the wizard lists the certificate files at its top level. */
  usbDir: z.string().default('/media/usb'),
  /** Wrong PINs in a row before the PIN is refused for a while (per origin: touch screen, LAN). */
  maxPinFailures: z.number().int().min(1).max(20).default(5),
  pinLockMinutes: z.number().int().min(1).max(24 * 60).default(5),
  /** An administrator's session ends after this long without a request. */
  sessionIdleMinutes: z.number().int().min(1).max(120).default(15),
});
