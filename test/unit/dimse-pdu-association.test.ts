import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStoreScp, type StoreScp } from '../../appliance/src/dimse/scp.js';
import { createPacsBridge } from '../../appliance/src/dimse/bridge.js';
import { decodeAssociateAc, encodeAssociateRq, type AssociateRq } from '../../appliance/src/dimse/pdu/associate.js';
import { DicomConnection } from '../../appliance/src/dimse/connection.js';
import { associateAccept } from '../../appliance/src/dimse/negotiation.js';
import { Receiver } from '../../appliance/src/dimse/receive.js';
import { DimseMessage, RawDataset } from '../../appliance/src/dimse/message.js';
import { encodeIdentifier } from '../../appliance/src/dimse/identifier.js';
import { writeMessage } from '../../appliance/src/dimse/pdata.js';
import type { NegotiatedContexts } from '../../appliance/src/dimse/presentation-context.js';

// The association state machine of both roles, over loopback: the box's SCP fed raw PDUs, the box's SCU against it.

const CT = '1.2.840.10008.5.1.4.1.1.2';
const IMPLICIT = '1.2.840.10008.1.2';

function request(over: Partial<AssociateRq> = {}): AssociateRq {
  return {
    protocolVersion: 1,
    calledAeTitle: 'BOXSCP',
    callingAeTitle: 'PACS',
    applicationContext: '1.2.840.10008.3.1.1.1',
    contexts: [
      { id: 1, abstractSyntaxUid: '1.2.840.10008.1.1', transferSyntaxUids: [IMPLICIT] },
      { id: 3, abstractSyntaxUid: CT, transferSyntaxUids: ['1.2.840.10008.1.2.1', IMPLICIT] },
      { id: 5, abstractSyntaxUid: '1.2.840.10008.5.1.4.1.2.2.1', transferSyntaxUids: [IMPLICIT] },
    ],
    user: { maxPduLength: 16384, implementationClassUid: '1.2.3', roles: [{ sopClassUid: CT, scuRole: true, scpRole: true }], asyncOperations: { invoked: 4, performed: 4 } },
    ...over,
  };
}

/** Writes PDUs to a port, one after the other as answers come; resolves with every PDU-sized answer once the peer closes. */
function exchange(port: number, ...pdus: Buffer[]): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const answers: Buffer[] = [];
    let pending = Buffer.alloc(0);
    const next = () => {
      const pdu = pdus.shift();
      if (pdu) socket.write(pdu);
    };
    // The requestor closes once its release is answered (PS3.8 AR-3).
    const closeAfterRelease = (pdu: Buffer) => pdu[0] === 0x06 && socket.end();
    socket.on('connect', next);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 6 && pending.length >= 6 + pending.readUInt32BE(2)) {
        const length = 6 + pending.readUInt32BE(2);
        answers.push(pending.subarray(0, length));
        closeAfterRelease(pending.subarray(0, length));
        pending = pending.subarray(length);
        next();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answers));
  });
}

const abortPdu = (source: number, reason: number) => Buffer.from([0x07, 0, 0, 0, 0, 4, 0, 0, source, reason]);

describe("the box's SCP as association acceptor (PS3.8 §9.2)", () => {
  let scp: StoreScp;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dimse-pdu-'));
    scp = await startStoreScp({ aeTitle: 'BOXSCP', host: '127.0.0.1', port: 0, allowedCallingAeTitles: ['PACS', 'DRIMBOX'], storageDir: dir, maxPduLength: 65536 });
  });
  afterAll(async () => {
    await scp.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts Verification and storage, rejects Q/R, answers the role selection without granting the SCP role, ignores the async window, releases', async () => {
    const [ac, rp, ...rest] = await exchange(scp.port, encodeAssociateRq(request()), Buffer.from([0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0]));
    const decoded = decodeAssociateAc(ac!);
    expect(decoded.contexts).toEqual([
      { id: 1, result: 0, transferSyntaxUid: IMPLICIT },
      { id: 3, result: 0, transferSyntaxUid: '1.2.840.10008.1.2.1' },
      { id: 5, result: 3 },
    ]);
    expect(decoded.user.roles).toEqual([{ sopClassUid: CT, scuRole: true, scpRole: false }]);
    expect(decoded.user.asyncOperations).toBeUndefined();
    expect(decoded.user.maxPduLength).toBe(65536);
    expect([...rp!]).toEqual([0x06, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
    expect(rest).toEqual([]);
  });

  it('rejects with the right result, source and reason (PS3.8 §9.3.4)', async () => {
    const rj = (result: number, source: number, reason: number) => [Buffer.from([0x03, 0, 0, 0, 0, 4, 0, result, source, reason])];
    expect(await exchange(scp.port, encodeAssociateRq(request({ calledAeTitle: 'OTHER' })))).toEqual(rj(1, 1, 7));
    expect(await exchange(scp.port, encodeAssociateRq(request({ callingAeTitle: 'STRANGER' })))).toEqual(rj(1, 1, 3));
    expect(await exchange(scp.port, encodeAssociateRq(request({ applicationContext: '1.2.3' })))).toEqual(rj(1, 1, 2));
    expect(await exchange(scp.port, encodeAssociateRq(request({ protocolVersion: 2 })))).toEqual(rj(1, 2, 2));
    expect(scp.lastRefusal()).toMatchObject({ callingAeTitle: 'STRANGER', reason: 'calling-ae-not-recognised' });
  });

  it('answers malformed or unexpected PDUs with A-ABORT (service provider) and closes, then serves the next peer', async () => {
    expect(await exchange(scp.port, Buffer.from([0x09, 0, 0, 0, 0, 0]))).toEqual([abortPdu(2, 1)]);
    expect(await exchange(scp.port, Buffer.from([0x04, 0, 0, 0, 0, 6, 0, 0, 0, 2, 1, 3]))).toEqual([abortPdu(2, 2)]);
    expect(await exchange(scp.port, Buffer.from([0x01, 0, 0x7f, 0xff, 0xff, 0xff]))).toEqual([abortPdu(2, 6)]);
    const truncated = encodeAssociateRq(request()).subarray(0, 80);
    truncated.writeUInt32BE(74, 2);
    expect(await exchange(scp.port, truncated)).toEqual([abortPdu(2, 6)]);
    // Established, then a P-DATA on a context that was not accepted.
    const [ac, abort] = await exchange(scp.port, encodeAssociateRq(request()), Buffer.from([0x04, 0, 0, 0, 0, 6, 0, 0, 0, 2, 5, 3]));
    expect(ac![0]).toBe(0x02);
    expect(abort![0]).toBe(0x07);
    // The box's SCU against the box's SCP: C-ECHO.
    const bridge = createPacsBridge(
      { aeTitle: 'BOXSCP', host: '127.0.0.1', port: scp.port, retrieve: 'C-GET', dicomwebUrl: '', maxAssociations: 1 },
      { aeTitle: 'DRIMBOX' },
      { connectTimeoutMs: 5000, responseTimeoutMs: 5000, maxPduLength: 16384 },
    );
    await bridge.echo();
  });
});

