import { AbortReason } from './pdu/constants.js';
import { PduError } from './pdu/cursor.js';

/** PDU types of PS3.8 §9.3: A-ASSOCIATE-RQ/AC/RJ, P-DATA-TF, A-RELEASE-RQ/RP, A-ABORT. */
const PDU_TYPES = new Set([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07]);
const HEADER = 6;

/**
 * Cuts the byte stream of an association into PDUs. Each PDU is copied at most once, and not at all when it sits
 * in one read (concatenating the partial PDU on every TCP read is quadratic: a C-GET with 1 MiB PDUs took 14 s
 * instead of 3 s). A PDU longer than `maxLength` is a protocol error: an untrusted peer does not get to make the
 * box buffer gigabytes.
 */
export class PduReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private expected = -1;

  constructor(
    private readonly maxLength: number,
    private readonly onPdu: (pdu: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < HEADER) return;
        const header = this.peek(HEADER);
        const type = header[0]!;
        if (!PDU_TYPES.has(type)) throw new PduError(`unknown PDU type 0x${type.toString(16)}`, AbortReason.UnrecognizedPdu);
        const length = header.readUInt32BE(2);
        if (length > this.maxLength) throw new PduError(`PDU of ${length} bytes exceeds the ${this.maxLength} the box accepts`);
        this.expected = HEADER + length;
      }
      if (this.buffered < this.expected) return;
      const pdu = this.take(this.expected);
      this.expected = -1;
      this.onPdu(pdu);
    }
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    return first.length >= n ? first.subarray(0, n) : Buffer.concat(this.chunks, n).subarray(0, n);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const chunk = this.chunks[0]!;
        const part = Math.min(chunk.length, n - filled);
        chunk.copy(out, filled, 0, part);
        filled += part;
        if (part === chunk.length) this.chunks.shift();
        else this.chunks[0] = chunk.subarray(part);
      }
    }
    this.buffered -= n;
    return out;
  }
}
