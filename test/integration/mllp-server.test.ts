/** The MLLP listener and client on loopback: framing, concurrency, bad input, NACKs, foreign HL7 peers. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { Client, Message } from 'node-hl7-client';
import { Server as Hl7Server } from 'node-hl7-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildAck, readAck } from '../../appliance/src/hl7/ack.js';
import { sendMllp } from '../../appliance/src/hl7/mllp-client.js';
import { frameMllp, MllpDecoder } from '../../appliance/src/hl7/mllp-framing.js';
import { startMllpServer, type MllpHandler, type MllpServer } from '../../appliance/src/hl7/mllp-server.js';
import { parseHl7Message } from '../../appliance/src/hl7/parse.js';
import { reportFromHl7 } from '../../appliance/src/report/parse.js';
import { buildCda, helene, STUDY_UID } from '../fixtures/hl7/generate.js';
import { freePort, waitFor } from '../peers/ports.js';

const local = (name: string) => readFileSync(new URL(`../fixtures/hl7/${name}`, import.meta.url));
const reference = (path: string) => readFileSync(new URL(`../fixtures/reference/${path}`, import.meta.url));
const toCr = (b: Buffer) => Buffer.from(b.toString('latin1').replace(/\r\n|\n/g, '\r'), 'latin1');
const silent = { debug() {}, info() {}, warn() {}, error() {}, child() { return silent; } };

/** What the source pipeline does, minus the database: read, check, acknowledge. */
const received: string[] = [];
const reportHandler: MllpHandler = async (raw) => {
  const msg = parseHl7Message(raw);
  reportFromHl7(msg);
  received.push(msg.controlId);
  return buildAck(msg, 'AA');
};

/** A persistent MLLP connection, as a RIS holds one: send, then wait for the answer frame. */
class Peer {
  private readonly decoder = new MllpDecoder();
  private readonly frames: Buffer[] = [];
  private waiters: (() => void)[] = [];
  readonly raw: Buffer[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.raw.push(chunk);
      for (const e of this.decoder.push(chunk)) if (e.kind === 'message') this.frames.push(e.payload);
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('error', () => {});
  }

  static open(port: number, allowHalfOpen = false): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, noDelay: true, allowHalfOpen }, () => resolve(new Peer(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: Buffer | string): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  async next(timeoutMs = 5_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.closed) throw new Error('connection closed before an answer');
      if (Date.now() > deadline) throw new Error('no answer');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return this.frames.shift()!;
  }

  async send(message: Buffer): Promise<Buffer> {
    this.write(frameMllp(message));
    return this.next();
  }

  close(): void {
    this.socket.destroy();
  }
}

const msgWithId = (id: string) => Buffer.from(local('oru-r01-v2.5-publish.hl7').toString('utf8').replace('|ORU-20240115-0001|', `|${id}|`));

