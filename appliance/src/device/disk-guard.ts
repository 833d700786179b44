import { statfs } from 'node:fs/promises';

export interface DiskState {
  freeBytes: number;
  totalBytes: number;
  low: boolean;
}

/**
 * Free space of the data volume, read with statfs at most once per `maxAgeMs` (cheap enough for every message, and
 * never on the hot path twice). Below `minFreeBytes` the box takes no new work: what it has ACKed must fit.
 */
export class DiskGuard {
  private state: DiskState | undefined;
  private readAt = 0;
  private reading: Promise<DiskState> | undefined;

  constructor(
    private readonly dir: string,
    readonly minFreeBytes: number,
    private readonly maxAgeMs = 5_000,
    private readonly nowMs: () => number = Date.now,
    private readonly stat: (dir: string) => Promise<{ bavail: number; blocks: number; bsize: number }> = (d) => statfs(d),
  ) {}

  async check(): Promise<DiskState> {
    if (this.state && this.nowMs() - this.readAt < this.maxAgeMs) return this.state;
    this.reading ??= this.stat(this.dir)
      .then((s) => {
        const freeBytes = s.bavail * s.bsize;
        this.state = { freeBytes, totalBytes: s.blocks * s.bsize, low: freeBytes < this.minFreeBytes };
        this.readAt = this.nowMs();
        return this.state;
      })
      .finally(() => (this.reading = undefined));
    return this.reading;
  }

  /** The refusal text when space is low, else undefined. */
  async refusal(): Promise<string | undefined> {
    const s = await this.check();
    if (!s.low) return undefined;
    // Short: an HL7 ACK keeps 80 characters of it.
    return `data disk almost full (${mb(s.freeBytes)} MB free, ${mb(this.minFreeBytes)} MB needed): resend later`;
  }
}

const mb = (bytes: number) => Math.floor(bytes / 1_048_576);
