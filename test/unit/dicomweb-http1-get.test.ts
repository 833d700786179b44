import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { http1Get, Http1Error, Http1IdleError } from '../../appliance/src/dicomweb/http1-get.js';
import { http1TransientGet } from '../../appliance/src/dicomweb/http1-transient-get.js';
import { MultipartRelay } from '../../appliance/src/dicomweb/multipart-relay.js';
import { readMultipart } from '../../appliance/src/dicomweb/multipart-reader.js';
import { newBoundary } from '../../appliance/src/dicomweb/multipart-writer.js';
import { createDicomwebUpstream } from '../../appliance/src/dicomweb/upstream/dicomweb.js';
import { smallPart10 } from './part10-files.js';

/**
 * The HTTP/1.1 GETs the DICOMweb upstream uses for a plain-HTTP PACS (node:http, and the own reader the relay uses),
 * against scripted loopback servers.
 */

let server: Server | undefined;
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server that reads the request head, hands it to `answer`, and lets `answer` write raw bytes. */
async function scripted(answer: (socket: Socket, requestHead: string) => void): Promise<URL> {
  server = createServer((socket) => {
    sockets.add(socket);
    let head = '';
    socket.on('data', (d) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) answer(socket, head);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/dicom-web/studies/1.2`);
}

const options = (signal = new AbortController().signal) => ({ headers: { accept: 'application/dicom+json' }, signal, idleTimeoutMs: 5_000 });

async function text(body: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString('latin1');
}

/** Both readers of a plain-HTTP PACS answer the same protocol tests. */
const readers = [
  ['node:http', http1Get],
  ['own reader, one reused read buffer', http1TransientGet],
] as const;

describe.each(readers)('HTTP/1.1 GET (%s)', (_name, get) => {
  it('sends the path, Host and the given headers, and reads a Content-Length body', async () => {
    let seen = '';
    const url = await scripted((s, head) => {
      seen = head;
      s.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhelloEXTRA');
    });
    const answer = await get(url, options());
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/plain');
    expect(await text(answer.body)).toBe('hello');
    expect(seen).toMatch(/^GET \/dicom-web\/studies\/1\.2 HTTP\/1\.1\r\n/);
    expect(seen).toContain(`Host: ${url.host}\r\n`);
    expect(seen).toContain('accept: application/dicom+json\r\n');
  });

  it('undoes chunked transfer coding split anywhere, with extensions and trailers', async () => {
    const wire = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n,\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n';
    const url = await scripted((s) => {
      // One byte at a time: every state of the parser meets a split.
      let i = 0;
      const next = () => (i < wire.length ? s.write(wire[i++]!, next) : undefined);
      next();
    });
    const answer = await get(url, options());
    expect(await text(answer.body)).toBe('hello, world');
  });

  it('reads a body that ends with the connection when it has no length', async () => {
    const url = await scripted((s) => s.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n' + 'x'.repeat(300_000)));
    expect((await text((await get(url, options())).body)).length).toBe(300_000);
  });

  it('skips interim 1xx answers', async () => {
    const url = await scripted((s) => s.end('HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno'));
    const answer = await get(url, options());
    expect(answer.status).toBe(404);
    expect(await text(answer.body)).toBe('no');
  });

  it('fails a body cut before its Content-Length or its last chunk', async () => {
    const cut = await scripted((s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    await expect(text((await get(cut, options())).body)).rejects.toThrow(Http1Error);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    const chunkCut = await scripted((s) => s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel'));
    await expect(text((await get(chunkCut, options())).body)).rejects.toThrow(Http1Error);
  });

  it('refuses what it cannot frame or read: bad lengths, not HTTP, a head longer than the limit', async () => {
    for (const wire of ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd', 'SSH-2.0-OpenSSH\r\n\r\n', `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(70_000)}`]) {
      const url = await scripted((s) => s.end(wire));
      await expect(get(url, options())).rejects.toThrow(Http1Error);
      await new Promise<void>((resolve) => server!.close(() => resolve()));
    }
  });

  it('fails a body with Http1IdleError once the server is silent for the idle limit', async () => {
    const url = await scripted((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc'));
    const answer = await get(url, { ...options(), idleTimeoutMs: 50 });
    await expect(text(answer.body)).rejects.toBeInstanceOf(Http1IdleError);
  });

  it('stops reading while the caller does not read, and goes on when it does', async () => {
    // More than loopback socket buffers hold (tcp_rmem + tcp_wmem maxima, a few MiB each).
    const total = 48 * 1024 * 1024;
    let written = 0;
    const url = await scripted((s) => {
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${total}\r\n\r\n`);
      const block = Buffer.alloc(64 * 1024, 1);
      const more = () => {
        while (written < total) {
          written += block.length;
          if (!s.write(block)) return s.once('drain', more);
        }
        s.end();
      };
      more();
    });
    const answer = await get(url, options());
    await new Promise((r) => setTimeout(r, 300));
    expect(written).toBeLessThan(total);
    let read = 0;
    for await (const c of answer.body) read += c.byteLength;
    expect(read).toBe(total);
  });

  it('closes the connection when the caller aborts or drops the body', async () => {
    let closed = 0;
    const url = await scripted((s) => {
      s.on('close', () => closed++);
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nabc');
    });
    const caller = new AbortController();
    const answer = await get(url, options(caller.signal));
    const reading = text(answer.body);
    caller.abort(new Error('client went away'));
    await expect(reading).rejects.toThrow('client went away');
    const dropped = await get(url, options());
    const iterator = dropped.body[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.return?.();
    const neverRead = await get(url, options());
    await neverRead.body.return?.();
    for (let i = 0; i < 50 && closed < 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(3);
  });
});

