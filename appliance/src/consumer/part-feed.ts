import { MultipartError, MultipartScanner } from '../dicomweb/multipart-scanner.js';
import { MAX_META, NotPart10Error, parsePart10Meta, type Part10Meta } from '../dicomweb/part10-peek.js';

/**
 * The parts of a multipart/related answer of DICOM instances, read from a byte source through the synchronous
 * scanner: one read of the source per network chunk, the part bodies handed on as views of those chunks (no
 * copy, no stacked generators). Pull-driven: the source is read only when a part or a body chunk is asked for,
 * so a slow reader (the disk) slows the connection down. A part whose body is not read is skipped unread.
 */

export interface FedPart {
  /** Header names lower-cased. */
  headers: Map<string, string>;
  meta: Part10Meta;
  body: AsyncIterable<Uint8Array>;
}

interface PartState {
  headers: Map<string, string>;
  /** First bytes, until the file meta information is whole. */
  head: Buffer[];
  headBytes: number;
  meta?: Part10Meta;
  chunks: Buffer[];
  ended: boolean;
  skipped: boolean;
}

export class PartFeed {
  private readonly scanner: MultipartScanner;
  private readonly parts: PartState[] = [];
  private sourceDone = false;

  /**
   * `read`: the next chunk of the answer, or undefined at its end. `failure`: what a failure to read or scan
   * becomes, wherever it surfaces (between parts or inside a body being read by someone else).
   */
  constructor(
    boundary: string,
    private readonly read: () => Promise<Uint8Array | undefined>,
    private readonly failure: (err: unknown) => unknown = (err) => err,
  ) {
    this.scanner = new MultipartScanner(boundary, {
      partStart: (headers) => this.parts.push({ headers, head: [], headBytes: 0, chunks: [], ended: false, skipped: false }),
      partData: (bytes) => this.data(this.parts[this.parts.length - 1]!, bytes),
      partEnd: () => {
        const part = this.parts[this.parts.length - 1]!;
        if (!part.meta) throw new NotPart10Error('part ended inside the DICOM file meta information');
        part.ended = true;
      },
    });
  }

  private data(part: PartState, bytes: Buffer): void {
    if (part.skipped) return;
    if (part.meta) {
      part.chunks.push(bytes);
      return;
    }
    part.head.push(bytes);
    part.headBytes += bytes.length;
    const head = part.head.length === 1 ? part.head[0]! : Buffer.concat(part.head);
    const parsed = parsePart10Meta(head);
    if (parsed === 'invalid') throw new NotPart10Error('part is not a DICOM Part-10 file (no valid file meta information)');
    if (parsed === 'need-more') {
      if (part.headBytes > MAX_META) throw new NotPart10Error(`file meta information longer than ${MAX_META} bytes`);
      part.head = [head];
      return;
    }
    part.meta = parsed.meta;
    part.head = [];
    part.chunks.push(head);
  }

  /** Reads one more chunk of the source; false at its end (a body cut short throws MultipartError). */
  private async pump(): Promise<boolean> {
    if (this.sourceDone) return false;
    try {
      const chunk = await this.read();
      if (chunk === undefined) {
        this.sourceDone = true;
        this.scanner.end();
        return false;
      }
      this.scanner.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      return true;
    } catch (err) {
      throw this.failure(err);
    }
  }

  private cut(): never {
    throw this.failure(new MultipartError('multipart body ended before the closing boundary'));
  }

  /** The next part once its file meta information is read, or undefined after the close delimiter. */
  async next(): Promise<FedPart | undefined> {
    for (;;) {
      const part = this.parts[0];
      if (part?.meta) return this.handOut(part);
      if (!(await this.pump())) {
        if (this.parts.length) this.cut();
        return undefined;
      }
    }
  }

  private handOut(part: PartState): FedPart {
    const feed = this;
    let taken = false;
    const body: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => {
        if (taken) throw new Error('a part body can be read once');
        taken = true;
        return {
          async next(): Promise<IteratorResult<Uint8Array>> {
            for (;;) {
              const chunk = part.chunks.shift();
              if (chunk) return { value: chunk, done: false };
              if (part.ended || part.skipped) return { value: undefined, done: true };
              if (!(await feed.pump())) feed.cut();
            }
          },
          async return(): Promise<IteratorResult<Uint8Array>> {
            feed.skip(part);
            return { value: undefined, done: true };
          },
        };
      },
    };
    return { headers: part.headers, meta: part.meta!, body };
  }

  private skip(part: PartState): void {
    part.skipped = true;
    part.chunks = [];
  }

  /** Done with the current part: whatever of it was not read is skipped. */
  async finishPart(): Promise<void> {
    const part = this.parts[0]!;
    this.skip(part);
    while (!part.ended) if (!(await this.pump())) this.cut();
    this.parts.shift();
  }
}
