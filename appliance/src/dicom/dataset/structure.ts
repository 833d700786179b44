import { DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BE, IMPLICIT_VR_LE } from '../transfer-syntax-uids.js';
import { LONG_VRS } from './vr.js';

/**
 * A bounded walk over a Part-10 file's elements before dcmjs reads it: every defined length must fit in the bytes
 * that follow. dcmjs trusts lengths and, given a 40-byte input announcing a 2 GB value, spends seconds to minutes
 * building it (found by fuzzing, test/bench/fuzz-bench.ts). Walks linearly (no recursion): sequence and item
 * contents are walked as elements, other values are skipped by their length. PS3.5 §7.1 (element encoding),
 * §7.5 (items and delimiters).
 */

const UNDEFINED = 0xffffffff;

export class DicomStructureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DicomStructureError';
  }
}

const hex4 = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');

/**
 * Groups that never appear in a dataset: the command group (0000) and the file meta group (0002) have places of their
 * own, and 0001, 0003, 0005, 0007 and FFFF shall not be used (PS3.5 §7.1). dcmjs mis-reads them and fuzzing found
 * inputs where it then built a string past V8's limit after seconds of work.
 */
const FORBIDDEN_IN_DATASET = new Set([0x0000, 0x0001, 0x0002, 0x0003, 0x0005, 0x0007, 0xffff]);

/** Where the walk is: inside a sequence, an item, or encapsulated pixel data, with its end when its length is defined. */
interface Frame {
  kind: 'sq' | 'item' | 'encapsulated';
  end?: number;
}

/** Checks the elements of `bytes` from `offset`; stops at `untilTag` (group << 16 | element) when given. */
function walk(bytes: Buffer, offset: number, end: number, explicit: boolean, bigEndian: boolean, untilTag?: number, dataset = true): void {
  const u16 = (at: number) => (bigEndian ? bytes.readUInt16BE(at) : bytes.readUInt16LE(at));
  const u32 = (at: number) => (bigEndian ? bytes.readUInt32BE(at) : bytes.readUInt32LE(at));
  // Elements of a defined-length sequence or item must end exactly at its end: dcmjs reads each as a stream of its
  // own (a mismatch sent it astray for a minute, found by fuzzing). Items of encapsulated pixel data are fragments.
  const frames: Frame[] = [];
  const limitOf = () => {
    for (let i = frames.length - 1; i >= 0; i--) if (frames[i]!.end !== undefined) return Math.min(frames[i]!.end!, end);
    return end;
  };
  let pos = offset;
  for (;;) {
    while (frames.length && frames[frames.length - 1]!.end === pos) frames.pop();
    const limit = limitOf();
    if (pos > limit) throw new DicomStructureError(`an element crosses the end of its sequence or item at byte ${limit}`);
    if (pos >= end) break;
    if (limit - pos < 8) throw new DicomStructureError(`truncated element header at byte ${pos}`);
    const group = u16(pos);
    const element = u16(pos + 2);
    const tag = ((group << 16) | element) >>> 0;
    if (untilTag !== undefined && tag >= untilTag && group !== 0xfffe && frames.length === 0) return;
    if (group === 0xfffe) {
      const length = u32(pos + 4);
      pos += 8;
      const top = frames[frames.length - 1];
      if (element === 0xe0dd || element === 0xe00d) {
        // Sequence / item delimitation: closes the innermost undefined-length sequence / item.
        if (top && top.end === undefined && (element === 0xe0dd) === (top.kind !== 'item')) frames.pop();
        continue;
      }
      if (element !== 0xe000) throw new DicomStructureError(`unknown item tag (FFFE,${hex4(element)}) at byte ${pos - 8}`);
      if (length === UNDEFINED) {
        if (top?.kind === 'encapsulated') throw new DicomStructureError(`a fragment of undefined length at byte ${pos - 8}`);
        frames.push({ kind: 'item' });
        continue;
      }
      if (length > limit - pos) throw new DicomStructureError(`item at byte ${pos - 8} announces ${length} bytes, only ${limit - pos} follow`);
      if (top?.kind === 'encapsulated') pos += length; // a fragment: bytes, not elements
      else if (length > 0) frames.push({ kind: 'item', end: pos + length });
      continue;
    }
    if (dataset && FORBIDDEN_IN_DATASET.has(group)) throw new DicomStructureError(`element (${hex4(group)},${hex4(element)}) at byte ${pos} is not allowed in a dataset`);
    let length: number;
    let header: number;
    let sequence: boolean;
    if (explicit) {
      const vr = bytes.toString('latin1', pos + 4, pos + 6);
      if (LONG_VRS.has(vr)) {
        if (limit - pos < 12) throw new DicomStructureError(`truncated element header at byte ${pos}`);
        length = u32(pos + 8);
        header = 12;
      } else {
        length = u16(pos + 6);
        header = 8;
      }
      sequence = vr === 'SQ';
    } else {
      length = u32(pos + 4);
      header = 8;
      // Implicit VR: an undefined length is a sequence (nothing is encapsulated in Implicit VR LE); a defined-length
      // value that starts with an item tag is a sequence too.
      sequence = length === UNDEFINED || (length >= 8 && pos + 12 <= limit && u16(pos + 8) === 0xfffe && u16(pos + 10) === 0xe000);
    }
    // A group length (gggg,0000) is UL: exactly 4 bytes (PS3.5 §7.2).
    if (element === 0x0000 && length !== 4) throw new DicomStructureError(`group length (${hex4(group)},0000) at byte ${pos} has ${length} bytes, not 4`);
    pos += header;
    if (length === UNDEFINED) {
      frames.push({ kind: sequence ? 'sq' : 'encapsulated' });
      continue;
    }
    if (length > limit - pos) {
      throw new DicomStructureError(`element (${hex4(group)},${hex4(element)}) at byte ${pos - header} announces ${length} bytes, only ${limit - pos} follow`);
    }
    if (sequence) {
      if (length > 0) frames.push({ kind: 'sq', end: pos + length });
      continue;
    }
    pos += length;
  }
  if (untilTag === undefined && frames.some((f) => f.end !== undefined)) throw new DicomStructureError(`the data ends inside a sequence or item (at byte ${pos})`);
}

/**
 * Refuses a Part-10 file (preamble, "DICM", meta group, dataset) whose element lengths do not fit its bytes.
 * Deflated datasets are not walked (their bytes are compressed); everything else is.
 */
export function checkPart10Structure(bytes: Buffer, untilTag?: number): void {
  if (bytes.length < 144) throw new DicomStructureError('no file meta information group');
  const metaLength = bytes.readUInt32LE(140);
  const metaEnd = 144 + metaLength;
  if (metaEnd > bytes.length) throw new DicomStructureError(`file meta group announces ${metaLength} bytes, only ${bytes.length - 144} follow`);
  walk(bytes, 144, metaEnd, true, false, undefined, false);
  const meta = bytes.toString('latin1', 144, metaEnd);
  const tsAt = meta.indexOf('\x02\x00\x10\x00UI');
  const transferSyntaxUid = tsAt >= 0 ? meta.substr(tsAt + 8, bytes.readUInt16LE(144 + tsAt + 6)).replace(/[\0 ]+$/, '') : '';
  if (transferSyntaxUid === DEFLATED_EXPLICIT_VR_LE) return;
  walk(bytes, metaEnd, bytes.length, transferSyntaxUid !== IMPLICIT_VR_LE, transferSyntaxUid === EXPLICIT_VR_BE, untilTag);
}