describe('the own reader, for the relay', () => {
  it('tells a failure that came before anyone listened at the first resume, and never throws it', async () => {
    const url = await scripted((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nabc'));
    const caller = new AbortController();
    const answer = await http1TransientGet(url, options(caller.signal));
    caller.abort(new Error('client went away'));
    await new Promise((r) => setTimeout(r, 50));
    const failure = await new Promise<Error>((resolve) => {
      answer.stream.once('error', resolve);
      answer.stream.resume();
    });
    expect(failure).toBeInstanceOf(Http1Error);
    expect(failure.message).toContain('client went away');
  });

  it("hands on the body's chunks during their data event, then 'end' and 'close'", async () => {
    const body = Buffer.alloc(3 * 1024 * 1024, 7);
    const url = await scripted((s) => s.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body])));
    const answer = await http1TransientGet(url, options());
    const events: string[] = [];
    let bytes = 0;
    answer.stream.on('data', (chunk: Buffer) => {
      if (chunk.some((b) => b !== 7)) events.push('wrong bytes');
      bytes += chunk.length;
    });
    await new Promise<void>((resolve) => {
      answer.stream.once('end', () => events.push('end'));
      answer.stream.once('close', () => (events.push('close'), resolve()));
      answer.stream.resume();
    });
    expect(bytes).toBe(body.length);
    expect(events).toEqual(['end', 'close']);
    expect(answer.stream.complete).toBe(true);
  });
});

