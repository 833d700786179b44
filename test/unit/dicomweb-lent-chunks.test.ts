import { createServer, request, type Server } from 'node:http';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { lentChunk, takeGiveBack } from '../../appliance/src/dicomweb/lent-chunks.js';
import { pipeLentToNodeResponse, writeToNodeResponse } from '../../appliance/src/dicomweb/node-response.js';
import type { MeterResult } from '../../appliance/src/dicomweb/streams.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

describe('lent chunks', () => {
  it('a give-back is taken once; an untagged chunk has none', () => {
    const chunk = Buffer.from('abc');
    let given = 0;
    lentChunk(chunk, () => given++);
    takeGiveBack(chunk)?.();
    expect(takeGiveBack(chunk)).toBeUndefined();
    expect(takeGiveBack(Buffer.from('x'))).toBeUndefined();
    expect(given).toBe(1);
  });

  it('writeToNodeResponse gives each lent chunk back once the socket has taken it, and sends the same bytes', async () => {
    const pieces = Array.from({ length: 40 }, (_, i) => Buffer.alloc(64 * 1024, i));
    const givenBack: number[] = [];
    let writtenWhenGivenBack = -1;
    server = createServer((_req, res) => {
      async function* body() {
        for (const [i, piece] of pieces.entries()) {
          yield lentChunk(piece, () => {
            givenBack.push(i);
            writtenWhenGivenBack = Math.max(writtenWhenGivenBack, res.socket?.bytesWritten ?? 0);
          });
          yield Buffer.from('untagged');
        }
      }
      void writeToNodeResponse(res, 200, { 'content-type': 'application/octet-stream' }, body());
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.equals(Buffer.concat(pieces.flatMap((p) => [p, Buffer.from('untagged')])))).toBe(true);
    expect(givenBack).toEqual(pieces.map((_, i) => i));
    // Given back after the socket wrote them, not when queued: by the last give-back, the socket had written them all.
    expect(writtenWhenGivenBack).toBeGreaterThanOrEqual(40 * 64 * 1024);
  });

  it('pipeLentToNodeResponse gives each lent chunk of a stream back once the socket has taken it, and tells the whole body went', async () => {
    const pieces = Array.from({ length: 40 }, (_, i) => Buffer.alloc(64 * 1024, i));
    const givenBack: number[] = [];
    let writtenWhenGivenBack = -1;
    let result: MeterResult | undefined;
    const ended = new Promise<void>((resolve) => {
      server = createServer((_req, res) => {
        const chunks = pieces.flatMap((piece, i) => [
          lentChunk(piece, () => {
            givenBack.push(i);
            writtenWhenGivenBack = Math.max(writtenWhenGivenBack, res.socket?.bytesWritten ?? 0);
          }),
          Buffer.from('untagged'),
        ]);
        pipeLentToNodeResponse(res, 200, { 'content-type': 'application/octet-stream' }, Readable.from(chunks, { objectMode: true }), (r) => {
          result = r;
          resolve();
        });
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    const res = await fetch(`http://127.0.0.1:${(server!.address() as AddressInfo).port}/`);
    const body = Buffer.from(await res.arrayBuffer());
    await ended;
    expect(body.equals(Buffer.concat(pieces.flatMap((p) => [p, Buffer.from('untagged')])))).toBe(true);
    expect(givenBack).toEqual(pieces.map((_, i) => i));
    expect(writtenWhenGivenBack).toBeGreaterThanOrEqual(40 * 64 * 1024);
    expect(result).toEqual({ bytes: body.length, completed: true, error: undefined });
  });

  it('pipeLentToNodeResponse stops its source when the client goes away, and cuts the answer when the source fails', async () => {
    let endless: Readable | undefined;
    let failing = false;
    const results: MeterResult[] = [];
    const told = () => new Promise<void>((resolve) => (tell = resolve));
    let tell = () => {};
    server = createServer((_req, res) => {
      const failingSource = () =>
        new Readable({
          objectMode: true,
          read() {
            this.push(Buffer.alloc(1000, 1));
            setImmediate(() => this.destroy(new Error('PACS gone')));
          },
        });
      const endlessSource = () =>
        (endless = new Readable({
          objectMode: true,
          read() {
            this.push(Buffer.alloc(64 * 1024, 2));
          },
        }));
      const source = failing ? failingSource() : endlessSource();
      pipeLentToNodeResponse(res, 200, {}, source, (r) => {
        results.push(r);
        tell();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    const port = (server!.address() as AddressInfo).port;
    let wait = told();
    await new Promise<void>((resolve) => {
      const req = request({ port, host: '127.0.0.1' }, (res) => res.once('data', () => (req.destroy(), resolve())));
      req.end();
    });
    await wait;
    expect(endless!.destroyed).toBe(true);
    expect(results[0]).toMatchObject({ completed: false });
    failing = true;
    wait = told();
    const cut = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.arrayBuffer()).then(() => 'whole', () => 'cut');
    await wait;
    expect(cut).toBe('cut');
    expect(results[1]).toMatchObject({ completed: false, error: expect.objectContaining({ message: 'PACS gone' }) });
  });
});