/** A C-FIND SCP made of the box's own parts: `matches` matches at once, the final response `finalAfterMs` later. */
function fakeFindScp(matches: number, finalAfterMs: number): Promise<Server> {
  // Encoded beforehand: the fake shares the box's event loop, and must not hold it while the box's watchdog runs.
  const identifiers = Array.from({ length: matches }, (_, i) => encodeIdentifier({ QueryRetrieveLevel: 'IMAGE', SOPInstanceUID: `1.2.3.${i}` }, IMPLICIT));
  const server = createServer((socket) => {
    let contexts: NegotiatedContexts | undefined;
    let peerMax = 0;
    const receiver: Receiver = new Receiver(socket, {
      contexts: () => contexts!,
      deliver: (context, message) => {
        const respond = (status: number, dataset?: RawDataset) =>
          new DimseMessage({ AffectedSOPClassUID: context.abstractSyntaxUid, CommandField: 0x8020, MessageIDBeingRespondedTo: message.getMessageId(), Status: status }, dataset);
        const all: Promise<void>[] = [];
        for (const identifier of identifiers) {
          const response = respond(0xff00, new RawDataset(identifier, IMPLICIT));
          all.push(writeMessage(socket, context.id, peerMax, response.encodeCommand(), identifier));
        }
        void Promise.all(all).catch(() => undefined);
        setTimeout(() => void writeMessage(socket, context.id, peerMax, respond(0x0000).encodeCommand()).catch(() => undefined), finalAfterMs);
      },
      openStoreSink: () => {
        throw new Error('no C-STORE here');
      },
      fail: () => socket.destroy(),
    });
    const connection = new DicomConnection(socket, 'acceptor', 65536, {
      associateRequest: (rq) => {
        const accepted = associateAccept(rq, 65536, (_abstract, ts) => ({ result: 0, transferSyntaxUid: ts[ts.length - 1] }));
        contexts = accepted.contexts;
        peerMax = rq.user.maxPduLength;
        connection.accept(accepted.ac);
      },
      pdata: (pdvs) => receiver.handle(pdvs),
      aborted: () => {},
      protocolError: () => {},
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe("the box's SCU watchdog", () => {
  it('does not time out an association the box itself paused for a slow consumer', async () => {
    const responseTimeoutMs = 1000;
    // The final response comes while the box has paused the socket: the box must not read the silence as a dead peer.
    const server = await fakeFindScp(700, 2 * responseTimeoutMs);
    try {
      const port = (server.address() as { port: number }).port;
      const bridge = createPacsBridge(
        { aeTitle: 'FAKE', host: '127.0.0.1', port, retrieve: 'C-GET', dicomwebUrl: '', maxAssociations: 1 },
        { aeTitle: 'DRIMBOX' },
        { connectTimeoutMs: 5000, responseTimeoutMs, maxPduLength: 65536 },
      );
      const uids: string[] = [];
      for await (const match of bridge.find({ level: 'IMAGE', keys: { StudyInstanceUID: '1.2.3' } })) {
        // Past the queue's high-water mark the socket is paused: stalling longer than the timeout must not abort it.
        if (uids.length === 0) await new Promise((r) => setTimeout(r, 3 * responseTimeoutMs));
        uids.push(match['00080018']?.Value?.[0] as string);
      }
      expect(uids).toHaveLength(700);
      expect(uids[699]).toBe('1.2.3.699');
    } finally {
      server.close();
    }
  });
});
