import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScuAssociation } from '../../appliance/src/dimse/association.js';

/**
 * An association cancelled (or timed out) while TCP is still connecting: when the connection completes later, the
 * box must not try to send its A-ASSOCIATE-RQ from the aborted state — that threw in a socket callback, an uncaught
 * exception that would stop the whole box (seen once in the consumer crash test).
 */

let server: Server;
let port: number;
const accepted: Socket[] = [];

beforeAll(async () => {
  server = createServer((socket) => {
    accepted.push(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const s of accepted) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

describe('ScuAssociation.open cancelled before the TCP connection completes', () => {
  it('rejects as cancelled, sends nothing, and throws nothing once the connection completes', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      for (let i = 0; i < 20; i++) {
        const controller = new AbortController();
        const opening = ScuAssociation.open({
          peer: { aeTitle: 'ORTHANC', host: '127.0.0.1', port },
          callingAeTitle: 'DRIMBOX',
          contexts: [{ abstractSyntaxUid: '1.2.840.10008.1.1', transferSyntaxUids: ['1.2.840.10008.1.2'] }],
          connectTimeoutMs: 5000,
          responseTimeoutMs: 5000,
          maxPduLength: 16384,
          signal: controller.signal,
        });
        // Aborted in the same tick: the TCP connect completes afterwards.
        controller.abort();
        await expect(opening).rejects.toMatchObject({ kind: 'cancelled' });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(uncaught).toEqual([]);
      // Whatever connections were made were closed without a byte of A-ASSOCIATE-RQ.
      let received = 0;
      for (const s of accepted) s.on('data', (d: Buffer) => (received += d.length));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(received).toBe(0);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
