import { parseMediaType } from './media-type.js';
import { MultipartError, parseHeaders, partialDelimiterAtEnd } from './multipart-scanner.js';

export { MultipartError };

/**
 * A streaming multipart reader (RFC 2046 §5.1.1): parts are yielded as soon as their headers are read and their
 * bodies stream; a part not read to its end is skipped when the next one is asked for. Quoted or unquoted
 * boundaries, transport padding after a delimiter, preamble and epilogue are all accepted.
 */

export interface IncomingPart {
  /** Header names lower-cased. */
  headers: Map<string, string>;
  body: AsyncIterable<Buffer>;
}

export interface ReadMultipartOptions {
  /** Largest header block of one part. */
  maxHeaderBytes?: number;
}


/** The boundary of a multipart Content-Type, or undefined when it is not multipart or has none. */
export function boundaryOf(contentType: string | null | undefined): string | undefined {
  const media = contentType ? parseMediaType(contentType) : undefined;
  if (!media || media.type !== 'multipart') return undefined;
  const boundary = media.params.get('boundary');
  // RFC 2046: 1–70 characters; refuse the absurd rather than search for it.
  return boundary && boundary.length <= 200 ? boundary : undefined;
}

class ByteSource {
  private readonly iterator: AsyncIterator<Uint8Array>;
  buf: Buffer;
  ended = false;

  constructor(source: AsyncIterable<Uint8Array>, initial: Buffer) {
    this.iterator = source[Symbol.asyncIterator]();
    this.buf = initial;
  }

  /** Reads one more chunk into buf; false at the end of the source. */
  async fill(): Promise<boolean> {
    if (this.ended) return false;
    const { done, value } = await this.iterator.next();
    if (done) {
      this.ended = true;
      return false;
    }
    const chunk = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    return true;
  }

  async indexOf(token: Buffer, limit: number, what: string): Promise<number> {
    for (;;) {
      const i = this.buf.indexOf(token);
      if (i >= 0) return i;
      if (this.buf.length > limit) throw new MultipartError(`multipart ${what} longer than ${limit} bytes`);
      if (!(await this.fill())) throw new MultipartError(`multipart body ended inside a ${what}`);
    }
  }

  async need(n: number, what: string): Promise<void> {
    while (this.buf.length < n) if (!(await this.fill())) throw new MultipartError(`multipart body ended inside a ${what}`);
  }

  consume(n: number): void {
    this.buf = this.buf.subarray(n);
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');


export async function* readMultipart(
  source: AsyncIterable<Uint8Array>,
  boundary: string,
  options: ReadMultipartOptions = {},
): AsyncGenerator<IncomingPart> {
  const maxHeaderBytes = options.maxHeaderBytes ?? 16 * 1024;
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  // A virtual CRLF before the first byte lets the first delimiter (which has none) match like the others.
  const src = new ByteSource(source, Buffer.from(CRLF));
  try {
    // Preamble: discard everything before the first delimiter.
    for (;;) {
      const i = src.buf.indexOf(delimiter);
      if (i >= 0) {
        src.consume(i + delimiter.length);
        break;
      }
      src.consume(Math.max(0, src.buf.length - delimiter.length + 1));
      if (!(await src.fill())) throw new MultipartError(`multipart body has no boundary "${boundary}"`);
    }
    for (;;) {
      await src.need(2, 'delimiter');
      if (src.buf[0] === 0x2d && src.buf[1] === 0x2d) {
        // Close delimiter. A short epilogue is read to the end, so an HTTP connection can be reused.
        let epilogue = src.buf.length;
        while (epilogue < 64 * 1024 && (await src.fill())) epilogue = src.buf.length;
        return;
      }
      const eol = await src.indexOf(CRLF, 1024, 'delimiter line');
      if (src.buf.subarray(0, eol).toString('latin1').trim() !== '') throw new MultipartError('garbage after a multipart delimiter');
      src.consume(eol + 2);
      let headers: Map<string, string>;
      await src.need(2, 'part header');
      if (src.buf[0] === 0x0d && src.buf[1] === 0x0a) {
        headers = new Map();
        src.consume(2);
      } else {
        const end = await src.indexOf(HEADER_END, maxHeaderBytes, 'part header');
        headers = parseHeaders(src.buf.subarray(0, end).toString('latin1'));
        src.consume(end + 4);
      }

      let partEnded = false;
      const nextChunk = async (): Promise<Buffer | null> => {
        if (partEnded) return null;
        for (;;) {
          const i = src.buf.indexOf(delimiter);
          if (i >= 0) {
            const chunk = src.buf.subarray(0, i);
            src.consume(i + delimiter.length);
            partEnded = true;
            return chunk;
          }
          // Keep only a tail that could be the start of a delimiter split across chunks (usually none, so the
          // next chunk is not copied onto it).
          const keep = partialDelimiterAtEnd(src.buf, delimiter);
          if (src.buf.length > keep) {
            const chunk = src.buf.subarray(0, src.buf.length - keep);
            src.consume(chunk.length);
            return chunk;
          }
          if (!(await src.fill())) throw new MultipartError('multipart body ended before the closing boundary');
        }
      };
      const body = (async function* () {
        for (;;) {
          const chunk = await nextChunk();
          if (chunk === null) return;
          if (chunk.length) yield chunk;
        }
      })();
      yield { headers, body };
      while ((await nextChunk()) !== null) {
        // skip what the consumer left unread
      }
    }
  } finally {
    await src.close();
  }
}
