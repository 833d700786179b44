import { createRequire } from 'node:module';

/** The slice of dcmjs 0.51 the generator uses (the package ships no type declarations). */
export interface DicomElement {
  vr: string;
  Value?: unknown[];
}
export type DicomDataset = Record<string, DicomElement>;

interface WriteBufferStreamPrototype {
  writeUTF8String(this: WriteBufferStreamPrototype, value: string): number;
  writeAsciiString(this: WriteBufferStreamPrototype, value: string): number;
}

interface WriteBufferStream {
  getBuffer(): ArrayBuffer;
}

interface DcmjsData {
  DicomMessage: { write(dataset: DicomDataset, stream: WriteBufferStream, transferSyntaxUid: string, options?: object): number };
  DicomMetaDictionary: { denaturalizeDataset(dataset: Record<string, unknown>): DicomDataset };
  WriteBufferStream: { new (defaultSize: number, littleEndian: boolean): WriteBufferStream; prototype: WriteBufferStreamPrototype };
}

const { data } = createRequire(import.meta.url)('dcmjs') as { data: DcmjsData };

/** Data elements of `dataset`, in tag order, in the given (little-endian) transfer syntax. */
export function encodeElements(dataset: DicomDataset, transferSyntaxUid: string): Buffer {
  const stream = new data.WriteBufferStream(1024, true);
  data.DicomMessage.write(dataset, stream, transferSyntaxUid);
  return Buffer.from(stream.getBuffer());
}

/** Keyword-named attributes → tag-keyed dataset (dcmjs picks the VRs from its dictionary). */
export function denaturalize(attributes: Record<string, unknown>): DicomDataset {
  return data.DicomMetaDictionary.denaturalizeDataset(attributes);
}

/**
 * Runs `write` with dcmjs's text encoder writing ISO 8859-1 bytes instead of UTF-8.
 * dcmjs 0.51 always encodes PN/LO/SH/ST/LT/UT/UC values as UTF-8, whatever Specific Character Set says.
 * Its ASCII writer stores each UTF-16 code unit's low byte, which for code points ≤ U+00FF is exactly the
 * Latin-1 byte, so the override only has to refuse what Latin-1 cannot hold. Writes are synchronous:
 * nothing else can run while the override is in place.
 */
export function withLatin1Text<T>(write: () => T): T {
  const proto = data.WriteBufferStream.prototype;
  const hadOwn = Object.prototype.hasOwnProperty.call(proto, 'writeUTF8String');
  const previous = proto.writeUTF8String;
  proto.writeUTF8String = function writeLatin1(value: string): number {
    const bad = firstNonLatin1(value);
    if (bad !== undefined) throw new RangeError(`"${value}" has "${bad}", which ISO_IR 100 (Latin-1) cannot encode`);
    return this.writeAsciiString(value);
  };
  try {
    return write();
  } finally {
    if (hadOwn) proto.writeUTF8String = previous;
    else delete (proto as Partial<WriteBufferStreamPrototype>).writeUTF8String;
  }
}

/** The first character outside ISO 8859-1, if any. */
export function firstNonLatin1(value: string): string | undefined {
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (code > 0xff) return ch;
  }
  return undefined;
}
