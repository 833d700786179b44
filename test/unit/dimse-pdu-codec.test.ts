import { describe, expect, it } from 'vitest';
import {
  decodeAssociateAc,
  decodeAssociateRj,
  decodeAssociateRq,
  encodeAssociateAc,
  encodeAssociateRj,
  encodeAssociateRq,
  type AssociateRq,
} from '../../appliance/src/dimse/pdu/associate.js';
import { decodeAbort, decodeRelease, encodeAbort, encodeReleaseRp, encodeReleaseRq } from '../../appliance/src/dimse/pdu/release-abort.js';
import { decodePDataTf } from '../../appliance/src/dimse/pdu/pdata-tf.js';
import { PduError } from '../../appliance/src/dimse/pdu/cursor.js';

// Byte vectors written by hand from the layouts of PS3.8 §9.3 (Tables 9-11 to 9-26) and PS3.7 Annex D.3.3.

const ascii = (s: string) => [...Buffer.from(s, 'latin1')];
const ae = (s: string) => ascii(s.padEnd(16, ' '));
const zeros = (n: number) => new Array<number>(n).fill(0);

/** A-ASSOCIATE-RQ: Verification in Implicit VR LE, a role selection (SCP for CT), max length 16384, version "TEST". */
const RQ = Buffer.from([
  0x01, 0x00, 0x00, 0x00, 0x00, 0xcf, // type, reserved, PDU length 207
  0x00, 0x01, 0x00, 0x00, // protocol version 1, reserved
  ...ae('ORTHANC'), ...ae('DRIMBOX'), ...zeros(32),
  0x10, 0x00, 0x00, 0x15, ...ascii('1.2.840.10008.3.1.1.1'), // application context, 21 bytes
  0x20, 0x00, 0x00, 0x2e, 0x01, 0x00, 0x00, 0x00, // presentation context 1, 46 bytes
  0x30, 0x00, 0x00, 0x11, ...ascii('1.2.840.10008.1.1'),
  0x40, 0x00, 0x00, 0x11, ...ascii('1.2.840.10008.1.2'),
  0x50, 0x00, 0x00, 0x3c, // user information, 60 bytes
  0x51, 0x00, 0x00, 0x04, 0x00, 0x00, 0x40, 0x00,
  0x52, 0x00, 0x00, 0x07, ...ascii('1.2.3.4'),
  0x54, 0x00, 0x00, 0x1d, 0x00, 0x19, ...ascii('1.2.840.10008.5.1.4.1.1.2'), 0x00, 0x01,
  0x55, 0x00, 0x00, 0x04, ...ascii('TEST'),
]);

const RQ_DECODED: AssociateRq = {
  protocolVersion: 1,
  calledAeTitle: 'ORTHANC',
  callingAeTitle: 'DRIMBOX',
  applicationContext: '1.2.840.10008.3.1.1.1',
  contexts: [{ id: 1, abstractSyntaxUid: '1.2.840.10008.1.1', transferSyntaxUids: ['1.2.840.10008.1.2'] }],
  user: {
    maxPduLength: 16384,
    implementationClassUid: '1.2.3.4',
    implementationVersionName: 'TEST',
    roles: [{ sopClassUid: '1.2.840.10008.5.1.4.1.1.2', scuRole: false, scpRole: true }],
  },
};

/** A-ASSOCIATE-AC: context 1 accepted in Implicit VR LE, context 3 refused (abstract syntax not supported), no limit. */
const AC = Buffer.from([
  0x02, 0x00, 0x00, 0x00, 0x00, 0x9d, // PDU length 157
  0x00, 0x01, 0x00, 0x00,
  ...ae('ORTHANC'), ...ae('DRIMBOX'), ...zeros(32),
  0x10, 0x00, 0x00, 0x15, ...ascii('1.2.840.10008.3.1.1.1'),
  0x21, 0x00, 0x00, 0x19, 0x01, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x11, ...ascii('1.2.840.10008.1.2'),
  0x21, 0x00, 0x00, 0x08, 0x03, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x00,
  0x50, 0x00, 0x00, 0x13,
  0x51, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
  0x52, 0x00, 0x00, 0x07, ...ascii('1.2.3.5'),
]);

