/**
 * The file meta information of a Part-10 stream, read from its first bytes while the stream goes on: the bytes
 * read are replayed in front of the rest, so nothing is lost and nothing beyond the meta group is buffered.
 */

export interface Part10Meta {
  transferSyntaxUid: string;
  sopClassUid?: string;
  sopInstanceUid?: string;
}

export const MAX_META = 64 * 1024;

/** The meta group at the start of `buf`, or what is missing to read it. */
export function parsePart10Meta(buf: Buffer): { meta: Part10Meta; complete: boolean } | 'need-more' | 'invalid' {
  if (buf.length < 132) return 'need-more';
  if (buf.toString('latin1', 128, 132) !== 'DICM') return 'invalid';
  let pos = 132;
  const meta: Partial<Part10Meta> = {};
  for (;;) {
    if (pos + 8 > buf.length) return 'need-more';
    const group = buf.readUInt16LE(pos);
    if (group !== 0x0002) break;
    const element = buf.readUInt16LE(pos + 2);
    const vr = buf.toString('latin1', pos + 4, pos + 6);
    let length: number;
    let header: number;
    if (['OB', 'OW', 'UN', 'SQ', 'UT', 'UC', 'UR'].includes(vr)) {
      if (pos + 12 > buf.length) return 'need-more';
      length = buf.readUInt32LE(pos + 8);
      header = 12;
    } else {
      length = buf.readUInt16LE(pos + 6);
      header = 8;
    }
    if (length === 0xffffffff) return 'invalid';
    if (pos + header + length > buf.length) return 'need-more';
    const text = () => buf.toString('latin1', pos + header, pos + header + length).replace(/[\0 ]+$/, '');
    if (element === 0x0002) meta.sopClassUid = text();
    if (element === 0x0003) meta.sopInstanceUid = text();
    if (element === 0x0010) meta.transferSyntaxUid = text();
    pos += header + length;
  }
  return meta.transferSyntaxUid ? { meta: meta as Part10Meta, complete: true } : 'invalid';
}

export class NotPart10Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotPart10Error';
  }
}

export async function peekPart10Meta(source: AsyncIterable<Uint8Array>): Promise<{ meta: Part10Meta; body: AsyncIterable<Uint8Array> }> {
  const iterator = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let buffered = Buffer.alloc(0);
  for (;;) {
    const parsed = parsePart10Meta(buffered);
    if (parsed === 'invalid') throw new NotPart10Error('part is not a DICOM Part-10 file (no valid file meta information)');
    if (parsed !== 'need-more') {
      const replay = buffered;
      const body = (async function* () {
        if (replay.length) yield replay;
        for (;;) {
          const { done, value } = await iterator.next();
          if (done) return;
          yield value;
        }
      })();
      return { meta: parsed.meta, body };
    }
    if (buffered.length > MAX_META) throw new NotPart10Error(`file meta information longer than ${MAX_META} bytes`);
    const { done, value } = await iterator.next();
    if (done) throw new NotPart10Error('part ended inside the DICOM file meta information');
    head.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    buffered = Buffer.concat(head);
  }
}
