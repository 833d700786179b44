/**
 * The RIS waits for each ACK; the report processor does not wait for anyone. While messages are arriving, the
 * processor steps aside (a burst after a RIS outage is ACKed at the intake's own rate), but never for longer than
 * `maxYieldMs` at a time, so publication goes on under a steady stream.
 */
export class IntakePriority {
  private lastArrival = -Infinity;

  constructor(
    private readonly quietMs = 50,
    private readonly maxYieldMs = 1_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A message was just stored. */
  arrived(): void {
    this.lastArrival = this.now();
  }

  get busy(): boolean {
    return this.now() - this.lastArrival < this.quietMs;
  }

  /** Resolves once the intake has been quiet for `quietMs`, or after `maxYieldMs` at most. */
  async yieldToIntake(sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))): Promise<void> {
    const start = this.now();
    while (this.busy && this.now() - start < this.maxYieldMs) await sleep(this.quietMs);
  }
}
