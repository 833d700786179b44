import { lentChunk, takeGiveBack } from '../dicomweb/lent-chunks.js';
import { MultipartError, MultipartScanner } from '../dicomweb/multipart-scanner.js';
import { MAX_META, NotPart10Error, parsePart10Meta, type Part10Meta } from '../dicomweb/part10-peek.js';

/**
 * The parts of a multipart/related answer of DICOM instances, read from a byte source through the synchronous
 * scanner: one read of the source per network chunk, the part bodies handed on as views of those chunks (no
 * copy, no stacked generators). Pull-driven: the source is read only when a part or a body chunk is asked for,
 * so a slow reader (the disk) slows the connection down. A part whose body is not read is skipped unread. A chunk
 * the source lends (dicomweb/lent-chunks.ts) is lent on as the views of it the parts keep: it is given back once each
 * of them is (by the body's reader, or here when a part is skipped).
 */

export interface FedPart {
  /** Header names lower-cased. */
  headers: Map<string, string>;
  meta: Part10Meta;
  body: AsyncIterable<Uint8Array>;
}

interface PartState {
  headers: Map<string, string>;
  /** First bytes, in the pieces they came in, until the file meta information is whole. */
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
  /** The lent chunk being scanned: views of it kept by the parts share its give-back. */
  private lending: { views: number; giveBack: () => void } | undefined;

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

  /** A view of the chunk being scanned, kept past its scan: lent on when the chunk is lent. */
  private kept(view: Buffer): Buffer {
    const lending = this.lending;
    if (!lending) return view;
    lending.views++;
    return lentChunk(view, () => PartFeed.viewGivenBack(lending));
  }

  private static viewGivenBack(lending: { views: number; giveBack: () => void }): void {
    if (--lending.views === 0) lending.giveBack();
  }

  private data(part: PartState, bytes: Buffer): void {
    if (part.skipped) return;
    if (part.meta) {
      part.chunks.push(this.kept(bytes));
      return;
    }
    part.head.push(this.kept(bytes));
    part.headBytes += bytes.length;
    // Parsed from a copy of the first bytes when they came in pieces (bounded: the meta is never longer); the pieces
    // themselves are handed on.
    const probe = part.head.length === 1 ? part.head[0]! : Buffer.concat(part.head, Math.min(part.headBytes, MAX_META + 1));
    const parsed = parsePart10Meta(probe);
    if (parsed === 'invalid') throw new NotPart10Error('part is not a DICOM Part-10 file (no valid file meta information)');
    if (parsed === 'need-more') {
      if (part.headBytes > MAX_META) throw new NotPart10Error(`file meta information longer than ${MAX_META} bytes`);
      return;
    }
    part.meta = parsed.meta;
    part.chunks.push(...part.head);
    part.head = [];
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
      const giveBack = takeGiveBack(chunk);
      // The scan's own share: views kept count one more each, the chunk is given back when the last goes.
      const lending = giveBack ? { views: 1, giveBack } : undefined;
      this.lending = lending;
      try {
        this.scanner.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } finally {
        this.lending = undefined;
        if (lending) PartFeed.viewGivenBack(lending);
      }
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
    for (const chunk of [...part.head.splice(0), ...part.chunks.splice(0)]) takeGiveBack(chunk)?.();
  }

  /** Done with the current part: whatever of it was not read is skipped. */
  async finishPart(): Promise<void> {
    const part = this.parts[0]!;
    this.skip(part);
    while (!part.ended) if (!(await this.pump())) this.cut();
    this.parts.shift();
  }
}
