/**
 * Wrong PINs in a row, per card, as the box counts them. A CPS locks itself after 3 (cps-card-pkcs11.md §2.4), but
 * tokens without a counter (SoftHSM2, some HSMs) never do, and an unattended touch screen must not let anyone try
 * PINs for ever: past `maxFailures` the card is refused for `lockMs`. Bounded: at most `maxCards` entries.
 */
export class PinGuard {
  private readonly failures = new Map<string, { count: number; lockedUntil: number }>();

  constructor(
    private readonly maxFailures: number,
    private readonly lockMs: number,
    // A monotonic clock: setting the wall clock forward must not end a lock early (only durations are kept here).
    private readonly now: () => number = () => performance.now(),
    private readonly maxCards = 64,
  ) {}

  /** The time the card stays refused (ms), or 0 when a PIN may be tried. */
  lockedFor(serial: string): number {
    const entry = this.failures.get(serial);
    if (!entry || entry.lockedUntil === 0) return 0;
    const left = entry.lockedUntil - this.now();
    if (left > 0) return left;
    this.failures.delete(serial);
    return 0;
  }

  /** Records a wrong PIN; returns true when the card is now refused. */
  failure(serial: string): boolean {
    const entry = this.failures.get(serial) ?? { count: 0, lockedUntil: 0 };
    this.failures.delete(serial);
    entry.count++;
    if (entry.count >= this.maxFailures) entry.lockedUntil = this.now() + this.lockMs;
    this.failures.set(serial, entry);
    while (this.failures.size > this.maxCards) this.failures.delete(this.failures.keys().next().value!);
    return entry.lockedUntil > 0;
  }

  success(serial: string): void {
    this.failures.delete(serial);
  }
}
