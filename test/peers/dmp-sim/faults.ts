import { z } from 'zod';

/**
 * Fault injection for the reliability tests: added latency, HTTP 503, connection reset, a response
 * that trickles out, a request never answered, for the next N requests, with a probability, or in
 * scheduled outage windows. Phase "after" lets the DMP commit the request before the fault hits the
 * answer: the case where a client must not lose nor duplicate a submission.
 */

const rule = z
  .object({
    kind: z.enum(['latency', 'http503', 'reset', 'hang', 'trickle']),
    /** The next N matching requests (then the rule expires). */
    count: z.number().int().positive().optional(),
    /** Each matching request with this probability. */
    probability: z.number().min(0).max(1).optional(),
    endpoint: z.enum(['registry', 'repository']).optional(),
    phase: z.enum(['before', 'after']).optional(),
    /** latency: added delay; trickle: pause between chunks. */
    delayMs: z.number().int().min(0).max(600_000).optional(),
    /** trickle: bytes per chunk. */
    chunkBytes: z.number().int().positive().optional(),
    retryAfterSeconds: z.number().int().min(0).optional(),
  })
  .strict();

const outage = z
  .object({
    kind: z.enum(['http503', 'reset', 'hang']),
    /** Absolute window, epoch milliseconds... */
    fromMs: z.number().optional(),
    untilMs: z.number().optional(),
    /** ...or relative to when the faults are set. */
    inMs: z.number().min(0).optional(),
    forMs: z.number().positive().optional(),
  })
  .strict()
  .refine((o) => (o.fromMs !== undefined && o.untilMs !== undefined) !== (o.forMs !== undefined), 'an outage needs either fromMs+untilMs or forMs (with an optional inMs)');

export const faultsSchema = z
  .object({
    rules: z.array(rule).default([]),
    outages: z.array(outage).default([]),
    /** Seed of the random draws, for repeatable probabilistic faults. */
    seed: z.number().int().optional(),
  })
  .strict();

export type Faults = z.input<typeof faultsSchema>;
export type FaultRule = z.infer<typeof rule>;
type Terminal = 'http503' | 'reset' | 'hang';

export interface FaultDecision {
  latencyMs: number;
  terminal?: { kind: Terminal; phase: 'before' | 'after'; retryAfterSeconds?: number };
  trickle?: { chunkBytes: number; delayMs: number };
}

export class FaultController {
  private rules: (FaultRule & { remaining?: number })[] = [];
  private outages: { kind: Terminal; fromMs: number; untilMs: number }[] = [];
  private random: () => number = Math.random;

  constructor(private readonly clock: () => number) {}

  /** Replaces the faults; throws a readable error when `input` is not valid. */
  set(input: unknown): void {
    const parsed = faultsSchema.safeParse(input ?? {});
    if (!parsed.success) throw new Error(`invalid faults: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    const now = this.clock();
    this.rules = parsed.data.rules.map((r) => ({ ...r, remaining: r.count }));
    this.outages = parsed.data.outages.map((o) =>
      o.forMs !== undefined ? { kind: o.kind, fromMs: now + (o.inMs ?? 0), untilMs: now + (o.inMs ?? 0) + o.forMs } : { kind: o.kind, fromMs: o.fromMs!, untilMs: o.untilMs! },
    );
    this.random = parsed.data.seed === undefined ? Math.random : mulberry32(parsed.data.seed);
  }

  describe(): { rules: FaultRule[]; outages: { kind: Terminal; fromMs: number; untilMs: number }[] } {
    return { rules: this.rules.map(({ remaining, ...r }) => ({ ...r, ...(remaining !== undefined ? { count: remaining } : {}) })), outages: this.outages };
  }

  decide(endpoint: 'registry' | 'repository'): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0 };
    const now = this.clock();
    const outage = this.outages.find((o) => now >= o.fromMs && now < o.untilMs);
    if (outage) decision.terminal = { kind: outage.kind, phase: 'before' };
    for (const r of this.rules) {
      if (r.endpoint && r.endpoint !== endpoint) continue;
      if (r.remaining !== undefined && r.remaining <= 0) continue;
      if (r.probability !== undefined && this.random() >= r.probability) continue;
      if (r.kind !== 'latency' && r.kind !== 'trickle' && decision.terminal) continue;
      if (r.remaining !== undefined) r.remaining -= 1;
      if (r.kind === 'latency') decision.latencyMs += r.delayMs ?? 1000;
      else if (r.kind === 'trickle') decision.trickle = { chunkBytes: r.chunkBytes ?? 64, delayMs: r.delayMs ?? 200 };
      else decision.terminal = { kind: r.kind, phase: r.phase ?? 'before', retryAfterSeconds: r.retryAfterSeconds };
    }
    this.rules = this.rules.filter((r) => r.remaining === undefined || r.remaining > 0);
    return decision;
  }
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
