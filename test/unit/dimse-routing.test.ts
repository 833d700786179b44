import { describe, expect, it } from 'vitest';
import { PduReader } from '../../appliance/src/dimse/pdu-reader.js';
import { MoveRouter, StudyPeekingSink, type MoveExpectation } from '../../appliance/src/dimse/move-router.js';
import type { StoreDecision, StoreSink } from '../../appliance/src/dimse/sink.js';

function pdu(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(6);
  h[0] = type;
  h.writeUInt32BE(body.length, 2);
  return Buffer.concat([h, body]);
}

describe('PduReader', () => {
  it('cuts PDUs out of arbitrary TCP reads: split headers, several PDUs in one read', () => {
    const a = pdu(0x04, Buffer.alloc(300_000, 1));
    const b = pdu(0x05, Buffer.alloc(4));
    const c = pdu(0x04, Buffer.from('last'));
    const stream = Buffer.concat([a, b, c]);
    for (const cut of [[3], [6, 7, 65_536, 131_072], [300_005, 300_006, 300_010], [1, 2, 3, 4, 5]]) {
      const got: Buffer[] = [];
      const reader = new PduReader(1 << 20, (p) => got.push(Buffer.from(p)));
      let at = 0;
      for (const end of [...cut, stream.length]) {
        reader.push(stream.subarray(at, end));
        at = end;
      }
      expect(got.map((p) => p.length)).toEqual([a.length, b.length, c.length]);
      expect(Buffer.concat(got).equals(stream)).toBe(true);
    }
  });

  it('reads into one buffer the socket overwrites each time (onread): pending bytes are carried, every PDU intact', () => {
    const stream = Buffer.concat([pdu(0x04, Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251))), pdu(0x05, Buffer.alloc(4, 7)), pdu(0x04, Buffer.from('last'))]);
    for (const size of [1, 5, 6, 7, 1000, 65_536, 70_006]) {
      const got: Buffer[] = [];
      const reader = new PduReader(1 << 20, (p) => got.push(Buffer.from(p)));
      const socketBuffer = Buffer.alloc(size);
      for (let at = 0; at < stream.length; at += size) {
        const n = stream.copy(socketBuffer, 0, at, at + size);
        reader.push(socketBuffer.subarray(0, n));
        socketBuffer.fill(0xee); // the next read overwrites it
      }
      expect(Buffer.concat(got).equals(stream)).toBe(true);
      expect(got).toHaveLength(3);
    }
  });

  it('refuses an unknown PDU type and a PDU longer than the box accepts', () => {
    expect(() => new PduReader(1024, () => {}).push(pdu(0x09, Buffer.alloc(2)))).toThrow(/unknown PDU type 0x9/);
    expect(() => new PduReader(1024, () => {}).push(pdu(0x04, Buffer.alloc(1025)).subarray(0, 10))).toThrow(/PDU of 1025 bytes exceeds the 1024/);
  });
});

function expectation(messageId: number, pacsAeTitle: string, studyInstanceUid: string): MoveExpectation {
  return { messageId, pacsAeTitle, studyInstanceUid, outDir: `/tmp/${messageId}`, touch: () => {}, stored: () => Promise.resolve(0) };
}

describe('MoveRouter', () => {
  it('routes by Move Originator Message ID, then by the only move pending from that PACS, else asks for the study', () => {
    const router = new MoveRouter('DRIMBOX');
    const a = expectation(7, 'PACS', '1.2.1');
    const b = expectation(8, 'PACS', '1.2.2');
    const unregisterA = router.expect(a);
    expect(router.route({ callingAeTitle: 'PACS' })).toBe(a);
    expect(router.route({ callingAeTitle: 'OTHER' })).toBeUndefined();
    router.expect(b);
    expect(router.route({ callingAeTitle: 'PACS', originatorMessageId: 8, originatorAeTitle: 'DRIMBOX' })).toBe(b);
    expect(router.route({ callingAeTitle: 'PACS-STORE-AE', originatorMessageId: 7 })).toBe(a);
    // A move another AE started is not ours, whatever its message ID.
    expect(router.route({ callingAeTitle: 'PACS', originatorMessageId: 7, originatorAeTitle: 'VIEWER' })).toBe('by-study');
    expect(router.byStudy('PACS', '1.2.2')).toBe(b);
    expect(router.byStudy('PACS', '9.9')).toBeUndefined();
    unregisterA();
    expect(router.route({ callingAeTitle: 'PACS' })).toBe(b);
  });
});

describe('StudyPeekingSink', () => {
  class MemorySink implements StoreSink {
    bytes: Buffer[] = [];
    write(chunk: Buffer) {
      this.bytes.push(Buffer.from(chunk));
      return true;
    }
    drained() {
      return Promise.resolve();
    }
    end(): Promise<StoreDecision> {
      return Promise.resolve({ failure: { status: 0, comment: 'memory' } });
    }
    destroy() {}
  }
  const element = (group: number, el: number, vr: string, value: string) => {
    const v = Buffer.from(value.length % 2 ? value + '\0' : value, 'latin1');
    const h = Buffer.alloc(8);
    h.writeUInt16LE(group, 0);
    h.writeUInt16LE(el, 2);
    h.write(vr, 4, 'latin1');
    h.writeUInt16LE(v.length, 6);
    return Buffer.concat([h, v]);
  };

  it('holds the first bytes until the Study Instance UID shows, then hands everything on unchanged', async () => {
    const dataset = Buffer.concat([element(0x0008, 0x0060, 'CS', 'CT'), element(0x0020, 0x000d, 'UI', '1.2.3.4.5'), Buffer.alloc(5000, 7)]);
    const opened: (string | undefined)[] = [];
    const inner = new MemorySink();
    const sink = new StudyPeekingSink({ sopClassUid: '1.2', sopInstanceUid: '1.3', transferSyntaxUid: '1.2.840.10008.1.2.1' }, (study) => {
      opened.push(study);
      return inner;
    });
    sink.write(dataset.subarray(0, 12));
    expect(opened).toEqual([]);
    sink.write(dataset.subarray(12, 40));
    sink.write(dataset.subarray(40));
    await sink.end();
    expect(opened).toEqual(['1.2.3.4.5']);
    expect(Buffer.concat(inner.bytes).equals(dataset)).toBe(true);
  });
});
