import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentFetch } from '../../appliance/src/consumer/agent-fetch.js';
import { makeTestPki } from '../fixtures/pki/make-test-pki.js';

/** The mTLS fetch of the consumer: asks for gzip like fetch does, and hands the decoded body on. */
let dir: string;
let server: Server;
let base: string;
let agent: Agent;
const payload = Buffer.concat([Buffer.from('--b\r\nContent-Type: application/dicom\r\n\r\n'), Buffer.alloc(200_000, 0), Buffer.from('\r\n--b--\r\n')]);
const seen: (string | undefined)[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agent-fetch-'));
  const pki = makeTestPki(join(dir, 'pki'));
  server = createServer({ cert: readFileSync(pki.server.certPem), key: readFileSync(pki.server.keyPem) }, (req, res) => {
    seen.push(req.headers['accept-encoding']);
    if (req.url === '/broken') {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end(Buffer.concat([gzipSync(payload).subarray(0, 100), Buffer.from('not gzip at all')]));
    } else if (req.url === '/plain' || !String(req.headers['accept-encoding']).includes('gzip')) {
      res.writeHead(200, { 'content-length': payload.length });
      res.end(payload);
    } else {
      const gz = gzipSync(payload);
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': gz.length });
      res.end(gz);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  agent = new Agent({ ca: readFileSync(pki.ca.certPem), keepAlive: true });
});

afterAll(async () => {
  agent?.destroy();
  await new Promise((r) => server?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('agentFetch', () => {
  it('asks for gzip and gives the decoded bytes, without the encoding headers', async () => {
    const res = await agentFetch(agent)(`${base}/study`);
    expect(seen.at(-1)).toBe('gzip');
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(res.headers.get('content-length')).toBeNull();
    expect(Buffer.from(await res.arrayBuffer()).equals(payload)).toBe(true);
  });

  it('passes an identity answer through, and keeps an Accept-Encoding the caller chose', async () => {
    const res = await agentFetch(agent)(`${base}/plain`, { headers: { 'accept-encoding': 'identity' } });
    expect(seen.at(-1)).toBe('identity');
    expect(res.headers.get('content-length')).toBe(String(payload.length));
    expect(Buffer.from(await res.arrayBuffer()).equals(payload)).toBe(true);
  });

  it('a corrupt gzip body fails the read, it does not end quietly short', async () => {
    const res = await agentFetch(agent)(`${base}/broken`);
    await expect(res.arrayBuffer()).rejects.toThrow();
  });
});
