import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { request } from 'node:https';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSelfSignedCertificate, type BoxCertificate } from '../../appliance/src/device/box-certificate.js';
import type { ConnectionLimits } from '../../appliance/src/http/connection-bounds.js';
import { listen, type Listener } from '../../appliance/src/http/listen.js';

// The TLS listener faces strangers: a connection that says nothing is closed, and one address cannot hold more than
// its share of connections. Small bounds here; the box's are CONNECTION_LIMITS.
let dir: string;
let certificate: BoxCertificate;
const listeners: Listener[] = [];

function app(): Hono {
  const hono = new Hono();
  hono.get('/who', (c) => c.text('hello'));
  // 10 chunks 100 ms apart: a transfer that lasts past the idle bound, never idle itself.
  hono.get('/slow', () => {
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (let i = 0; i < 10; i++) {
          controller.enqueue(new Uint8Array(100).fill(i));
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        controller.close();
      },
    });
    return new Response(body);
  });
  return hono;
}

async function start(limits: ConnectionLimits): Promise<Listener> {
  const listener = await listen(app(), { host: '127.0.0.1', port: 0, tls: { certFile: certificate.certFile, keyFile: certificate.keyFile, clientCaFile: '' }, limits });
  listeners.push(listener);
  return listener;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drimbox-bounds-'));
  certificate = ensureSelfSignedCertificate(dir);
});

afterAll(async () => {
  for (const l of listeners) await l.close();
  rmSync(dir, { recursive: true, force: true });
});

const closed = (socket: { once(event: 'close', listener: () => void): unknown }) => new Promise<void>((resolve) => socket.once('close', () => resolve()));

function httpsGet(port: number, path: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false, ca: readFileSync(certificate.certFile) }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length)).on('end', () => resolve({ status: res.statusCode!, bytes }));
    })
      .on('error', reject)
      .end();
  });
}

describe('the TLS listener bounds its connections', () => {
  it('closes a connection that says nothing: after TLS (HTTP/1.1 or HTTP/2), a partial plain request, a half handshake', async () => {
    const { port } = await start({ idleMs: 300, handshakeMs: 300, perAddress: 16, total: 100 });
    const ca = readFileSync(certificate.certFile);
    const http1 = tlsConnect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['http/1.1'] }).on('error', () => undefined);
    const http2 = h2connect(`https://127.0.0.1:${port}`, { ca }).on('error', () => undefined);
    const plain = connect(port, '127.0.0.1', () => plain.write('GET /who HTTP/1.1\r\nHost: x\r\n')).on('error', () => undefined);
    const half = connect(port, '127.0.0.1', () => half.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]))).on('error', () => undefined);
    // Each resolves only when the box closes it: without the bounds, the test times out.
    await Promise.all([closed(http1), closed(http2), closed(plain), closed(half)]);
  }, 15_000);

  it('closes its side for good, even when the client keeps its own half open (HTTP/2 without a preface, HTTP/1.1)', async () => {
    const { port } = await start({ idleMs: 300, handshakeMs: 300, perAddress: 16, total: 100 });
    const ca = readFileSync(certificate.certFile);
    // The client never answers the box's close: only a reset to what it writes after it proves the box let the
    // connection go (a box that had only shut its writing side would read on, and keep the socket).
    const resetAfterClose = (alpn: string) =>
      new Promise<string>((resolve) => {
        const raw = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
        const secure = tlsConnect({ socket: raw, ca, ALPNProtocols: [alpn], allowHalfOpen: true } as ConnectionOptions);
        secure.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        secure.resume();
        secure.once('end', () => {
          // Twice: the first write draws the reset, the second meets it.
          secure.write(Buffer.alloc(64));
          setTimeout(() => secure.write(Buffer.alloc(64)), 100);
        });
      });
    expect(await resetAfterClose('h2')).toMatch(/ECONNRESET|EPIPE/);
    expect(await resetAfterClose('http/1.1')).toMatch(/ECONNRESET|EPIPE/);
  }, 15_000);

  it('lets a slow transfer run past the idle bound, over HTTP/1.1 and HTTP/2', async () => {
    const { port } = await start({ idleMs: 300, handshakeMs: 300, perAddress: 16, total: 100 });
    expect(await httpsGet(port, '/slow')).toEqual({ status: 200, bytes: 1000 });
    const session = h2connect(`https://127.0.0.1:${port}`, { ca: readFileSync(certificate.certFile) });
    try {
      const bytes = await new Promise<number>((resolve, reject) => {
        let n = 0;
        const stream = session.request({ ':path': '/slow' });
        stream.on('data', (d: Buffer) => (n += d.length)).on('end', () => resolve(n)).on('error', reject);
      });
      expect(bytes).toBe(1000);
    } finally {
      session.close();
    }
  });

  it('refuses a connection over the bound of its address, and admits one again once a slot is free', async () => {
    const { port } = await start({ idleMs: 10_000, handshakeMs: 10_000, perAddress: 3, total: 100 });
    const open = async (): Promise<Socket> => {
      const s = connect(port, '127.0.0.1').on('error', () => undefined);
      await new Promise((resolve) => s.once('connect', resolve));
      return s;
    };
    const held = [await open(), await open(), await open()];
    const fourth = await open();
    let fourthGotData = false;
    fourth.on('data', () => (fourthGotData = true));
    await closed(fourth);
    expect(fourthGotData).toBe(false);
    expect(held.every((s) => !s.destroyed)).toBe(true);

    held.pop()!.destroy();
    // Once the box has seen that close, a request goes through (an attempt refused meanwhile is retried).
    for (let attempt = 0; ; attempt++) {
      const outcome = await httpsGet(port, '/who').catch((err: Error) => err);
      if (!(outcome instanceof Error)) {
        expect(outcome).toEqual({ status: 200, bytes: 5 });
        break;
      }
      if (attempt >= 50) throw outcome;
    }
    for (const s of held) s.destroy();
  });
});
