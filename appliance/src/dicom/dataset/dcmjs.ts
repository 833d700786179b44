import { createRequire } from 'node:module';

/**
 * Typed facade over the parts of dcmjs 0.51 the box uses. dcmjs ships no
 * type declarations; loading it through createRequire keeps this file the only place that knows its shape.
 */

/** One element of a dataset in dcmjs' dictionary form, which is the PS3.18 F.2 DICOM JSON model. */
export interface DcmElement {
  vr: string;
  Value?: unknown[];
}
export type DcmDataset = Record<string, DcmElement>;

export interface DcmDict {
  meta: DcmDataset;
  dict: DcmDataset;
  write(options?: { allowInvalidVRLength?: boolean }): ArrayBuffer;
}

export interface ReadFileOptions {
  ignoreErrors?: boolean;
  /** 8-hex tag, upper case (e.g. '7FE00010'): reading stops there, its value is not read. */
  untilTag?: string | null;
  includeUntilTagValue?: boolean;
  noCopy?: boolean;
}

interface ReadBufferStreamLike {
  decoder: unknown;
  more(this: ReadBufferStreamLike, length: number): ReadBufferStreamLike;
}

interface Logger {
  getLevel(): number;
  setLevel(level: number | 'silent', persist?: boolean): void;
  getLogger(name: string): Logger;
}

interface DcmjsModule {
  log: Logger;
  data: {
    DicomMessage: { readFile(buffer: ArrayBuffer, options?: ReadFileOptions): DcmDict };
    DicomDict: new (meta: DcmDataset) => DcmDict;
    ReadBufferStream: { prototype: ReadBufferStreamLike };
  };
}

const dcmjs = createRequire(import.meta.url)('dcmjs') as DcmjsModule;

/** dcmjs' general writer (any VR, pixel data included). The box's own documents use encode.ts, which is linear. */
export const DicomDict = dcmjs.data.DicomDict;

/**
 * dcmjs 0.51 reads each sequence item from a sub-stream made by `more()`, which starts with a Latin-1 decoder:
 * text inside sequences (Content Sequence TEXT items, names in Other Patient IDs...) of a UTF-8 file comes out
 * garbled. While reading, `more()` hands the parent's decoder down, as PS3.5 §6.1.2.5.4 has the character set
 * apply to nested items. The patch lives only for the duration of one synchronous read; so does the silencing.
 */
export function readFile(buffer: ArrayBuffer, options?: ReadFileOptions): DcmDict {
  const proto = dcmjs.data.ReadBufferStream.prototype;
  const hadOwn = Object.prototype.hasOwnProperty.call(proto, 'more');
  const more = proto.more;
  proto.more = function (this: ReadBufferStreamLike, length: number) {
    const sub = more.call(this, length);
    sub.decoder = this.decoder;
    return sub;
  };
  // Untrusted input makes dcmjs print a console line per odd element; our errors already say what is wrong.
  const loggers = [dcmjs.log, dcmjs.log.getLogger('validation.dcmjs')];
  const levels = loggers.map((l) => l.getLevel());
  for (const l of loggers) l.setLevel('silent', false);
  try {
    return dcmjs.data.DicomMessage.readFile(buffer, options);
  } finally {
    if (hadOwn) proto.more = more;
    else delete (proto as Partial<ReadBufferStreamLike>).more;
    loggers.forEach((l, i) => l.setLevel(levels[i]!, false));
  }
}
