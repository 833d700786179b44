import { PduType } from './constants.js';
import { PduError } from './cursor.js';

/** A-RELEASE-RQ, A-RELEASE-RP and A-ABORT (PS3.8 §9.3.6-9.3.8): 6-byte header, 4-byte body. */
function fixed(type: number, body: number[]): Buffer {
  return Buffer.from([type, 0, 0, 0, 0, 4, ...body]);
}

export const encodeReleaseRq = (): Buffer => fixed(PduType.ReleaseRq, [0, 0, 0, 0]);
export const encodeReleaseRp = (): Buffer => fixed(PduType.ReleaseRp, [0, 0, 0, 0]);

export interface Abort {
  /** AbortSource: 0 service user, 2 service provider. */
  source: number;
  reason: number;
}

export function encodeAbort(abort: Abort): Buffer {
  return fixed(PduType.Abort, [0, 0, abort.source, abort.reason]);
}

function body(pdu: Buffer, type: number, what: string): Buffer {
  if (pdu.length !== 10 || pdu[0] !== type || pdu.readUInt32BE(2) !== 4) throw new PduError(`${what} PDU of ${pdu.length} bytes (10 expected)`);
  return pdu.subarray(6);
}

export function decodeRelease(pdu: Buffer): 'request' | 'response' {
  const type = pdu[0];
  body(pdu, type === PduType.ReleaseRq ? PduType.ReleaseRq : PduType.ReleaseRp, type === PduType.ReleaseRq ? 'A-RELEASE-RQ' : 'A-RELEASE-RP');
  return type === PduType.ReleaseRq ? 'request' : 'response';
}

export function decodeAbort(pdu: Buffer): Abort {
  const b = body(pdu, PduType.Abort, 'A-ABORT');
  return { source: b[2]!, reason: b[3]! };
}
