import { readTopLevelText } from '../dicom/dataset/part10-scan.js';
import { LONG_VRS } from '../dicom/dataset/vr.js';
import { closeFd, fstatFd, openFd, readAt } from './fd.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './library.js';
import { isValidUid, trimUid } from './uid.js';

/** PS3.10 §7.1: a 128-byte preamble, "DICM", then the File Meta Information (group 0002, Explicit VR LE). */
const PREAMBLE_LENGTH = 128;
const MAGIC = 'DICM';

export interface FileMeta {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** Calling AE title of the peer that sent the instance (0002,0016). */
  sourceAeTitle?: string;
}

/** Preamble, "DICM" and File Meta Information for an instance whose dataset bytes are written as received. */
export function encodeFileMeta(meta: FileMeta): Buffer {
  const elements = [
    element(0x0001, 'OB', Buffer.from([0x00, 0x01])),
    element(0x0002, 'UI', uidValue(meta.sopClassUid)),
    element(0x0003, 'UI', uidValue(meta.sopInstanceUid)),
    element(0x0010, 'UI', uidValue(meta.transferSyntaxUid)),
    element(0x0012, 'UI', uidValue(IMPLEMENTATION_CLASS_UID)),
    element(0x0013, 'SH', textValue(IMPLEMENTATION_VERSION_NAME)),
  ];
  if (meta.sourceAeTitle) elements.push(element(0x0016, 'AE', textValue(meta.sourceAeTitle.trim())));
  const body = Buffer.concat(elements);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(body.length);
  return Buffer.concat([Buffer.alloc(PREAMBLE_LENGTH), Buffer.from(MAGIC, 'latin1'), element(0x0000, 'UL', groupLength), body]);
}

function element(elementNumber: number, vr: string, value: Buffer): Buffer {
  const long = LONG_VRS.has(vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(0x0002, 0);
  header.writeUInt16LE(elementNumber, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(value.length, 8);
  else header.writeUInt16LE(value.length, 6);
  return Buffer.concat([header, value]);
}

function uidValue(uid: string): Buffer {
  return Buffer.from(uid.length % 2 ? `${uid}\0` : uid, 'latin1');
}

function textValue(text: string): Buffer {
  return Buffer.from(text.length % 2 ? `${text} ` : text, 'latin1');
}

export class NotPart10Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotPart10Error';
  }
}

export interface Part10Header extends FileMeta {
  /** Offset of the dataset (the first byte after the File Meta Information). */
  datasetOffset: number;
  size: number;
}

/** Reads only the File Meta Information of a Part-10 file: enough to propose and send it without parsing the dataset. */
export async function readPart10Header(path: string): Promise<Part10Header> {
  const fd = await openFd(path, 'r');
  try {
    const { size } = await fstatFd(fd);
    if (size < PREAMBLE_LENGTH + 4) throw new NotPart10Error('too short to be a DICOM Part-10 file');
    const head = Buffer.alloc(Math.min(size, 64 * 1024));
    await readAt(fd, head, head.length, 0);
    if (head.toString('latin1', PREAMBLE_LENGTH, PREAMBLE_LENGTH + 4) !== MAGIC) {
      throw new NotPart10Error('not a DICOM Part-10 file (no "DICM" after the 128-byte preamble)');
    }
    const values = new Map<number, string>();
    let offset = PREAMBLE_LENGTH + 4;
    while (offset + 8 <= head.length && head.readUInt16LE(offset) === 0x0002) {
      const elementNumber = head.readUInt16LE(offset + 2);
      const vr = head.toString('latin1', offset + 4, offset + 6);
      let length: number;
      let valueOffset: number;
      if (LONG_VRS.has(vr)) {
        if (offset + 12 > head.length) break;
        length = head.readUInt32LE(offset + 8);
        valueOffset = offset + 12;
      } else {
        length = head.readUInt16LE(offset + 6);
        valueOffset = offset + 8;
      }
      if (valueOffset + length > head.length) throw new NotPart10Error('File Meta Information is truncated or larger than 64 KiB');
      if (vr === 'UI') values.set(elementNumber, trimUid(head.toString('latin1', valueOffset, valueOffset + length)));
      offset = valueOffset + length;
    }
    const sopClassUid = values.get(0x0002);
    const sopInstanceUid = values.get(0x0003);
    const transferSyntaxUid = values.get(0x0010);
    if (!isValidUid(sopClassUid)) throw new NotPart10Error('File Meta Information has no valid Media Storage SOP Class UID (0002,0002)');
    if (!isValidUid(sopInstanceUid)) throw new NotPart10Error('File Meta Information has no valid Media Storage SOP Instance UID (0002,0003)');
    if (!isValidUid(transferSyntaxUid)) throw new NotPart10Error('File Meta Information has no valid Transfer Syntax UID (0002,0010)');
    if (offset >= size) throw new NotPart10Error('file has a File Meta Information but no dataset');
    return { sopClassUid, sopInstanceUid, transferSyntaxUid, datasetOffset: offset, size };
  } finally {
    await closeFd(fd);
  }
}

const STUDY_INSTANCE_UID = 0x0020000d;

/**
 * Finds the Study Instance UID near the start of a dataset without parsing it (the Part-10 scan's element walk).
 * Returns 'more' when the prefix ends first, undefined when the dataset cannot be walked (deflated, malformed) or
 * holds no valid one.
 */
export function peekStudyInstanceUid(prefix: Buffer, transferSyntaxUid: string): string | 'more' | undefined {
  const value = readTopLevelText(prefix, transferSyntaxUid, STUDY_INSTANCE_UID, 64);
  if (value === 'more' || value === undefined) return value;
  const uid = trimUid(value);
  return isValidUid(uid) ? uid : undefined;
}
