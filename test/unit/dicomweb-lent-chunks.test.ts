import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { lentChunk, takeGiveBack } from '../../appliance/src/dicomweb/lent-chunks.js';
import { writeToNodeResponse } from '../../appliance/src/dicomweb/node-response.js';

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
});
