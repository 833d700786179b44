import { formatDistinguishedName, type DistinguishedName } from '../whitelist/dn.js';

export type RateDecision = { allowed: true; remaining: number } | { allowed: false; retryAfterSeconds: number };

export interface RateLimiterOptions {
  /** Burst size: requests a caller may make at once. */
  capacity: number;
  /** Sustained rate. */
  refillPerSecond: number;
  /** Callers tracked at once; the least recently seen are forgotten first (default 10,000). */
  maxCallers?: number;
  nowMs?: () => number;
}

export interface RateLimiter {
  take(callerKey: string, cost?: number): RateDecision;
  readonly trackedCallers: number;
}

/** Token bucket per caller. A forgotten caller comes back with a full bucket, which is the lenient side. */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { capacity, refillPerSecond } = options;
  if (!(capacity >= 1) || !(refillPerSecond > 0)) throw new RangeError(`rate limit needs capacity >= 1 and refill > 0, got ${capacity}, ${refillPerSecond}`);
  const maxCallers = options.maxCallers ?? 10_000;
  const nowMs = options.nowMs ?? Date.now;
  const buckets = new Map<string, { tokens: number; atMs: number }>();

  return {
    take(callerKey, cost = 1) {
      const now = nowMs();
      const previous = buckets.get(callerKey);
      const elapsed = previous ? Math.max(0, now - previous.atMs) / 1000 : 0;
      const tokens = previous ? Math.min(capacity, previous.tokens + elapsed * refillPerSecond) : capacity;
      buckets.delete(callerKey); // re-insert: Map order is least recently seen first
      if (tokens >= cost) {
        buckets.set(callerKey, { tokens: tokens - cost, atMs: now });
        evict();
        return { allowed: true, remaining: Math.floor(tokens - cost) };
      }
      buckets.set(callerKey, { tokens, atMs: now });
      evict();
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((cost - tokens) / refillPerSecond)) };
    },
    get trackedCallers() {
      return buckets.size;
    },
  };

  function evict(): void {
    while (buckets.size > maxCallers) {
      const oldest = buckets.keys().next();
      if (oldest.done) return;
      buckets.delete(oldest.value);
    }
  }
}

/** Rate-limit key: the calling box's certificate when mutual TLS identified it, else its address. */
export function callerKey(caller: { certificateSubject?: DistinguishedName; remoteAddress?: string }): string {
  if (caller.certificateSubject) return `cert:${formatDistinguishedName(caller.certificateSubject).toLowerCase()}`;
  return `ip:${caller.remoteAddress ?? 'unknown'}`;
}
