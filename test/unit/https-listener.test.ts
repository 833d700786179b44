import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { connect, Socket } from 'node:net';
import { request } from 'node:https';
import { request as plainRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { ensureSelfSignedCertificate, listenerCertificate } from '../../appliance/src/device/box-certificate.js';
import { listen, type Listener } from '../../appliance/src/http/listen.js';

let dir: string;
let listener: Listener;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drimbox-https-'));
  const certificate = ensureSelfSignedCertificate(dir);
  const app = new Hono();
  app.get('/who', (c) => c.text(`hello ${c.req.query('n') ?? ''}`));
  listener = await listen(app, { host: '127.0.0.1', port: 0, tls: { certFile: certificate.certFile, keyFile: certificate.keyFile, clientCaFile: '' } });
});

afterAll(async () => {
  await listener?.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: listener.port, path, headers, ca: readFileSync(join(dir, 'tls/self-signed.crt')) }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject).end();
  });
}

function plainGet(path: string, host: string): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) =>
    plainRequest({ host: '127.0.0.1', port: listener.port, path, headers: { host } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode!, location: res.headers.location });
    })
      .on('error', reject)
      .end(),
  );
}

describe('the box certificate', () => {
  it('is made once by OpenSSL, names the box and loopback, keeps its key private, and is reused', () => {
    const first = ensureSelfSignedCertificate(dir);
    const cert = new X509Certificate(readFileSync(first.certFile));
    expect(cert.subjectAltName).toMatch(/IP Address:127\.0\.0\.1/);
    expect(cert.subjectAltName).toMatch(/DNS:localhost/);
    expect(cert.checkPrivateKey(createPrivateKey(readFileSync(first.keyFile)))).toBe(true);
    expect(statSync(first.keyFile).mode & 0o077).toBe(0);
    expect(ensureSelfSignedCertificate(dir).fingerprint256).toBe(first.fingerprint256);
  });

  it('is made again when it is about to expire or when its key does not match', () => {
    const other = mkdtempSync(join(tmpdir(), 'drimbox-cert-'));
    try {
      const first = ensureSelfSignedCertificate(other);
      const late = ensureSelfSignedCertificate(other, new Date(first.notAfter.getTime() - 24 * 3600_000));
      expect(late.fingerprint256).not.toBe(first.fingerprint256);
      const third = mkdtempSync(join(tmpdir(), 'drimbox-cert-'));
      const unrelated = ensureSelfSignedCertificate(third);
      writeFileSync(late.keyFile, readFileSync(unrelated.keyFile));
      rmSync(third, { recursive: true, force: true });
      expect(ensureSelfSignedCertificate(other).fingerprint256).not.toBe(late.fingerprint256);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('refuses a half-set or contradictory configuration', () => {
    expect(() => listenerCertificate({ enabled: true, certFile: '/x.crt', keyFile: '' }, dir)).toThrow(/go together/);
    expect(() => listenerCertificate({ enabled: false, certFile: '/x.crt', keyFile: '/x.key' }, dir)).toThrow(/enabled is false/);
    expect(listenerCertificate({ enabled: false, certFile: '', keyFile: '' }, dir)).toBeUndefined();
  });
});

describe('a TLS listener', () => {
  it('serves HTTPS with the box certificate', async () => {
    expect(await get('/who?n=tls')).toMatchObject({ status: 200, body: 'hello tls' });
  });

  it('answers plain HTTP on the same port with a redirect to the same place over HTTPS', async () => {
    expect(await plainGet('/who?n=1', `drimbox.local:${listener.port}`)).toEqual({ status: 308, location: `https://drimbox.local:${listener.port}/who?n=1` });
    expect(await plainGet('/who', '[::1]:8443')).toEqual({ status: 308, location: 'https://[::1]:8443/who' });
  });

  it('redirects nowhere a forged Host header points', async () => {
    expect((await plainGet('/who', 'evil.example/x?')).status).toBe(400);
    expect((await plainGet('/who', 'a b')).status).toBe(400);
  });

  it('turns Nagle off on the connections it accepts, TLS and plain', async () => {
    // With Nagle on, the last small write of a streamed HTTP/1.1 answer waited for the client's delayed ACK (~40 ms
    // a request; test/bench/https-latency-bench.ts). Node's servers turn it off only on sockets they accept
    // themselves, not on those this listener hands them.
    const setNoDelay = Socket.prototype.setNoDelay;
    const calls: { port: number | undefined; tls: boolean; on: boolean }[] = [];
    const spy = vi.spyOn(Socket.prototype, 'setNoDelay').mockImplementation(function (this: Socket, on?: boolean) {
      calls.push({ port: this.localPort, tls: 'encrypted' in this, on: on ?? true });
      return setNoDelay.call(this, on);
    });
    try {
      await new Promise((resolve, reject) =>
        request({ host: '127.0.0.1', port: listener.port, path: '/who', agent: false, ca: readFileSync(join(dir, 'tls/self-signed.crt')) }, (res) => res.resume().on('end', resolve))
          .on('error', reject)
          .end(),
      );
      await plainGet('/who', 'drimbox.local');
      // Two connections accepted (one TLS, one plain): each raw socket had Nagle turned off.
      expect(calls.filter((c) => c.port === listener.port && !c.tls)).toEqual([
        { port: listener.port, tls: false, on: true },
        { port: listener.port, tls: false, on: true },
      ]);
    } finally {
      spy.mockRestore();
    }
  });

  it('survives a truncated handshake and keeps serving', async () => {
    const socket = connect(listener.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x01, 0x00])); // a truncated ClientHello
    socket.end();
    expect(await get('/who?n=after')).toMatchObject({ status: 200, body: 'hello after' });
  });
});
