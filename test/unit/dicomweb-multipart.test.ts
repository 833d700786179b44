import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { boundaryOf, readMultipart, MultipartError } from '../../appliance/src/dicomweb/multipart-reader.js';
import { multipartBody, multipartContentType, newBoundary, type OutgoingPart } from '../../appliance/src/dicomweb/multipart-writer.js';
import { toWebStream } from '../../appliance/src/dicomweb/streams.js';

/** Re-chunks a byte stream at the given sizes (cycled): delimiters end up split across chunks. */
async function* rechunk(source: AsyncIterable<Uint8Array>, sizes: number[]): AsyncGenerator<Uint8Array> {
  const all: Buffer[] = [];
  for await (const c of source) all.push(Buffer.from(c));
  const bytes = Buffer.concat(all);
  let i = 0;
  for (let pos = 0; pos < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield bytes.subarray(pos, pos + n);
    pos += n;
  }
}

async function* from(...chunks: (string | Buffer)[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield typeof c === 'string' ? Buffer.from(c, 'latin1') : c;
}

async function readAll(source: AsyncIterable<Uint8Array>, boundary: string) {
  const parts: { headers: Map<string, string>; body: Buffer }[] = [];
  for await (const part of readMultipart(source, boundary)) {
    const chunks: Buffer[] = [];
    for await (const c of part.body) chunks.push(c);
    parts.push({ headers: part.headers, body: Buffer.concat(chunks) });
  }
  return parts;
}

describe('multipart/related writer and reader', () => {
  const boundary = newBoundary();
  // Bodies made to trip a naive reader: the boundary without its CRLF, with one byte off, a CRLF-dash prefix at a
  // chunk edge, a lone "--", the close delimiter of another boundary, and plain random bytes.
  const tricky: Buffer[] = [
    Buffer.from(`--${boundary}`),
    Buffer.from(`\r\n--${boundary.slice(0, -1)}X\r\n`),
    Buffer.concat([randomBytes(1000), Buffer.from(`\r\n--${boundary.slice(0, 10)}`), randomBytes(1000)]),
    Buffer.from('\r\n--\r\n\r\n'),
    Buffer.from('\r\n--other-boundary--\r\n'),
    Buffer.alloc(0),
    randomBytes(300_000),
    Buffer.from(`\r\n-${'-'.repeat(3)}${boundary}`), // "----boundary": not a delimiter (4 dashes)
  ];
  const parts: OutgoingPart[] = tricky.map((body, i) => ({ contentType: `application/dicom; transfer-syntax=1.2.840.10008.1.2.${i}`, body }));

  it.each([
    ['one chunk', [1 << 30]],
    ['1-byte chunks', [1]],
    ['odd chunks', [7, 3, 64 * 1024 + 1, 2]],
    ['delimiter-sized chunks', [boundary.length + 4, 1, boundary.length + 3]],
  ])('round trip with binary parts holding boundary-like bytes (%s)', async (_name, sizes) => {
    const wire = rechunk(multipartBody(parts, boundary), sizes as number[]);
    const back = await readAll(wire, boundary);
    expect(back).toHaveLength(tricky.length);
    back.forEach((p, i) => {
      expect(createHash('sha256').update(p.body).digest('hex')).toBe(createHash('sha256').update(tricky[i]!).digest('hex'));
      expect(p.headers.get('content-type')).toBe(parts[i]!.contentType);
    });
  });

  it('streams part bodies from async sources and writes Content-Length when known', async () => {
    async function* big() {
      for (let i = 0; i < 10; i++) yield Buffer.alloc(10_000, i);
    }
    const wire = multipartBody([{ contentType: 'application/octet-stream', contentLength: 100_000, body: big() }], boundary);
    const [part] = await readAll(wire, boundary);
    expect(part!.headers.get('content-length')).toBe('100000');
    expect(part!.body.length).toBe(100_000);
    expect(part!.body[99_999]).toBe(9);
  });

  it('writes a valid empty multipart body', async () => {
    expect(await readAll(multipartBody([], boundary), boundary)).toEqual([]);
  });

  it('gives every response its own boundary and quotes type (PS3.18 §8.7.3.5)', () => {
    const a = newBoundary();
    const b = newBoundary();
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[a-z0-9]{30,70}$/);
    const ct = multipartContentType('application/dicom', a, { 'transfer-syntax': '1.2.840.10008.1.2.1' });
    expect(ct).toBe(`multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1; boundary=${a}`);
    expect(boundaryOf(ct)).toBe(a);
  });

  it('reads a quoted boundary, a preamble, transport padding, header-less parts and an epilogue', async () => {
    const ct = 'multipart/related; type="application/dicom"; boundary="a b:c"';
    expect(boundaryOf(ct)).toBe('a b:c');
    const wire = from('preamble\r\n--a b:c  \r\nContent-Type: x/y\r\n\r\nONE\r\n--a b:c\r\n\r\nTWO\r\n--a b:c--\r\nepilogue');
    const back = await readAll(wire, 'a b:c');
    expect(back.map((p) => p.body.toString())).toEqual(['ONE', 'TWO']);
    expect(back[0]!.headers.get('content-type')).toBe('x/y');
    expect(back[1]!.headers.size).toBe(0);
  });

  it('skips a part the consumer did not read', async () => {
    const wire = multipartBody([{ contentType: 'a/b', body: randomBytes(50_000) }, { contentType: 'c/d', body: Buffer.from('second') }], boundary);
    const seen: string[] = [];
    for await (const part of readMultipart(wire, boundary)) {
      if (part.headers.get('content-type') === 'c/d') for await (const c of part.body) seen.push(c.toString());
    }
    expect(seen.join('')).toBe('second');
  });

  it('refuses a body that ends before the closing delimiter, or has no boundary at all', async () => {
    await expect(readAll(from(`--${boundary}\r\nContent-Type: a/b\r\n\r\ntruncated`), boundary)).rejects.toBeInstanceOf(MultipartError);
    await expect(readAll(from('no boundary here'), boundary)).rejects.toThrow(/no boundary/);
    await expect(readAll(from(`--${boundary}\r\n${'x'.repeat(20_000)}`), boundary)).rejects.toThrow(/longer than/);
  });

  it('pulls its sources only as fast as the consumer reads (backpressure)', async () => {
    let produced = 0;
    async function* source() {
      for (let i = 0; i < 1000; i++) {
        produced++;
        yield Buffer.alloc(64 * 1024);
      }
    }
    const reader = toWebStream(multipartBody([{ contentType: 'application/dicom', body: source() }], boundary)).getReader();
    for (let i = 0; i < 5; i++) await reader.read();
    await new Promise((r) => setTimeout(r, 20));
    expect(produced).toBeLessThanOrEqual(6);
    await reader.cancel();
  });

  it('runs the source cleanup when the reader cancels (client gone)', async () => {
    let cleaned = false;
    async function* source() {
      try {
        for (;;) yield Buffer.alloc(1024);
      } finally {
        cleaned = true;
      }
    }
    const reader = toWebStream(multipartBody([{ contentType: 'application/dicom', body: source() }], boundary)).getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    expect(cleaned).toBe(true);
  });
});
