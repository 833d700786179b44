import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BlockPool } from '../../appliance/src/io/block-pool.js';
import { ReadBlocks } from '../../appliance/src/io/read-blocks.js';
import { DicomwebError } from '../../appliance/src/dicomweb/errors.js';
import { takeGiveBack } from '../../appliance/src/dicomweb/lent-chunks.js';
import { readMultipart } from '../../appliance/src/dicomweb/multipart-reader.js';
import { MultipartRelay, type RelaySource } from '../../appliance/src/dicomweb/multipart-relay.js';
import { MultipartError, MultipartScanner } from '../../appliance/src/dicomweb/multipart-scanner.js';
import { multipartBody, newBoundary } from '../../appliance/src/dicomweb/multipart-writer.js';
import { smallPart10 as part10 } from './part10-files.js';

/** The synchronous scanner and the relay built on it (the WADO-RS path when the caller takes any transfer syntax). */

async function bytesOf(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of source) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** A PACS-style multipart answer of `files`, with its own boundary and part headers the relay must not pass on. */
async function pacsAnswer(files: Buffer[]): Promise<{ boundary: string; bytes: Buffer }> {
  const boundary = `pacs-${randomBytes(8).toString('hex')}`;
  const bytes = await bytesOf(multipartBody(files.map((body) => ({ contentType: 'application/dicom', contentLocation: 'http://pacs.internal:8042/secret', body })), boundary));
  return { boundary, bytes: Buffer.concat([Buffer.from('preamble\r\n'), bytes, Buffer.from('epilogue')]) };
}

function chunked(bytes: Buffer, size: number): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return Readable.from(chunks, { objectMode: false });
}

async function relayedParts(relay: MultipartRelay, boundary: string): Promise<{ headers: Map<string, string>; body: Buffer }[]> {
  const out: { headers: Map<string, string>; body: Buffer }[] = [];
  for await (const part of readMultipart(relay, boundary)) out.push({ headers: part.headers, body: await bytesOf(part.body) });
  return out;
}

async function* sourcesOf(...sources: RelaySource[]): AsyncGenerator<RelaySource, void> {
  yield* sources;
}

/**
 * A PACS answer handed out as a socket reads it: chunk by chunk while not paused. `readAt` puts the bytes from `at` in
 * memory and says what to do once the chunk's event has returned.
 */
class PumpedSource extends EventEmitter {
  private at = 0;
  private paused = false;

  constructor(
    private readonly bytes: Buffer,
    private readonly readAt: (at: number) => { chunk: Buffer; after?: () => void },
    private readonly ended?: () => void,
  ) {
    super();
  }

  pause() {
    this.paused = true;
  }

  resume() {
    this.paused = false;
    setImmediate(() => this.pump());
  }

  destroy() {}

  private pump() {
    while (!this.paused && this.at < this.bytes.length) {
      const { chunk, after } = this.readAt(this.at);
      this.at += chunk.length;
      this.emit('data', chunk);
      after?.();
    }
    if (this.at >= this.bytes.length) {
      this.ended?.();
      this.emit('end');
    }
  }
}

const LE = '1.2.840.10008.1.2.1';
const JPEG_LS = '1.2.840.10008.1.2.4.80';

