/** MLLP release 2 block characters (HL7 v2.5 Appendix C): <VT> message <FS><CR>. */
export const MLLP_START = 0x0b;
export const MLLP_END = 0x1c;
export const MLLP_CR = 0x0d;

export const DEFAULT_MAX_FRAME_BYTES = 32 * 1024 * 1024;
/** Bytes of an oversize frame kept so the NACK can echo its MSH. */
const OVERSIZE_HEAD_BYTES = 64 * 1024;

export function frameMllp(message: Buffer): Buffer {
  return Buffer.concat([Buffer.of(MLLP_START), message, Buffer.of(MLLP_END, MLLP_CR)]);
}

export type MllpEvent =
  /** A complete frame's content. */
  | { kind: 'message'; payload: Buffer }
  /** Bytes outside any frame, discarded. */
  | { kind: 'garbage'; bytes: number }
  /** A frame abandoned because a new start block came before its end block. */
  | { kind: 'truncated'; bytes: number }
  /** A frame larger than the maximum: its content is dropped, its head kept for the NACK. */
  | { kind: 'oversize'; bytes: number; head: Buffer };

/**
 * Incremental MLLP decoder: push() the socket chunks, get the events in order. Memory stays bounded by
 * maxFrameBytes per connection; bytes between frames are counted, never buffered. A lone <FS> (without
 * the <CR>) also ends a frame: <FS> cannot appear inside an HL7 message, and some senders omit the <CR>.
 */
export class MllpDecoder {
  private inFrame = false;
  private afterEnd = false;
  private chunks: Buffer[] = [];
  private size = 0;
  private oversize = false;
  private head: Buffer = Buffer.alloc(0);
  private garbage = 0;

  constructor(private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** True while a frame has started and not ended. */
  get pending(): boolean {
    return this.inFrame;
  }

  /** Size of the partial frame held (0 when none). */
  get pendingBytes(): number {
    return this.size;
  }

  push(chunk: Buffer): MllpEvent[] {
    const events: MllpEvent[] = [];
    let i = 0;
    if (this.afterEnd && chunk.length > 0) {
      this.afterEnd = false;
      if (chunk[0] === MLLP_CR) i = 1;
    }
    while (i < chunk.length) {
      if (!this.inFrame) {
        const start = chunk.indexOf(MLLP_START, i);
        if (start < 0) {
          this.garbage += chunk.length - i;
          break;
        }
        this.garbage += start - i;
        this.flushGarbage(events);
        this.beginFrame();
        i = start + 1;
        continue;
      }
      const end = chunk.indexOf(MLLP_END, i);
      const restart = chunk.indexOf(MLLP_START, i);
      if (restart >= 0 && (end < 0 || restart < end)) {
        this.append(chunk.subarray(i, restart));
        events.push({ kind: 'truncated', bytes: this.size });
        this.beginFrame();
        i = restart + 1;
        continue;
      }
      if (end < 0) {
        this.append(chunk.subarray(i));
        break;
      }
      this.append(chunk.subarray(i, end));
      events.push(this.endFrame());
      i = end + 1;
      if (i < chunk.length) {
        if (chunk[i] === MLLP_CR) i++;
      } else {
        this.afterEnd = true;
      }
    }
    if (!this.inFrame) this.flushGarbage(events);
    return events;
  }

  /** The connection ended: a frame still open is reported truncated. */
  end(): MllpEvent[] {
    const events: MllpEvent[] = [];
    this.flushGarbage(events);
    if (this.inFrame) {
      events.push({ kind: 'truncated', bytes: this.size });
      this.reset();
    }
    return events;
  }

  private flushGarbage(events: MllpEvent[]): void {
    if (this.garbage > 0) {
      events.push({ kind: 'garbage', bytes: this.garbage });
      this.garbage = 0;
    }
  }

  private beginFrame(): void {
    this.reset();
    this.inFrame = true;
  }

  private append(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.size += bytes.length;
    if (this.oversize) return;
    if (this.size > this.maxFrameBytes) {
      this.oversize = true;
      this.head = Buffer.concat([...this.chunks, bytes]).subarray(0, OVERSIZE_HEAD_BYTES);
      this.chunks = [];
      return;
    }
    this.chunks.push(bytes);
  }

  private endFrame(): MllpEvent {
    const event: MllpEvent = this.oversize ? { kind: 'oversize', bytes: this.size, head: this.head } : { kind: 'message', payload: Buffer.concat(this.chunks, this.size) };
    this.reset();
    return event;
  }

  private reset(): void {
    this.inFrame = false;
    this.chunks = [];
    this.size = 0;
    this.oversize = false;
    this.head = Buffer.alloc(0);
  }
}