function expectPduError(f: () => unknown, message: RegExp): void {
  let error: unknown;
  try {
    f();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(PduError);
  expect((error as Error).message).toMatch(message);
}

describe('A-ASSOCIATE-RQ/AC/RJ (PS3.8 §9.3.2-9.3.4)', () => {
  it('decodes a hand-built A-ASSOCIATE-RQ and encodes the same bytes back', () => {
    expect(decodeAssociateRq(RQ)).toEqual(RQ_DECODED);
    expect(encodeAssociateRq(RQ_DECODED).equals(RQ)).toBe(true);
  });

  it('decodes a hand-built A-ASSOCIATE-AC, a rejected context included, and round-trips it', () => {
    const ac = decodeAssociateAc(AC);
    expect(ac.contexts).toEqual([
      { id: 1, result: 0, transferSyntaxUid: '1.2.840.10008.1.2' },
      { id: 3, result: 3 },
    ]);
    expect(ac.user).toEqual({ maxPduLength: 0, implementationClassUid: '1.2.3.5', roles: [] });
    expect(encodeAssociateAc(ac).equals(AC)).toBe(true);
  });

  it('A-ASSOCIATE-RJ: permanent, service user, called AE title not recognised', () => {
    const bytes = Buffer.from([0x03, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x01, 0x01, 0x07]);
    expect(decodeAssociateRj(bytes)).toEqual({ result: 1, source: 1, reason: 7 });
    expect(encodeAssociateRj({ result: 1, source: 1, reason: 7 }).equals(bytes)).toBe(true);
  });

  it('reads a UID padded with a NUL, an asynchronous operations window, and skips unknown items and sub-items', () => {
    const rq = encodeAssociateRq({ ...RQ_DECODED, user: { ...RQ_DECODED.user, asyncOperations: { invoked: 2, performed: 1 } } });
    const withExtras = Buffer.concat([rq, Buffer.from([0x58, 0x00, 0x00, 0x02, 0xaa, 0xbb])]);
    withExtras.writeUInt32BE(withExtras.length - 6, 2);
    const decoded = decodeAssociateRq(withExtras);
    expect(decoded.user.asyncOperations).toEqual({ invoked: 2, performed: 1 });
    const padded = Buffer.from(RQ);
    padded[127] = 0; // the abstract syntax's last byte (offset 111 + 16) becomes NUL padding
    expect(decodeAssociateRq(padded).contexts[0]!.abstractSyntaxUid).toBe('1.2.840.10008.1.');
  });

  it('refuses what a peer must not send, with the reason', () => {
    const bad = (patch: (b: Buffer) => void) => {
      const b = Buffer.from(RQ);
      patch(b);
      return () => decodeAssociateRq(b);
    };
    expectPduError(bad((b) => b.writeUInt32BE(300, 2)), /PDU length 300 does not match/);
    expectPduError(bad((b) => b.writeUInt16BE(0x2f, 101)), /expected/); // context item one byte longer than it is
    expectPduError(bad((b) => (b[103] = 2)), /context ID 2 is not odd/);
    expectPduError(bad((b) => (b[12] = 0x07)), /AE title has characters outside/);
    expectPduError(bad((b) => b.writeUInt16BE(0x05, 155)), /Maximum Length sub-item of 5 bytes/);
    expectPduError(bad((b) => (b[125] = 0x41)), /is not a UID/);
    // no user information item
    const noUser = Buffer.from(RQ.subarray(0, RQ.length - 64));
    noUser.writeUInt32BE(noUser.length - 6, 2);
    expectPduError(() => decodeAssociateRq(noUser), /no User Information item/);
  });

  it('bounds UIDs (64 characters), contexts (128) and transfer syntaxes per context', () => {
    const long = '1.' + '2'.repeat(63);
    expect(() => encodeAssociateRq({ ...RQ_DECODED, contexts: [{ id: 1, abstractSyntaxUid: long, transferSyntaxUids: ['1.2'] }] })).toThrow(/at most 64/);
    // Built past the encoder's own checks: a 65-character UID on the wire.
    const big = encodeAssociateRq({ ...RQ_DECODED, contexts: [{ id: 1, abstractSyntaxUid: '1.2', transferSyntaxUids: ['1.2'] }] });
    const uid65 = Buffer.from(big);
    const at = uid65.indexOf(Buffer.from([0x30, 0x00, 0x00, 0x03]));
    const patched = Buffer.concat([uid65.subarray(0, at), Buffer.from([0x30, 0, 0, 65]), Buffer.from('1.' + '2'.repeat(63)), uid65.subarray(at + 7)]);
    patched.writeUInt32BE(patched.length - 6, 2);
    patched.writeUInt16BE(patched.readUInt16BE(at - 6) + 62, at - 6);
    expectPduError(() => decodeAssociateRq(patched), /UID of 65 characters/);
    const many = Array.from({ length: 128 }, (_, i) => ({ id: 2 * i + 1, abstractSyntaxUid: '1.2', transferSyntaxUids: ['1.2'] }));
    const full = encodeAssociateRq({ ...RQ_DECODED, contexts: many });
    expect(decodeAssociateRq(full).contexts).toHaveLength(128);
    const extra = Buffer.from([0x20, 0, 0, 0x0f, 0x01, 0, 0, 0, 0x30, 0, 0, 3, ...ascii('1.2'), 0x40, 0, 0, 0]);
    const userAt = full.lastIndexOf(Buffer.from([0x50, 0x00]));
    const over = Buffer.concat([full.subarray(0, userAt), extra, full.subarray(userAt)]);
    over.writeUInt32BE(over.length - 6, 2);
    expectPduError(() => decodeAssociateRq(over), /more than 128 presentation contexts/);
    const tsMany = encodeAssociateRq({ ...RQ_DECODED, contexts: [{ id: 1, abstractSyntaxUid: '1.2', transferSyntaxUids: Array.from({ length: 65 }, () => '1.2') }] });
    expectPduError(() => decodeAssociateRq(tsMany), /more than 64 transfer syntaxes/);
  });

  it('never throws anything but a PduError on truncated or corrupted input', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (const source of [RQ, AC]) {
      const decode = source === RQ ? decodeAssociateRq : decodeAssociateAc;
      for (let cut = 0; cut < source.length; cut++) {
        const truncated = Buffer.from(source.subarray(0, cut));
        if (truncated.length >= 6) truncated.writeUInt32BE(truncated.length - 6, 2);
        expect(() => decode(truncated)).toThrow(PduError);
      }
      for (let i = 0; i < 3000; i++) {
        const corrupted = Buffer.from(source);
        for (let k = 0; k < 3; k++) corrupted[6 + Math.floor(random() * (corrupted.length - 6))] = Math.floor(random() * 256);
        try {
          decode(corrupted);
        } catch (err) {
          expect(err).toBeInstanceOf(PduError);
        }
      }
    }
  });
});