describe('MLLP server with the report handler', () => {
  let server: MllpServer;
  beforeAll(async () => {
    // Every peer of these tests is on 127.0.0.1: lift the per-address cap (tested on its own below).
    server = await startMllpServer({ host: '127.0.0.1', port: await freePort(), handler: reportHandler, maxConnectionsPerAddress: 256, logger: silent });
  });
  afterAll(() => server.close());

  it.each([
    ['oru-r01-v2.5-publish.hl7', 'AA', 'ORU-20240115-0001'],
    ['oru-r01-v2.3.1-latin1.hl7', 'AA', '7741'],
    ['oru-r01-no-pid.hl7', 'AA', 'ORU-20240115-0009'],
    ['mdm-t02-publish.hl7', 'AA', 'MDM-20240115-0001'],
    ['mdm-t10-replace.hl7', 'AA', 'MDM-20240115-0002'],
    ['mdm-t04-withdraw.hl7', 'AA', 'MDM-20240116-0003'],
    ['omi-o23-cancel.hl7', 'AA', 'OMI-20240116-0004'],
  ])('acknowledges %s with %s', async (name, code, controlId) => {
    const ack = readAck(await sendMllp('127.0.0.1', server.port, toCr(local(name)), { timeoutMs: 5_000 }));
    expect(ack.code).toBe(code);
    expect(ack.controlId).toBe(controlId);
    expect(received).toContain(controlId);
  });

  it.each([
    ['spec/hl7v2/ans-MDM_T02_CR_Radio_INIT_N1.er7', 'AE', '015', 'OBX^1^5'],
    ['spec/hl7v2/drim-m-data-CR_C-MDM_T02.header-only.hl7', 'AE', '{{idMessage}}', 'OBX^1^5^1^5'],
    ['spec/hl7v2/drim-m-data-ORU_R01_K.head-only.hl7', 'AE', 'id', 'OBX^1^5^1^5'],
    ['spec/hl7v2/ans-ACK_T10_MDM_RPLC.er7', 'AR', '016', 'MSH^1^9'],
  ])('NACKs %s with %s and the location at fault', async (path, code, controlId, location) => {
    const ack = readAck(await sendMllp('127.0.0.1', server.port, toCr(reference(path))));
    expect(ack.code).toBe(code);
    expect(ack.controlId).toBe(controlId);
    expect(ack.errors[0]!.location).toBe(location);
  });

  it('acknowledges the informative OMI^O23 exam change (ORC-1 NW, ORC-5 SC): the manifest will be checked again', async () => {
    const ack = readAck(await sendMllp('127.0.0.1', server.port, toCr(reference('ansforge/DRIM-M_DATA/informatif/hl7v2/OMI_O23-ImagingOrder.hl7'))));
    expect(ack).toMatchObject({ code: 'AA', controlId: '001' });
  });

  it('acknowledges the homologation OMI cancellation of exam W', async () => {
    const ack = readAck(await sendMllp('127.0.0.1', server.port, toCr(reference('ansforge/DRIM-M_DATA/referencement-drimbox/hl7v2/examen-W/CR_W_Suppression-OMI.hl7'))));
    expect(ack).toMatchObject({ code: 'AA', controlId: '001' });
  });

  it('answers with exactly one frame, byte-exact MLLP', async () => {
    const peer = await Peer.open(server.port);
    const ack = await peer.send(msgWithId('EXACT-1'));
    await new Promise((r) => setTimeout(r, 100));
    const wire = Buffer.concat(peer.raw);
    expect(wire[0]).toBe(0x0b);
    expect(wire.subarray(-2)).toEqual(Buffer.of(0x1c, 0x0d));
    expect(wire.subarray(1, -2)).toEqual(ack);
    expect(wire.indexOf(0x0b, 1)).toBe(-1);
    expect(ack.toString('utf8')).toMatch(/^MSH\|\^~\\&\|DRIMBOX\|CIM-SAINT-ELOI\|RIS-GAITE\|CIM-SAINT-ELOI\|/);
    expect(ack.toString('utf8').endsWith('\rMSA|AA|EXACT-1\r')).toBe(true);
    peer.close();
  });

  it('refuses Latin-1 bytes declared UTF-8 with an AR naming MSH-18, echoing the control id', async () => {
    const bytes = Buffer.from(toCr(local('oru-r01-v2.3.1-latin1.hl7')).toString('latin1').replace('|8859/1', '|UNICODE UTF-8'), 'latin1');
    const ack = readAck(await sendMllp('127.0.0.1', server.port, bytes));
    expect(ack).toMatchObject({ code: 'AR', controlId: '7741' });
    expect(ack.errors[0]).toMatchObject({ location: 'MSH^1^18' });
    expect(ack.text).toMatch(/not valid UTF-8/);
  });

  it('takes UTF-8 bytes declared 8859/1 (a mislabel, not a reason to drop a validated report)', async () => {
    const bytes = Buffer.from(msgWithId('ENC-2').toString('utf8').replace('|UNICODE UTF-8|', '|8859/1|'), 'utf8');
    const ack = readAck(await sendMllp('127.0.0.1', server.port, bytes));
    expect(ack).toMatchObject({ code: 'AA', controlId: 'ENC-2' });
  });

  it('answers bytes that are not HL7 with an AR and a minimal header', async () => {
    const ack = await sendMllp('127.0.0.1', server.port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    const read = readAck(ack);
    expect(read.code).toBe('AR');
    expect(read.controlId).toBe('');
    expect(read.text).toMatch(/does not start with an MSH segment \(starts with 'GET/);
  });

  it('discards garbage between frames and answers every frame', async () => {
    const before = server.stats().garbageBytes;
    const peer = await Peer.open(server.port);
    peer.write(Buffer.concat([Buffer.from('noise\r\n'), frameMllp(msgWithId('G-1')), Buffer.from('\x00\x00more noise'), frameMllp(msgWithId('G-2')), Buffer.from('tail')]));
    expect(readAck(await peer.next()).controlId).toBe('G-1');
    expect(readAck(await peer.next()).controlId).toBe('G-2');
    await waitFor(async () => server.stats().garbageBytes - before === 7 + 12 + 4, 2_000, 'garbage counted');
    peer.close();
  });

  it('drops a truncated frame silently on the wire, answers the next, and logs it', async () => {
    const before = server.stats().truncatedFrames;
    const peer = await Peer.open(server.port);
    const whole = msgWithId('T-2');
    peer.write(Buffer.concat([Buffer.of(0x0b), msgWithId('T-1').subarray(0, 300), frameMllp(whole)]));
    expect(readAck(await peer.next()).controlId).toBe('T-2');
    expect(server.stats().truncatedFrames).toBe(before + 1);
    await expect(peer.next(300)).rejects.toThrow(/no answer/);
    peer.close();
  });

  it('survives peers that vanish mid-frame, with a reset or a close', async () => {
    const before = server.stats();
    const a = await Peer.open(server.port);
    a.write(Buffer.concat([Buffer.of(0x0b), msgWithId('V-1').subarray(0, 500)]));
    await new Promise((r) => setTimeout(r, 50));
    a.socket.resetAndDestroy();
    const b = await Peer.open(server.port);
    b.write(Buffer.concat([Buffer.of(0x0b), msgWithId('V-2').subarray(0, 500)]));
    await new Promise((r) => setTimeout(r, 50));
    b.socket.end();
    await waitFor(async () => server.stats().truncatedFrames >= before.truncatedFrames + 1, 2_000, 'truncation seen');
    const ack = readAck(await sendMllp('127.0.0.1', server.port, msgWithId('V-3')));
    expect(ack).toMatchObject({ code: 'AA', controlId: 'V-3' });
  });

  it('answers pipelined frames in order on one connection', async () => {
    const peer = await Peer.open(server.port);
    peer.write(Buffer.concat(['P-1', 'P-2', 'P-3', 'P-4'].map((id) => frameMllp(msgWithId(id)))));
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(readAck(await peer.next()).controlId);
    expect(ids).toEqual(['P-1', 'P-2', 'P-3', 'P-4']);
    peer.close();
  });

  it('still answers a peer that half-closes right after sending', async () => {
    const peer = await Peer.open(server.port, true);
    peer.socket.end(frameMllp(msgWithId('H-1')));
    expect(readAck(await peer.next())).toMatchObject({ code: 'AA', controlId: 'H-1' });
  });

  it('takes a 16 MB report (CDA with a 9 MB PDF) under the default 32 MiB limit', async () => {
    const cda = buildCda({ documentExtension: 'BIG', version: 1, studyUid: STUDY_UID, accession: 'A-BIG', placerOrder: 'P-BIG', patient: helene }).toString('utf8');
    const withPdf = cda.replace(/(<text mediaType="application\/pdf" representation="B64">)[^<]*/, `$1${randomBytes(9_000_000).toString('base64')}`);
    const message = Buffer.from(msgWithId('BIG-OK').toString('utf8').replace(/\^TEXT\^XML\^Base64\^[^|]*/, `^TEXT^XML^Base64^${Buffer.from(withPdf).toString('base64')}`));
    expect(message.length).toBeGreaterThan(16_000_000);
    const ack = readAck(await sendMllp('127.0.0.1', server.port, message, { timeoutMs: 20_000 }));
    expect(ack).toMatchObject({ code: 'AA', controlId: 'BIG-OK' });
  });

  it('serves 50 concurrent connections, 20 messages each, every ACK matching its message', async () => {
    const connections = 50;
    const perConnection = 20;
    const start = process.hrtime.bigint();
    const results = await Promise.all(
      Array.from({ length: connections }, async (_, c) => {
        const peer = await Peer.open(server.port);
        const acks: string[] = [];
        for (let m = 0; m < perConnection; m++) {
          const ack = readAck(await peer.send(msgWithId(`C${c}-M${m}`)));
          expect(ack.code).toBe('AA');
          acks.push(ack.controlId);
        }
        peer.close();
        return acks;
      }),
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    results.forEach((acks, c) => expect(acks).toEqual(Array.from({ length: perConnection }, (_, m) => `C${c}-M${m}`)));
    const total = connections * perConnection;
    expect(new Set(results.flat()).size).toBe(total);
    // A figure for the record, not an assertion: 11 KB ORU with a base64 CDA, parsed and checked per message.
    console.log(`MLLP: ${total} messages over ${connections} connections in ${seconds.toFixed(2)} s (${Math.round(total / seconds)} msg/s with ACK)`);
  });
});

describe('MLLP server refusals built by the server itself', () => {
  let server: MllpServer;
  let handler: MllpHandler = reportHandler;
  beforeAll(async () => {
    server = await startMllpServer({ host: '127.0.0.1', port: await freePort(), handler: (raw, meta) => handler(raw, meta), maxFrameBytes: 16 * 1024, handlerTimeoutMs: 300, logger: silent });
  });
  afterEach(() => {
    handler = reportHandler;
  });
  afterAll(() => server.close());

  it('NACKs a frame over the limit (AE, with the MSH echoed) without holding it, and goes on', async () => {
    const big = Buffer.concat([msgWithId('BIG-1'), Buffer.from(`NTE|1||${'x'.repeat(200_000)}\r`)]);
    const peer = await Peer.open(server.port);
    const nack = readAck(await peer.send(big));
    expect(nack.code).toBe('AE');
    expect(nack.controlId).toBe('BIG-1');
    expect(nack.text).toMatch(/exceeds the box's limit of 16384 bytes/);
    expect(server.stats().oversizeFrames).toBe(1);
    const small = Buffer.from('MSH|^~\\&|RIS|S|DB|S|20240101||ADT^A01|SMALL-1|P|2.5\rPID|||X\r');
    handler = async (raw) => buildAck(parseHl7Message(raw), 'AA');
    expect(readAck(await peer.send(small))).toMatchObject({ code: 'AA', controlId: 'SMALL-1' });
    peer.close();
  });

  it('turns a handler failure into AR 207, never silence', async () => {
    handler = async () => {
      throw new Error('database is locked');
    };
    const ack = readAck(await sendMllp('127.0.0.1', server.port, Buffer.from('MSH|^~\\&|RIS|S|DB|S|20240101||ADT^A01|F-1|P|2.5\r')));
    expect(ack).toMatchObject({ code: 'AR', controlId: 'F-1', errors: [{ code: '207' }] });
    expect(ack.text).toMatch(/resend later/);
    expect(ack.text).not.toMatch(/database is locked/);
  });

  it('turns a handler that never answers into AR after the timeout', async () => {
    handler = () => new Promise(() => {});
    const started = Date.now();
    const ack = readAck(await sendMllp('127.0.0.1', server.port, Buffer.from('MSH|^~\\&|RIS|S|DB|S|20240101||ADT^A01|SLOW-1|P|2.5\r')));
    expect(ack).toMatchObject({ code: 'AR', controlId: 'SLOW-1' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
  });

  it('turns an empty answer from the handler into AR', async () => {
    handler = async () => Buffer.alloc(0);
    expect(readAck(await sendMllp('127.0.0.1', server.port, msgWithId('E-1')))).toMatchObject({ code: 'AR', controlId: 'E-1' });
  });
});

describe('MLLP server connection limit', () => {
  it('refuses connections beyond maxConnections and keeps serving the others', async () => {
    const server = await startMllpServer({ host: '127.0.0.1', port: await freePort(), handler: reportHandler, maxConnections: 2, logger: silent });
    try {
      const a = await Peer.open(server.port);
      const b = await Peer.open(server.port);
      const c = await Peer.open(server.port);
      await waitFor(async () => c.closed, 2_000, 'third connection dropped');
      expect(readAck(await a.send(msgWithId('L-1'))).code).toBe('AA');
      expect(readAck(await b.send(msgWithId('L-2'))).code).toBe('AA');
      a.close();
      await waitFor(async () => server.stats().connectionsOpen === 1, 2_000, 'connection closed');
      expect(readAck(await sendMllp('127.0.0.1', server.port, msgWithId('L-3'))).code).toBe('AA');
      b.close();
    } finally {
      await server.close();
    }
  });
});

describe('MLLP server against a host that hoards connections', () => {
  /** An idle connection from a given loopback address (Linux routes all of 127/8 to lo). */
  const idleFrom = (port: number, localAddress: string) =>
    new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, localAddress }, () => resolve(socket));
      socket.once('error', reject);
    });
  const closed = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

  it('caps the connections of one address: idle connections from a stranger never lock the RIS out, and health can tell', async () => {
    const server = await startMllpServer({ host: '127.0.0.1', port: await freePort(), handler: reportHandler, maxConnections: 6, maxConnectionsPerAddress: 3, logger: silent });
    try {
      const hoarded = await Promise.all([1, 2, 3, 4, 5].map(() => idleFrom(server.port, '127.0.0.2')));
      await Promise.all(hoarded.slice(3).map(closed)); // the 4th and 5th are closed at once
      expect(hoarded.slice(0, 3).every((s) => !s.destroyed)).toBe(true);
      expect(server.stats()).toMatchObject({ connectionsOpen: 3, connectionsRefused: 2 });
      // The RIS, from its own address, still gets its ACK.
      expect(readAck(await sendMllp('127.0.0.1', server.port, msgWithId('HOARD-1'))).code).toBe('AA');
      hoarded.forEach((s) => s.destroy());
    } finally {
      await server.close();
    }
  });

  it('closes an idle connection after the idle timeout, and a half-sent frame after the frame timeout', async () => {
    const server = await startMllpServer({ host: '127.0.0.1', port: await freePort(), handler: reportHandler, idleTimeoutMs: 300, frameTimeoutMs: 300, logger: silent });
    try {
      const idle = await idleFrom(server.port, '127.0.0.1');
      await closed(idle);
      const partial = await Peer.open(server.port);
      partial.write(Buffer.concat([Buffer.of(0x0b), msgWithId('HALF-1').subarray(0, 40)]));
      await waitFor(async () => server.stats().truncatedFrames === 1, 5_000, 'the half-sent frame to be dropped');
      partial.close();
    } finally {
      await server.close();
    }
  });

  it('takes connections only from allowed addresses when an allow-list is set', async () => {
    const { AddressList } = await import('../../appliance/src/auth/address-list.js');
    const server = await startMllpServer({ host: '127.0.0.1', port: await freePort(), handler: reportHandler, allowedAddresses: new AddressList(['127.0.0.1'], 'ris.allowedAddresses'), logger: silent });
    try {
      const stranger = await idleFrom(server.port, '127.0.0.3');
      await closed(stranger);
      expect(server.stats().connectionsRefused).toBe(1);
      expect(readAck(await sendMllp('127.0.0.1', server.port, msgWithId('ALLOWED-1'))).code).toBe('AA');
    } finally {
      await server.close();
    }
  });
});

describe('sendMllp', () => {
  it('names the peer when the connection is refused', async () => {
    const port = await freePort();
    await expect(sendMllp('127.0.0.1', port, msgWithId('X'))).rejects.toThrow(`MLLP exchange with 127.0.0.1:${port} failed: connect ECONNREFUSED`);
  });

  it('gives up after the timeout when the peer never answers', async () => {
    const mute = createServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    const port = (mute.address() as { port: number }).port;
    try {
      await expect(sendMllp('127.0.0.1', port, msgWithId('X'), { timeoutMs: 200 })).rejects.toThrow(`no acknowledgment from 127.0.0.1:${port} within 200 ms`);
    } finally {
      mute.close();
    }
  });

  it('reports a peer that closes without answering', async () => {
    const rude = createServer((s) => s.on('data', () => s.end()));
    await new Promise<void>((r) => rude.listen(0, '127.0.0.1', r));
    const port = (rude.address() as { port: number }).port;
    try {
      await expect(sendMllp('127.0.0.1', port, msgWithId('X'))).rejects.toThrow('closed the connection without acknowledging');
    } finally {
      rude.close();
    }
  });
});

describe('interoperability with foreign HL7 peers (node-hl7-client / node-hl7-server from npm)', () => {
  it('a foreign MLLP client gets our ACK', async () => {
    const server = await startMllpServer({ host: '127.0.0.1', port: await freePort(), handler: reportHandler, logger: silent });
    const client = new Client({ host: '127.0.0.1' });
    const answers: string[] = [];
    const connection = client.createConnection({ port: server.port, waitAck: true, maxConnectionAttempts: 5 }, async (res) => {
      answers.push(`${res.getMessage().get('MSA.1').toString()} ${res.getMessage().get('MSA.2').toString()}`);
    });
    try {
      await connection.sendMessage(new Message({ text: local('omi-o23-cancel.hl7').toString('utf8') }));
      await waitFor(async () => answers.length === 1, 5_000, 'ACK seen by node-hl7-client');
      expect(answers).toEqual(['AA OMI-20240116-0004']);
    } finally {
      await connection.close();
      await server.close();
    }
  });

  it('our client gets a foreign MLLP server ACK', async () => {
    const port = await freePort();
    const seen: string[] = [];
    const foreign = new Hl7Server({ bindAddress: '127.0.0.1' });
    const inbound = foreign.createInbound({ port }, async (req, res) => {
      seen.push(req.getMessage().get('MSH.10').toString());
      await res.sendResponse('AA');
    });
    try {
      await waitFor(async () => sendMllp('127.0.0.1', port, Buffer.from('MSH|^~\\&|A|B|C|D|20240101||ADT^A01^ADT_A01|PING|P|2.5\r')).then(() => true), 5_000, 'node-hl7-server listening');
      const ack = readAck(await sendMllp('127.0.0.1', port, toCr(local('mdm-t02-publish.hl7'))));
      expect(ack).toMatchObject({ code: 'AA', controlId: 'MDM-20240115-0001' });
      expect(seen).toContain('MDM-20240115-0001');
    } finally {
      await inbound.close();
    }
  });
});
