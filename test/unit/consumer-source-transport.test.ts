import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSourceGet, SourceRedirectError, sourceTlsOf, type SourceAnswer, type SourceTls } from '../../appliance/src/consumer/source-transport.js';
import { takeGiveBack } from '../../appliance/src/dicomweb/lent-chunks.js';
import { makeTestPki } from '../fixtures/pki/make-test-pki.js';

/** The consumer's GETs to source boxes (mutual TLS through an Agent): gzip asked for and decoded, redirects refused. */
let dir: string;
let server: Server;
let base: string;
let tls: SourceTls;
const payload = Buffer.concat([Buffer.from('--b\r\nContent-Type: application/dicom\r\n\r\n'), Buffer.alloc(200_000, 0), Buffer.from('\r\n--b--\r\n')]);
const seen: (string | undefined)[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'source-get-'));
  const pki = makeTestPki(join(dir, 'pki'));
  server = createServer({ cert: readFileSync(pki.server.certPem), key: readFileSync(pki.server.keyPem) }, (req, res) => {
    seen.push(req.headers['accept-encoding']);
    if (req.url === '/moved') {
      res.writeHead(302, { location: 'https://elsewhere.example/' });
      res.end();
    } else if (req.url === '/broken') {
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
  tls = sourceTlsOf({ ca: readFileSync(pki.ca.certPem) });
});

afterAll(async () => {
  tls?.agent.destroy();
  await new Promise((r) => server?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const never = new AbortController().signal;

/** The body's bytes, each chunk copied then given back if lent; `lent`: how many were. */
async function bytesOf(answer: SourceAnswer, counts = { lent: 0 }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of answer.body!) {
    chunks.push(Buffer.from(chunk));
    const giveBack = takeGiveBack(chunk);
    if (giveBack) {
      counts.lent++;
      giveBack();
    }
  }
  return Buffer.concat(chunks);
}

// Short answers on Node's kept-alive agent; bulk ones read into pooled blocks over a TLS connection of their own.
describe.each([false, true])('nodeSourceGet (bulk: %s)', (bulk) => {
  const options = { bulk, idleTimeoutMs: 10_000 };

  it('asks for gzip and gives the decoded bytes, without the encoding headers', async () => {
    const res = await nodeSourceGet(tls)(new URL(`${base}/study`), {}, never, options);
    expect(seen.at(-1)).toBe('gzip');
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(res.headers.get('content-length')).toBeNull();
    expect((await bytesOf(res)).equals(payload)).toBe(true);
  });

  it('passes an identity answer through, and keeps an Accept-Encoding the caller chose', async () => {
    const res = await nodeSourceGet(tls)(new URL(`${base}/plain`), { 'Accept-Encoding': 'identity' }, never, options);
    expect(seen.at(-1)).toBe('identity');
    expect(res.headers.get('content-length')).toBe(String(payload.length));
    const counts = { lent: 0 };
    expect((await bytesOf(res, counts)).equals(payload)).toBe(true);
    // A bulk answer's chunks are lent out of the pooled blocks they were read into; a short one's are the reader's.
    if (bulk) expect(counts.lent).toBeGreaterThan(0);
    else expect(counts.lent).toBe(0);
  });

  it('a corrupt gzip body fails the read, it does not end quietly short', async () => {
    const res = await nodeSourceGet(tls)(new URL(`${base}/broken`), {}, never, options);
    await expect(bytesOf(res)).rejects.toThrow();
  });

  it('refuses a redirect instead of following it', async () => {
    await expect(nodeSourceGet(tls)(new URL(`${base}/moved`), {}, never, options)).rejects.toBeInstanceOf(SourceRedirectError);
  });

  it('is cancelled by its signal while the body streams', async () => {
    const controller = new AbortController();
    const res = await nodeSourceGet(tls)(new URL(`${base}/plain`), { 'accept-encoding': 'identity' }, controller.signal, options);
    controller.abort(new Error('enough'));
    await expect(bytesOf(res)).rejects.toThrow();
  });
});
