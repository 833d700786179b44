import { AbortReason } from './constants.js';

/** A PDU that breaks PS3.8: the association is aborted with `reason` (A-ABORT, source service provider). */
export class PduError extends Error {
  constructor(
    message: string,
    readonly reason: number = AbortReason.InvalidPduParameterValue,
  ) {
    super(message);
    this.name = 'PduError';
  }
}

/** Reads big-endian fields from a PDU, every read checked against the end of the part it is confined to. */
export class Cursor {
  constructor(
    private readonly bytes: Buffer,
    private offset: number,
    private readonly end: number,
    private readonly what: string,
  ) {
    if (end > bytes.length || offset > end) throw new PduError(`${what}: length runs past the end of the PDU`);
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  u8(): number {
    this.need(1);
    return this.bytes.readUInt8(this.offset++);
  }

  u16(): number {
    this.need(2);
    const v = this.bytes.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.bytes.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  skip(n: number): void {
    this.need(n);
    this.offset += n;
  }

  take(n: number): Buffer {
    this.need(n);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** A sub-cursor over the next n bytes (an item's content), which this cursor then skips. */
  sub(n: number, what: string): Cursor {
    this.need(n, what);
    const inner = new Cursor(this.bytes, this.offset, this.offset + n, what);
    this.offset += n;
    return inner;
  }

  private need(n: number, what = this.what): void {
    if (this.offset + n > this.end) throw new PduError(`${what}: ${n} byte(s) expected, ${this.end - this.offset} left`);
  }
}

/** A UID field: trailing NUL/space padding removed, 1-64 characters of digits and dots (PS3.5 §9.1). */
export function uidText(value: Buffer, what: string): string {
  const uid = value.toString('latin1').replace(/[\0 ]+$/, '');
  if (uid.length === 0 || uid.length > 64) throw new PduError(`${what}: UID of ${uid.length} characters (1 to 64 allowed)`);
  if (!/^[0-9.]+$/.test(uid)) throw new PduError(`${what}: "${uid.slice(0, 64).replace(/[^\x20-\x7e]/g, '?')}" is not a UID`);
  return uid;
}

/** A UID padded to even length with a NUL is what DCMTK sends; PS3.8 §9.3.2.2 asks for no padding, and both are read. */
export function uidBytes(uid: string, what: string): Buffer {
  if (!/^[0-9.]{1,64}$/.test(uid)) throw new Error(`${what}: "${uid}" is not a UID of at most 64 characters`);
  return Buffer.from(uid, 'latin1');
}

/** An AE title field: 16 bytes, space padded; leading and trailing spaces are not significant (PS3.5 Table 6.2-1). */
export function aeTitleText(value: Buffer, what: string): string {
  const text = value.toString('latin1').replace(/\0+$/, '').trim();
  if (/[^\x20-\x7e]|\\/.test(text)) throw new PduError(`${what}: AE title has characters outside the default repertoire`);
  return text;
}

export function aeTitleBytes(aeTitle: string, what: string): Buffer {
  if (aeTitle.length === 0 || aeTitle.length > 16 || /[^\x20-\x7e]|\\/.test(aeTitle)) {
    throw new Error(`${what}: "${aeTitle}" is not an AE title (1 to 16 printable characters, no backslash)`);
  }
  return Buffer.from(aeTitle.padEnd(16, ' '), 'latin1');
}