describe('MultipartScanner', () => {
  it('finds the parts whatever the chunking, delimiter look-alikes in the bodies', async () => {
    const boundary = newBoundary();
    const bodies = [Buffer.from(`x--${boundary}\r\n--${boundary.slice(0, -1)}X\r\n\r\n-`), randomBytes(3000), Buffer.alloc(0), Buffer.from('\r\n\r\n--\r')];
    const bytes = await bytesOf(multipartBody(bodies.map((body) => ({ contentType: 'application/octet-stream', body })), boundary));
    for (const size of [1, 2, 3, 7, 64, 1000, bytes.length]) {
      const parts: { headers: Map<string, string>; body: Buffer[] }[] = [];
      const scanner = new MultipartScanner(boundary, {
        partStart: (headers) => parts.push({ headers, body: [] }),
        partData: (b) => parts.at(-1)!.body.push(Buffer.from(b)),
        partEnd: () => undefined,
      });
      for (let i = 0; i < bytes.length; i += size) scanner.write(bytes.subarray(i, i + size));
      scanner.end();
      expect(parts.map((p) => Buffer.concat(p.body).toString('hex')), `chunks of ${size}`).toEqual(bodies.map((b) => b.toString('hex')));
      expect(parts.every((p) => p.headers.get('content-type') === 'application/octet-stream')).toBe(true);
    }
  });

  it('passes a part on by its Content-Length, whatever the chunking, and refuses a length that does not match', async () => {
    const boundary = newBoundary();
    // The first holds the delimiter itself: a counted part is not searched.
    const bodies = [Buffer.from(`x\r\n--${boundary}\r\n`), randomBytes(3000), Buffer.alloc(0)];
    const counted = (lengthOf: (body: Buffer) => number | string, bodies: Buffer[]) =>
      Buffer.concat([
        ...bodies.map((body) => Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\nContent-Length: ${lengthOf(body)}\r\n\r\n`), body, Buffer.from('\r\n')])),
        Buffer.from(`--${boundary}--\r\n`),
      ]);
    const scan = (bytes: Buffer, size: number) => {
      const parts: Buffer[][] = [];
      const scanner = new MultipartScanner(boundary, { partStart: () => parts.push([]), partData: (b) => parts.at(-1)!.push(Buffer.from(b)), partEnd: () => undefined });
      for (let i = 0; i < bytes.length; i += size) scanner.write(bytes.subarray(i, i + size));
      scanner.end();
      return parts.map((p) => Buffer.concat(p).toString('hex'));
    };
    const exact = counted((b) => b.length, bodies);
    for (const size of [1, 2, 5, 77, 1000, exact.length]) expect(scan(exact, size), `chunks of ${size}`).toEqual(bodies.map((b) => b.toString('hex')));
    // Not a length: the delimiter is searched for, as in a part without one.
    const searched = bodies.slice(1);
    expect(scan(counted(() => '12abc', searched), 64)).toEqual(searched.map((b) => b.toString('hex')));
    expect(() => scan(counted((b) => b.length + 1, bodies), 64)).toThrow(/Content-Length/);
    expect(() => scan(counted((b) => Math.max(0, b.length - 1), bodies), 64)).toThrow(/Content-Length/);
  });

  it('copies of an input only what completes the bytes held from the last one: the rest goes on as views of it', async () => {
    const boundary = newBoundary();
    const bodies = [randomBytes(5000), randomBytes(40_000)];
    for (const withLength of [true, false]) {
      const bytes = await bytesOf(multipartBody(bodies.map((body) => ({ contentType: 'application/dicom', contentLength: withLength ? body.length : undefined, body })), boundary));
      // As Orthanc's reads end: after a body and the CRLF of the next delimiter, which the scanner must hold.
      const cut = bytes.indexOf(`\r\n--${boundary}`, 5000) + 2;
      const [first, second] = [Buffer.from(bytes.subarray(0, cut)), Buffer.from(bytes.subarray(cut))];
      const parts: Buffer[][] = [];
      const scanner = new MultipartScanner(boundary, { partStart: () => parts.push([]), partData: (b) => parts.at(-1)!.push(b), partEnd: () => undefined });
      scanner.write(first);
      scanner.write(second);
      scanner.end();
      expect(parts.map((p) => Buffer.concat(p).equals(bodies[parts.indexOf(p)]!)), `with Content-Length: ${withLength}`).toEqual([true, true]);
      const viewed = parts[1]!.filter((piece) => piece.buffer === second.buffer).reduce((n, piece) => n + piece.length, 0);
      expect(viewed, `with Content-Length: ${withLength}`).toBeGreaterThan(bodies[1]!.length - 2048);
    }
  });

  it('reads a header block longer than what completing held bytes copies, split across inputs', () => {
    const headers = `Content-Type: application/dicom\r\nX-Padding: ${'p'.repeat(6000)}\r\n\r\n`;
    const bytes = Buffer.from(`--b\r\n${headers}body one\r\n--b\r\n${headers}body two\r\n--b--\r\n`);
    for (const cuts of [[10], [10, 3000], [4000, 7000, 9000]]) {
      const parts: { padding: number; body: string }[] = [];
      const scanner = new MultipartScanner('b', {
        partStart: (h) => parts.push({ padding: h.get('x-padding')?.length ?? 0, body: '' }),
        partData: (b) => (parts.at(-1)!.body += b.toString()),
        partEnd: () => undefined,
      });
      [0, ...cuts].forEach((from, i) => scanner.write(bytes.subarray(from, cuts[i] ?? bytes.length)));
      scanner.end();
      expect(parts, `cut at ${cuts}`).toEqual([
        { padding: 6000, body: 'body one' },
        { padding: 6000, body: 'body two' },
      ]);
    }
  });

  it('refuses a body cut before the close delimiter, garbage after a delimiter and an endless header block', () => {
    const events = { partStart: () => undefined, partData: () => undefined, partEnd: () => undefined };
    const cut = new MultipartScanner('b', events);
    cut.write(Buffer.from('--b\r\nContent-Type: x\r\n\r\nhalf a part'));
    expect(() => cut.end()).toThrow(MultipartError);
    expect(() => new MultipartScanner('b', events).write(Buffer.from('--b garbage\r\n'))).toThrow(/garbage/);
    const endless = new MultipartScanner('b', events, 1024);
    endless.write(Buffer.from('--b\r\n'));
    expect(() => endless.write(Buffer.from(`X-Long: ${'a'.repeat(2000)}`))).toThrow(/longer than 1024/);
  });
});

describe('MultipartRelay', () => {
  it('re-frames the parts of several answers under one boundary, headers reduced to the file meta transfer syntax', async () => {
    const a = [part10('1.2.3.1', LE, randomBytes(5000)), part10('1.2.3.2', JPEG_LS, randomBytes(70_000))];
    const b = [part10('1.2.3.3', LE, randomBytes(100))];
    const [first, second] = await Promise.all([pacsAnswer(a), pacsAnswer(b)]);
    const boundary = newBoundary();
    const served = { instances: 0, skipped: 0 };
    const relay = new MultipartRelay({
      sources: sourcesOf({ body: chunked(first!.bytes, 777), boundary: first!.boundary, idleTimeoutMs: 5000 }, { body: chunked(second!.bytes, 13), boundary: second!.boundary, idleTimeoutMs: 5000 }),
      boundary,
      served,
    });
    expect((await relay.firstPart)?.sopInstanceUid).toBe('1.2.3.1');
    const parts = await relayedParts(relay, boundary);
    expect(parts.map((p) => p.body.equals([...a, ...b][parts.indexOf(p)]!))).toEqual([true, true, true]);
    expect(parts.map((p) => [...p.headers.entries()])).toEqual([
      [['content-type', `application/dicom; transfer-syntax=${LE}`]],
      [['content-type', `application/dicom; transfer-syntax=${JPEG_LS}`]],
      [['content-type', `application/dicom; transfer-syntax=${LE}`]],
    ]);
    expect(served.instances).toBe(3);
  });

  it('passes on the Content-Length the PACS gave a part (its client then need not search the bytes for our boundary), none where it gave none', async () => {
    const files = [part10('1.2.3.1', LE, randomBytes(5000)), part10('1.2.3.2', LE, randomBytes(300))];
    const pacsBoundary = `pacs-${randomBytes(8).toString('hex')}`;
    const bytes = await bytesOf(multipartBody([{ contentType: 'application/dicom', contentLength: files[0]!.length, body: files[0]! }, { contentType: 'application/dicom', body: files[1]! }], pacsBoundary));
    const boundary = newBoundary();
    const relay = new MultipartRelay({ sources: sourcesOf({ body: chunked(bytes, 999), boundary: pacsBoundary, idleTimeoutMs: 5000 }), boundary, served: { instances: 0, skipped: 0 } });
    const parts = await relayedParts(relay, boundary);
    expect(parts.map((p) => p.headers.get('content-length'))).toEqual([String(files[0]!.length), undefined]);
    expect(parts.map((p, i) => p.body.equals(files[i]!))).toEqual([true, true]);
  });

  it('drops the instances its source does not keep (the coverage), unsent and uncounted', async () => {
    const files = ['1.1', '1.2', '1.3', '1.4'].map((sop) => part10(sop, LE, randomBytes(2000)));
    const answer = await pacsAnswer(files);
    const boundary = newBoundary();
    const served = { instances: 0, skipped: 0 };
    const keep = (meta: { sopInstanceUid?: string }) => meta.sopInstanceUid === '1.2' || meta.sopInstanceUid === '1.4';
    const relay = new MultipartRelay({ sources: sourcesOf({ body: chunked(answer.bytes, 100), boundary: answer.boundary, keep, idleTimeoutMs: 5000 }), boundary, served });
    const parts = await relayedParts(relay, boundary);
    expect(parts.map((p) => p.body.equals(files[1]!) || p.body.equals(files[3]!))).toEqual([true, true]);
    expect(served.instances).toBe(2);
  });

  it('says there is no part when nothing is kept, with a valid empty body', async () => {
    const answer = await pacsAnswer([part10('9.9', LE, Buffer.alloc(10))]);
    const boundary = newBoundary();
    const relay = new MultipartRelay({ sources: sourcesOf({ body: chunked(answer.bytes, 50), boundary: answer.boundary, keep: () => false, idleTimeoutMs: 5000 }), boundary, served: { instances: 0, skipped: 0 } });
    expect(await relay.firstPart).toBeUndefined();
    expect(await relayedParts(relay, boundary)).toEqual([]);
  });

  it('fails with 502, and no unhandled error, when a part is not a DICOM file or the answer is cut', async () => {
    const notDicom = await pacsAnswer([Buffer.from('<html>proxy error</html>'.padEnd(300, ' '))]);
    const relay = new MultipartRelay({ sources: sourcesOf({ body: chunked(notDicom.bytes, 64), boundary: notDicom.boundary, idleTimeoutMs: 5000 }), boundary: newBoundary(), served: { instances: 0, skipped: 0 } });
    await expect(relay.firstPart).rejects.toMatchObject({ status: 502, message: expect.stringMatching(/not a DICOM file/) });

    const whole = await pacsAnswer([part10('1.1', LE, randomBytes(4000))]);
    const cut = whole.bytes.subarray(0, 2000);
    const boundary = newBoundary();
    const truncated = new MultipartRelay({ sources: sourcesOf({ body: chunked(cut, 500), boundary: whole.boundary, idleTimeoutMs: 5000 }), boundary, served: { instances: 0, skipped: 0 } });
    expect((await truncated.firstPart)?.sopInstanceUid).toBe('1.1');
    const error = await bytesOf(truncated).then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(DicomwebError);
    expect(error).toMatchObject({ status: 502 });
  });

  it('fails with 504 when the PACS goes silent while the relay waits for it', async () => {
    const answer = await pacsAnswer([part10('1.1', LE, randomBytes(4000))]);
    const silent = new PassThrough();
    silent.write(answer.bytes.subarray(0, 1000));
    const relay = new MultipartRelay({ sources: sourcesOf({ body: silent, boundary: answer.boundary, idleTimeoutMs: 100 }), boundary: newBoundary(), served: { instances: 0, skipped: 0 } });
    await relay.firstPart;
    const error = await bytesOf(relay).then(() => undefined, (err: unknown) => err);
    expect(error).toMatchObject({ status: 504 });
    expect(silent.destroyed).toBe(true);
  });

  it('pauses the PACS while its reader does not read, and goes on when it does', async () => {
    const files = Array.from({ length: 20 }, (_, i) => part10(`1.${i}`, LE, randomBytes(100_000)));
    const answer = await pacsAnswer(files);
    const pacs = new PassThrough({ highWaterMark: 64 * 1024 });
    let written = 0;
    const feed = async () => {
      for (let i = 0; i < answer.bytes.length; i += 64 * 1024) {
        if (!pacs.write(answer.bytes.subarray(i, i + 64 * 1024))) await new Promise((r) => pacs.once('drain', r));
        written = i;
      }
      pacs.end();
    };
    const boundary = newBoundary();
    const relay = new MultipartRelay({ sources: sourcesOf({ body: pacs, boundary: answer.boundary, idleTimeoutMs: 5000 }), boundary, served: { instances: 0, skipped: 0 } });
    const feeding = feed();
    await relay.firstPart;
    await new Promise((r) => setTimeout(r, 200));
    // Nothing reads the relay: what it took from the PACS is bounded by its buffer and the PACS side's.
    expect(written).toBeLessThan(600 * 1024);
    expect(relay.readableLength).toBeLessThanOrEqual(relay.readableHighWaterMark);
    const parts = await relayedParts(relay, boundary);
    await feeding;
    expect(parts).toHaveLength(20);
  });

  it('keeps nothing of a chunk past its data event: a source may overwrite its read buffer at once', async () => {
    const files = Array.from({ length: 6 }, (_, i) => part10(`1.${i}`, LE, randomBytes(100 + i * 9000)));
    const answer = await pacsAnswer(files);
    // One buffer, refilled for every chunk and scrambled as soon as the event returns.
    const buffer = Buffer.alloc(1000);
    const source = new PumpedSource(answer.bytes, (at) => {
      const n = answer.bytes.copy(buffer, 0, at, at + 1 + ((at * 7919) % buffer.length));
      return { chunk: buffer.subarray(0, n), after: () => buffer.fill(0xee) };
    });
    const boundary = newBoundary();
    const relay = new MultipartRelay({ sources: sourcesOf({ body: source, boundary: answer.boundary, idleTimeoutMs: 5000 }), boundary, served: { instances: 0, skipped: 0 } });
    const parts = await relayedParts(relay, boundary);
    expect(parts.map((p, i) => p.body.equals(files[i]!))).toEqual(files.map(() => true));
  });

  it('queues the part bodies of a source that holds its chunks as they were read, each held until sent', async () => {
    const files = Array.from({ length: 6 }, (_, i) => part10(`1.${i}`, LE, randomBytes(2000 + i * 3000)));
    const answer = await pacsAnswer(files);
    const readPool = new BlockPool(1000, 64);
    const taken = new Set<ArrayBufferLike>();
    const take = readPool.take.bind(readPool);
    readPool.take = () => {
      const block = take();
      taken.add(block.buffer);
      return block;
    };
    // Reads into pooled blocks as http1-transient-get does: a block nobody holds is read into again at once.
    const blocks = new ReadBlocks(readPool);
    const pumped = new PumpedSource(
      answer.bytes,
      (at) => {
        const block = blocks.next();
        const n = answer.bytes.copy(block, 0, at, at + 1 + ((at * 7919) % block.length));
        blocks.read(n);
        return { chunk: block.subarray(0, n) };
      },
      () => blocks.close(),
    );
    const source = Object.assign(pumped, { hold: () => blocks.hold() });
    const boundary = newBoundary();
    const relay = new MultipartRelay({ sources: sourcesOf({ body: source, boundary: answer.boundary, idleTimeoutMs: 5000 }), boundary, served: { instances: 0, skipped: 0 } });
    const sent: Buffer[] = [];
    const held: (() => void)[] = [];
    let readBlocksSent = 0;
    for await (const chunk of relay as AsyncIterable<Buffer>) {
      if (taken.has(chunk.buffer)) readBlocksSent++;
      sent.push(chunk);
      // Given back late (as a slow client's socket would): what is queued must stay as it was read.
      held.push(takeGiveBack(chunk)!);
      await new Promise((r) => setImmediate(r));
    }
    const parts: Buffer[] = [];
    for await (const part of readMultipart(Readable.from(sent), boundary)) parts.push(await bytesOf(part.body));
    expect(parts.map((p, i) => p.equals(files[i]!))).toEqual(files.map(() => true));
    expect(readBlocksSent).toBeGreaterThan(files.length);
    expect(held.every((giveBack) => typeof giveBack === 'function')).toBe(true);
    expect(readPool.freeBlocks).toBeLessThan(taken.size);
    for (const giveBack of held) giveBack();
    expect(readPool.freeBlocks).toBe(taken.size);
  });

  it('sends as read the rest of a read that completes a file meta begun in the last one', async () => {
    const files = [part10('1.1', LE, randomBytes(3000)), part10('1.2', LE, randomBytes(60_000))];
    const answer = await pacsAnswer(files);
    // The first read ends 40 bytes into the second file, inside its file meta; the second read is all the rest.
    const cut = answer.bytes.indexOf(files[1]!) + 40;
    const second = Buffer.from(answer.bytes.subarray(cut));
    const source = Object.assign(
      new PumpedSource(answer.bytes, (at) => ({ chunk: at === 0 ? Buffer.from(answer.bytes.subarray(0, cut)) : second })),
      { hold: () => () => undefined },
    );
    const relay = new MultipartRelay({ sources: sourcesOf({ body: source, boundary: answer.boundary, idleTimeoutMs: 5000 }), boundary: newBoundary(), served: { instances: 0, skipped: 0 } });
    let sentAsRead = 0;
    for await (const chunk of relay as AsyncIterable<Buffer>) if (chunk.buffer === second.buffer) sentAsRead += chunk.length;
    expect(sentAsRead).toBeGreaterThan(files[1]!.length - 200);
  });

  it('sends pooled blocks, each lent: given back once sent, it serves the next chunks', async () => {
    const files = Array.from({ length: 5 }, (_, i) => part10(`1.${i}`, LE, randomBytes(3000)));
    const answer = await pacsAnswer(files);
    const pool = new BlockPool(1024, 4);
    const boundary = newBoundary();
    const relay = new MultipartRelay({ sources: sourcesOf({ body: chunked(answer.bytes, 700), boundary: answer.boundary, idleTimeoutMs: 5000 }), boundary, served: { instances: 0, skipped: 0 }, pool });
    const sent: Buffer[] = [];
    let lent = 0;
    for await (const chunk of relay) {
      expect(chunk.length).toBeLessThanOrEqual(1024);
      sent.push(Buffer.from(chunk));
      const giveBack = takeGiveBack(chunk);
      if (giveBack) lent++;
      giveBack?.();
      giveBack?.(); // twice: once counts
    }
    expect(lent).toBe(sent.length);
    expect(pool.freeBlocks).toBeGreaterThan(0);
    expect(pool.freeBlocks).toBeLessThanOrEqual(4);
    const parts: Buffer[] = [];
    for await (const part of readMultipart(Readable.from(sent), boundary)) parts.push(await bytesOf(part.body));
    expect(parts.map((p, i) => p.equals(files[i]!))).toEqual(files.map(() => true));
  });

  it('closes the PACS answer when the relay is dropped', async () => {
    const answer = await pacsAnswer([part10('1.1', LE, randomBytes(400_000))]);
    const pacs = new PassThrough();
    pacs.write(answer.bytes.subarray(0, 100_000));
    const relay = new MultipartRelay({ sources: sourcesOf({ body: pacs, boundary: answer.boundary, idleTimeoutMs: 5000 }), boundary: newBoundary(), served: { instances: 0, skipped: 0 } });
    await relay.firstPart;
    relay.destroy();
    await new Promise((r) => setImmediate(r));
    expect(pacs.destroyed).toBe(true);
  });
});