describe('A-RELEASE and A-ABORT (PS3.8 §9.3.6-9.3.8)', () => {
  it('encodes and decodes the fixed 10-byte PDUs', () => {
    expect([...encodeReleaseRq()]).toEqual([0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
    expect([...encodeReleaseRp()]).toEqual([0x06, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
    expect(decodeRelease(encodeReleaseRq())).toBe('request');
    expect(decodeRelease(encodeReleaseRp())).toBe('response');
    const abort = Buffer.from([0x07, 0, 0, 0, 0, 4, 0, 0, 0x02, 0x06]);
    expect(decodeAbort(abort)).toEqual({ source: 2, reason: 6 });
    expect(encodeAbort({ source: 2, reason: 6 }).equals(abort)).toBe(true);
    expectPduError(() => decodeAbort(Buffer.from([0x07, 0, 0, 0, 0, 2, 0, 0])), /A-ABORT PDU of 8 bytes/);
  });
});

describe('P-DATA-TF (PS3.8 §9.3.5, Annex E.2)', () => {
  it('splits PDVs: context ID, command and last bits, values as views', () => {
    const pdu = Buffer.from([0x04, 0, 0, 0, 0, 0x0e, 0, 0, 0, 4, 0x01, 0x03, 0xaa, 0xbb, 0, 0, 0, 2, 0x03, 0x00]);
    expect(decodePDataTf(pdu)).toEqual([
      { contextId: 1, command: true, last: true, value: Buffer.from([0xaa, 0xbb]) },
      { contextId: 3, command: false, last: false, value: Buffer.alloc(0) },
    ]);
  });

  it('refuses PDV items that do not fit, even context IDs, reserved control bits, an empty PDU', () => {
    expectPduError(() => decodePDataTf(Buffer.from([0x04, 0, 0, 0, 0, 6, 0, 0, 0, 1, 0x01, 0x03])), /PDV item length 1/);
    expectPduError(() => decodePDataTf(Buffer.from([0x04, 0, 0, 0, 0, 6, 0, 0, 0, 9, 0x01, 0x03])), /PDV item length 9/);
    expectPduError(() => decodePDataTf(Buffer.from([0x04, 0, 0, 0, 0, 6, 0, 0, 0, 2, 0x02, 0x03])), /context ID 2 is not odd/);
    expectPduError(() => decodePDataTf(Buffer.from([0x04, 0, 0, 0, 0, 6, 0, 0, 0, 2, 0x01, 0x07])), /reserved bits/);
    expectPduError(() => decodePDataTf(Buffer.from([0x04, 0, 0, 0, 0, 0])), /no PDV item/);
    expectPduError(() => decodePDataTf(Buffer.from([0x04, 0, 0, 0, 0, 3, 0, 0, 0])), /truncated PDV item header/);
  });
});
