import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import type { DcmDataset } from '../dicom/dataset/dcmjs.js';
import { encodeDataset, type VrEncoding } from '../dicom/dataset/encode.js';
import { text } from '../dicom/dataset/elements.js';
import { scanPart10, type Part10Element, type Part10Layout } from '../dicom/dataset/part10-scan.js';
import { DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BE, IMPLICIT_VR_LE } from '../dicomweb/transfer-syntax.js';

/**
 * Patient-ID coercion on import (IHE "Import Reconciliation": the images get the practice's own identifiers). A copy
 * of the file is written with Patient ID (0010,0020), Issuer of Patient ID (0010,0021) and its qualifiers
 * (0010,0024) replaced by the local IPP and its issuer; the identifier the images came with (the INS) moves into
 * Other Patient IDs Sequence (0010,1002), in front of any items already there. Every other byte of the file is
 * copied as is and streamed: only the few replaced elements are built in memory (by the project's dcmjs-shaped
 * encoder), never the dataset, never the pixels.
 */

export interface LocalPatientId {
  /** The IPP: LO, printable ASCII, no backslash, 64 characters at most. */
  id: string;
  /** Issuer as the RIS gave it: `name&OID&ISO` (CX-4), a bare OID, or a name. */
  issuer?: string;
}

export class CoercionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CoercionError';
  }
}

const OID = /^[0-2](\.(0|[1-9][0-9]*))+$/;
const LO = /^[\x20-\x5b\x5d-\x7e]{1,64}$/;

/** Issuer of Patient ID (LO) and, when an OID is known, Universal Entity ID and its type (PS3.3 C.7.1.1). */
export function issuerElements(issuer: string | undefined): { issuerOfPatientId?: string; universalEntityId?: string; universalEntityIdType?: string } {
  const v = issuer?.trim();
  if (!v) return {};
  const parts = v.split('&');
  if (parts.length >= 2) {
    const [name = '', uid = '', type = ''] = parts.map((p) => p.trim());
    const out: ReturnType<typeof issuerElements> = {};
    const issuerOfPatientId = (name || uid).slice(0, 64);
    if (issuerOfPatientId) out.issuerOfPatientId = issuerOfPatientId;
    if (uid) {
      out.universalEntityId = uid;
      out.universalEntityIdType = /^[A-Z0-9_]{1,16}$/.test(type) ? type : OID.test(uid) ? 'ISO' : 'UUID';
    }
    return out;
  }
  if (OID.test(v)) return { issuerOfPatientId: v.slice(0, 64), universalEntityId: v, universalEntityIdType: 'ISO' };
  return { issuerOfPatientId: v.slice(0, 64) };
}

const TAG = {
  groupLength: 0x00100000,
  patientId: 0x00100020,
  issuer: 0x00100021,
  qualifiers: 0x00100024,
  otherIds: 0x00101002,
} as const;

interface Edit {
  start: number;
  end: number;
  bytes: Buffer;
}

function encodingOf(layout: Part10Layout): VrEncoding {
  if (layout.transferSyntaxUid === EXPLICIT_VR_BE) throw new CoercionError('Explicit VR Big Endian (retired): coercion not supported, import it without coercion');
  if (layout.transferSyntaxUid === DEFLATED_EXPLICIT_VR_LE) throw new CoercionError('deflated dataset: coercion not supported, import it without coercion');
  return layout.transferSyntaxUid === IMPLICIT_VR_LE ? 'implicit' : 'explicit';
}

/** The element bytes of a top-level element; undefined when the scan could not walk past it. */
function span(el: Part10Element | undefined): [number, number] | undefined {
  if (!el || el.end === undefined) return undefined;
  return [el.offset, el.end];
}

async function readRange(path: string, [start, end]: [number, number]): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(end - start);
    const { bytesRead } = await handle.read(buf, 0, buf.length, start);
    if (bytesRead !== buf.length) throw new CoercionError('file shorter than its own header says');
    return buf;
  } finally {
    await handle.close();
  }
}

/** Raw items of a sequence element (without its delimiter), to be copied into a new sequence as they are. */
function itemsOf(element: Buffer, el: Part10Element): Buffer {
  const header = el.valueOffset - el.offset;
  const value = element.subarray(header);
  return el.length === undefined ? value.subarray(0, value.length - 8) : value;
}

function sequenceWith(items: Buffer[], tag: string, encoding: VrEncoding): Buffer {
  // An empty sequence from the encoder gives the header and the delimiter; the items go between them.
  const shell = encodeDataset({ [tag]: { vr: 'SQ', Value: [] } } as DcmDataset, encoding);
  return Buffer.concat([shell.subarray(0, shell.length - 8), ...items, shell.subarray(shell.length - 8)]);
}

