import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Agent, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tlsCredentialFromPkcs12 } from '../../appliance/src/auth/signer/file-signer.js';
import { readAll } from '../../appliance/src/xds/mtom.js';
import { createDmpAgent, post, type PoolLimits } from '../../appliance/src/xds/transport.js';
import { makeTestPki, type TestPki } from '../fixtures/pki/make-test-pki.js';

/** The DMP connection pool: handshakes are shared between requests, within a bounded pool and a bounded lifetime. */

let dir: string;
let pki: TestPki;
let server: Server;
let url: string;
/** Client certificate subject of each TLS connection the server accepted. */
let handshakes: string[];
let inFlight = 0;
let peakInFlight = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drimbox-pool-'));
  pki = makeTestPki(dir);
  server = createServer(
    { key: readFileSync(pki.server.keyPem), cert: readFileSync(pki.server.certPem), ca: readFileSync(pki.ca.certPem), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
    (req, res) => {
      inFlight++;
      peakInFlight = Math.max(peakInFlight, inFlight);
      req.resume();
      req.on('end', () =>
        setImmediate(() => {
          inFlight--;
          res.writeHead(200, { 'Content-Type': 'application/soap+xml' });
          res.end('<ok/>');
        }),
      );
    },
  );
  server.on('secureConnection', (socket: TLSSocket) => handshakes.push(String(socket.getPeerCertificate().subject?.CN)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/repository`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  handshakes = [];
  peakInFlight = 0;
});

function agentWith(limits: PoolLimits): Agent {
  return createDmpAgent({ ca: readFileSync(pki.ca.certPem), credential: tlsCredentialFromPkcs12(readFileSync(pki.authClient.p12), pki.authClient.p12Password) }, limits);
}

async function send(agent: Agent): Promise<string> {
  const body = Buffer.from('<request/>');
  const answer = await post({ url, contentType: 'application/soap+xml', chunks: [body], length: body.length }, agent, { connectMs: 5000, idleMs: 5000 });
  return (await readAll(answer.body, 1024, 'answer')).toString();
}

describe('DMP connection pool', () => {
  it('sends one request after another over a single mutually authenticated handshake', async () => {
    const agent = agentWith({});
    for (let i = 0; i < 4; i++) expect(await send(agent)).toBe('<ok/>');
    agent.destroy();
    expect(handshakes).toEqual(['DRIMbox AUTH_CLI']);
  });

  it('does not reuse a connection past its lifetime: a new handshake, with the client certificate again', async () => {
    const agent = agentWith({ maxAgeMs: 0 });
    for (let i = 0; i < 3; i++) expect(await send(agent)).toBe('<ok/>');
    agent.destroy();
    expect(handshakes).toEqual(['DRIMbox AUTH_CLI', 'DRIMbox AUTH_CLI', 'DRIMbox AUTH_CLI']);
  });

  it('holds no more connections than its bound, however many requests wait', async () => {
    const agent = agentWith({ maxSockets: 2 });
    const answers = await Promise.all(Array.from({ length: 8 }, () => send(agent)));
    agent.destroy();
    expect(answers.every((a) => a === '<ok/>')).toBe(true);
    expect(handshakes.length).toBe(2);
    expect(peakInFlight).toBeLessThanOrEqual(2);
  });
});
