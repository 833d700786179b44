/**
 * A bounded map whose entries expire at a given time; the oldest-inserted entry goes first when full. The lifetime
 * given at insertion is also counted on a monotonic clock: a wall clock set back (a box without a real-time clock,
 * an NTP correction) never lengthens a cached security decision.
 */
export class ExpiringCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAtMs: number; deadlineMono: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly nowMs: () => number = Date.now,
    private readonly monotonicMs: () => number = () => performance.now(),
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`cache size must be a positive integer, got ${maxEntries}`);
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAtMs <= this.nowMs() || entry.deadlineMono <= this.monotonicMs()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, expiresAtMs: number): void {
    const ttl = expiresAtMs - this.nowMs();
    if (ttl <= 0) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.evict();
    this.entries.set(key, { value, expiresAtMs, deadlineMono: this.monotonicMs() + ttl });
  }

  get size(): number {
    return this.entries.size;
  }

  private evict(): void {
    const oldest = this.entries.keys().next();
    if (!oldest.done) this.entries.delete(oldest.value);
  }
}
