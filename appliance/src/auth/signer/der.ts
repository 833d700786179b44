/**
 * A small, strict BER/DER reader: enough ASN.1 to open PKCS#12 files. Definite and indefinite lengths,
 * constructed OCTET STRINGs (some PKCS#12 writers emit BER), bounds checked everywhere.
 */

export interface Tlv {
  /** 0 universal, 1 application, 2 context, 3 private. */
  cls: number;
  constructed: boolean;
  tag: number;
  /** The whole encoding's bytes (header + value). */
  raw: Buffer;
  /** The value bytes (for indefinite lengths, without the end-of-contents octets). */
  value: Buffer;
}

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

const MAX_DEPTH = 32;

function readOne(buf: Buffer, offset: number, depth: number): { tlv: Tlv; next: number } {
  if (depth > MAX_DEPTH) throw new DerError('ASN.1 nested too deep');
  let pos = offset;
  const need = (n: number) => {
    if (pos + n > buf.length) throw new DerError(`ASN.1 truncated at byte ${pos}`);
  };
  need(2);
  const first = buf[pos++]!;
  const cls = first >> 6;
  const constructed = (first & 0x20) !== 0;
  let tag = first & 0x1f;
  if (tag === 0x1f) {
    tag = 0;
    for (let i = 0; ; i++) {
      need(1);
      const b = buf[pos++]!;
      tag = tag * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
      if (i > 3) throw new DerError('ASN.1 tag number too large');
    }
  }
  need(1);
  const lenByte = buf[pos++]!;
  if (lenByte === 0x80) {
    if (!constructed) throw new DerError('indefinite length on a primitive ASN.1 value');
    const start = pos;
    for (;;) {
      need(2);
      if (buf[pos] === 0 && buf[pos + 1] === 0) {
        const value = buf.subarray(start, pos);
        pos += 2;
        return { tlv: { cls, constructed, tag, raw: buf.subarray(offset, pos), value }, next: pos };
      }
      pos = readOne(buf, pos, depth + 1).next;
    }
  }
  let length = lenByte;
  if (lenByte & 0x80) {
    const n = lenByte & 0x7f;
    if (n > 4) throw new DerError('ASN.1 length too large');
    need(n);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[pos++]!;
  }
  need(length);
  const value = buf.subarray(pos, pos + length);
  pos += length;
  return { tlv: { cls, constructed, tag, raw: buf.subarray(offset, pos), value }, next: pos };
}

export function parseDer(buf: Buffer): Tlv {
  const { tlv, next } = readOne(buf, 0, 0);
  if (next !== buf.length) throw new DerError(`${buf.length - next} unexpected bytes after the ASN.1 value`);
  return tlv;
}

export function children(tlv: Tlv): Tlv[] {
  if (!tlv.constructed) throw new DerError('expected a constructed ASN.1 value');
  const out: Tlv[] = [];
  let pos = 0;
  while (pos < tlv.value.length) {
    const { tlv: child, next } = readOne(tlv.value, pos, 1);
    out.push(child);
    pos = next;
  }
  return out;
}

export const UNIVERSAL = { INTEGER: 2, OCTET_STRING: 4, OID: 6, SEQUENCE: 16, SET: 17, BMP_STRING: 30 } as const;

export function expect(tlv: Tlv | undefined, tag: number, what: string, cls = 0): Tlv {
  if (!tlv || tlv.cls !== cls || tlv.tag !== tag) throw new DerError(`malformed ${what}`);
  return tlv;
}

export function sequence(tlv: Tlv | undefined, what: string): Tlv[] {
  return children(expect(tlv, UNIVERSAL.SEQUENCE, what));
}

export function oid(tlv: Tlv | undefined, what: string): string {
  const v = expect(tlv, UNIVERSAL.OID, what).value;
  if (v.length === 0) throw new DerError(`empty OID in ${what}`);
  const parts: number[] = [];
  let acc = 0;
  for (const b of v) {
    acc = acc * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      parts.push(acc);
      acc = 0;
    }
  }
  const first = parts.shift() ?? 0;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}

/** Small non-negative INTEGER (iteration counts, versions). */
export function int(tlv: Tlv | undefined, what: string): number {
  const v = expect(tlv, UNIVERSAL.INTEGER, what).value;
  if (v.length === 0 || v.length > 6 || (v[0]! & 0x80) !== 0) throw new DerError(`unsupported INTEGER in ${what}`);
  return v.reduce((acc, b) => acc * 256 + b, 0);
}

/** OCTET STRING contents, primitive or constructed (BER), with an explicit or implicit tag. */
export function octets(tlv: Tlv | undefined, what: string, implicitTag?: { cls: number; tag: number }): Buffer {
  const cls = implicitTag?.cls ?? 0;
  const tag = implicitTag?.tag ?? UNIVERSAL.OCTET_STRING;
  if (!tlv || tlv.cls !== cls || tlv.tag !== tag) throw new DerError(`malformed ${what}`);
  if (!tlv.constructed) return tlv.value;
  return Buffer.concat(children(tlv).map((c) => octets(c, what)));
}

/** The content of an EXPLICIT [n] context tag. */
export function explicit(tlv: Tlv | undefined, n: number, what: string): Tlv {
  const [inner, ...rest] = children(expect(tlv, n, what, 2));
  if (!inner || rest.length) throw new DerError(`malformed ${what}`);
  return inner;
}
