import { PduType } from './constants.js';
import { PduError } from './cursor.js';

/** One Presentation Data Value of a P-DATA-TF PDU (PS3.8 §9.3.5.1, Annex E.2). */
export interface Pdv {
  contextId: number;
  /** Message Control Header bit 0: a command fragment, else a dataset fragment. */
  command: boolean;
  /** Message Control Header bit 1: the last fragment of the command or dataset. */
  last: boolean;
  value: Buffer;
}

/** The PDVs of a P-DATA-TF PDU; values are views on the PDU, not copies. */
export function decodePDataTf(pdu: Buffer): Pdv[] {
  if (pdu.length < 6 || pdu[0] !== PduType.PDataTf) throw new PduError('not a P-DATA-TF PDU');
  if (pdu.readUInt32BE(2) !== pdu.length - 6) throw new PduError(`P-DATA-TF length ${pdu.readUInt32BE(2)} does not match the ${pdu.length - 6} bytes received`);
  const pdvs: Pdv[] = [];
  let offset = 6;
  while (offset < pdu.length) {
    if (offset + 6 > pdu.length) throw new PduError(`P-DATA-TF: truncated PDV item header at byte ${offset}`);
    const length = pdu.readUInt32BE(offset);
    // The item length counts the context ID and control header: at least 2 (PS3.8 Table 9-23).
    if (length < 2 || offset + 4 + length > pdu.length) throw new PduError(`P-DATA-TF: PDV item length ${length} at byte ${offset} does not fit the PDU`);
    const contextId = pdu[offset + 4]!;
    const control = pdu[offset + 5]!;
    if (contextId % 2 === 0) throw new PduError(`P-DATA-TF: presentation context ID ${contextId} is not odd`);
    if (control & 0xfc) throw new PduError(`P-DATA-TF: message control header 0x${control.toString(16)} has reserved bits set`);
    pdvs.push({ contextId, command: (control & 1) === 1, last: (control & 2) === 2, value: pdu.subarray(offset + 6, offset + 4 + length) });
    offset += 4 + length;
  }
  if (pdvs.length === 0) throw new PduError('P-DATA-TF with no PDV item');
  return pdvs;
}