function itemWith(content: Buffer[]): Buffer {
  const start = Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]);
  const end = Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0x00, 0x00, 0x00, 0x00]);
  return Buffer.concat([start, ...content, end]);
}

/** The edits that give the file its local identity, each a byte range replaced (or an insertion: start = end). */
async function editsFor(layout: Part10Layout, local: LocalPatientId): Promise<Edit[]> {
  if (!LO.test(local.id)) throw new CoercionError(`local patient ID "${local.id}" is not 1–64 printable ASCII characters without backslash`);
  const encoding = encodingOf(layout);
  const top = new Map(layout.elements.map((e) => [e.tag, e]));
  const path = layout.path;
  const insertAt = (tag: number): number => layout.elements.find((e) => e.tag > tag)?.offset ?? layout.size;
  const raw = async (tag: number): Promise<Buffer | undefined> => {
    const s = span(top.get(tag));
    return s ? readRange(path, s) : undefined;
  };
  for (const tag of [TAG.groupLength, TAG.patientId, TAG.issuer, TAG.qualifiers, TAG.otherIds]) {
    if (top.has(tag) && top.get(tag)!.end === undefined) throw new CoercionError('malformed patient module: cannot be rewritten');
  }

  // The identifier the images came with, kept as an Other Patient IDs item: its own bytes, plus Type TEXT.
  const origId = await raw(TAG.patientId);
  const origIssuer = await raw(TAG.issuer);
  const origQualifiers = await raw(TAG.qualifiers);
  const otherItems: Buffer[] = [];
  if (origId && top.get(TAG.patientId)!.length) {
    const type = encodeDataset({ '00100022': text('CS', 'TEXT') }, encoding);
    otherItems.push(itemWith([origId, ...(origIssuer ? [origIssuer] : []), type, ...(origQualifiers ? [origQualifiers] : [])]));
  }
  const existingOther = top.get(TAG.otherIds);
  if (existingOther) otherItems.push(itemsOf((await raw(TAG.otherIds))!, existingOther));

  const issuer = issuerElements(local.issuer);
  const patientModule: DcmDataset = { '00100020': text('LO', local.id) };
  if (issuer.issuerOfPatientId) patientModule['00100021'] = text('LO', issuer.issuerOfPatientId);
  const replacements = new Map<number, Buffer | undefined>([
    [TAG.groupLength, undefined], // retired group length: it would be wrong after the edit
    [TAG.patientId, encodeDataset({ '00100020': patientModule['00100020']! }, encoding)],
    [TAG.issuer, issuer.issuerOfPatientId ? encodeDataset({ '00100021': patientModule['00100021']! }, encoding) : undefined],
    [
      TAG.qualifiers,
      issuer.universalEntityId
        ? encodeDataset(
            {
              '00100024': {
                vr: 'SQ',
                Value: [{ '00400032': text('UT', issuer.universalEntityId), '00400033': text('CS', issuer.universalEntityIdType ?? 'ISO') }],
              },
            } as DcmDataset,
            encoding,
          )
        : undefined,
    ],
    [TAG.otherIds, otherItems.length ? sequenceWith(otherItems, '00101002', encoding) : undefined],
  ]);

  const edits: Edit[] = [];
  for (const [tag, bytes] of replacements) {
    const existing = span(top.get(tag));
    if (existing) edits.push({ start: existing[0], end: existing[1], bytes: bytes ?? Buffer.alloc(0) });
    else if (bytes) {
      const at = insertAt(tag);
      edits.push({ start: at, end: at, bytes });
    }
  }
  // Insertions at the same place keep tag order: they were produced in ascending tag order.
  return edits.sort((a, b) => a.start - b.start);
}

/** Writes `to`: the file at `from` with the local patient identity. Throws CoercionError when it cannot be done. */
export async function coerceFile(from: string, to: string, local: LocalPatientId): Promise<void> {
  let layout: Part10Layout;
  try {
    layout = await scanPart10(from);
  } catch (err) {
    throw new CoercionError(`unreadable DICOM file: ${(err as Error).message.replace(`${from}: `, '')}`);
  }
  const edits = await editsFor(layout, local);
  const out = createWriteStream(to);
  const closed = once(out, 'close');
  try {
    let at = 0;
    const write = async (chunk: Buffer) => {
      if (!out.write(chunk)) await once(out, 'drain');
    };
    const copy = async (start: number, end: number) => {
      if (end <= start) return;
      for await (const chunk of createReadStream(from, { start, end: end - 1, highWaterMark: 256 * 1024 })) await write(chunk as Buffer);
    };
    for (const e of edits) {
      await copy(at, e.start);
      await write(e.bytes);
      at = Math.max(at, e.end);
    }
    await copy(at, layout.size);
    out.end();
    await closed;
  } catch (err) {
    out.destroy();
    throw err;
  }
}