describe('DICOMweb upstream over the bare connection', () => {
  it('relays a chunked answer whose parts have no Content-Length, the chunks split anywhere', async () => {
    const files = Array.from({ length: 4 }, (_, i) => smallPart10(`1.2.${i}`, '1.2.840.10008.1.2.1', Buffer.alloc(20_000 + i, i)));
    const multipart = Buffer.concat([...files.flatMap((f) => [Buffer.from('--pacs\r\nContent-Type: application/dicom\r\n\r\n'), f, Buffer.from('\r\n')]), Buffer.from('--pacs--\r\n')]);
    const url = await scripted((s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Type: multipart/related; type="application/dicom"; boundary=pacs\r\nTransfer-Encoding: chunked\r\n\r\n');
      for (let at = 0, size = 1; at < multipart.length; at += size, size = (size * 7 + 3) % 9000 || 1) {
        const piece = multipart.subarray(at, at + size);
        s.write(`${piece.length.toString(16)}\r\n`);
        s.write(piece);
        s.write('\r\n');
      }
      s.end('0\r\n\r\n');
    });
    const upstream = createDicomwebUpstream({ baseUrl: url.origin + '/dicom-web' });
    const boundary = newBoundary();
    const source = await upstream.relay!({ level: 'STUDY', studyInstanceUid: '1.2' }, new AbortController().signal);
    const relay = new MultipartRelay({ sources: (async function* () { yield source; })(), boundary, served: { instances: 0, skipped: 0 } });
    const parts: Buffer[] = [];
    for await (const part of readMultipart(relay, boundary)) {
      const chunks: Buffer[] = [];
      for await (const c of part.body) chunks.push(Buffer.from(c));
      parts.push(Buffer.concat(chunks));
    }
    expect(parts.map((p, i) => p.equals(files[i]!))).toEqual([true, true, true, true]);
  });

  it('maps a silent PACS to 504 and a broken one to 502', async () => {
    const silent = await scripted((s) => s.write('HTTP/1.1 200 OK\r\nContent-Type: multipart/related; type="application/dicom"; boundary=b\r\n\r\n--b\r\n'));
    const upstream = createDicomwebUpstream({ baseUrl: silent.origin + '/dicom-web', idleTimeoutMs: 50 });
    const instances = async (u: ReturnType<typeof createDicomwebUpstream>) => {
      for await (const i of u.instances({ level: 'STUDY', studyInstanceUid: '1.2' }, new AbortController().signal)) await i.dispose();
    };
    await expect(instances(upstream)).rejects.toMatchObject({ status: 504 });
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    const broken = await scripted((s) => s.end('HTTP/1.1 200 OK\r\nContent-Type: multipart/related; type="application/dicom"; boundary=b\r\nContent-Length: 999\r\n\r\n--b\r\n'));
    await expect(instances(createDicomwebUpstream({ baseUrl: broken.origin + '/dicom-web' }))).rejects.toMatchObject({ status: 502 });
  });

  it('leaves a redirect to fetch, which follows it', async () => {
    const query = { matches: [], includeAll: false, includeFields: [], offset: 0, fuzzyMatching: false };
    let asked = 0;
    const json = '[{"0020000D":{"vr":"UI","Value":["1.2"]}}]';
    const url = await scripted((s, head) => {
      asked++;
      if (head.startsWith('GET /old/')) s.end(`HTTP/1.1 301 Moved\r\nLocation: /dicom-web/studies\r\nContent-Length: 0\r\n\r\n`);
      else s.end(`HTTP/1.1 200 OK\r\nContent-Type: application/dicom+json\r\nContent-Length: ${json.length}\r\n\r\n${json}`);
    });
    const upstream = createDicomwebUpstream({ baseUrl: url.origin + '/old' });
    const found = [];
    for await (const study of upstream.search({ level: 'STUDY', query }, new AbortController().signal)) found.push(study);
    expect(found).toEqual([{ '0020000D': { vr: 'UI', Value: ['1.2'] } }]);
    expect(asked).toBe(3); // bare GET, fetch's GET, fetch following the redirect
  });

  it('answers 502 when the PACS is not listening', async () => {
    const url = await scripted((s) => s.destroy());
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const upstream = createDicomwebUpstream({ baseUrl: url.origin + '/dicom-web' });
    const query = { matches: [], includeAll: false, includeFields: [], offset: 0, fuzzyMatching: false };
    const err = await (async () => {
      for await (const _ of upstream.search({ level: 'STUDY', query }, new AbortController().signal)) void _;
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502 });
  });
});
