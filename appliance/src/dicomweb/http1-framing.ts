import { TOKEN } from './media-type.js';

/**
 * HTTP/1.1 response framing (RFC 9112) for a GET read straight off a socket: the status line and header fields,
 * then the body as the message says it ends — Content-Length, chunked, or the connection's close. Strict: what a
 * conforming server never sends (obs-fold, a field name that is not a token, control characters, a Content-Length
 * beside Transfer-Encoding, two different lengths, a coding other than chunked) is refused, not guessed at.
 * Synchronous, over bytes as they arrive; body bytes come out as views of the input, valid while the caller holds it.
 */

export class Http1FramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Http1FramingError';
  }
}

export interface ResponseHead {
  status: number;
  /** Field names lower-cased; a repeated field keeps its last value (Content-Length is checked for agreement). */
  headers: Map<string, string>;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const STATUS_LINE = /^HTTP\/1\.[01] ([1-9]\d\d)(?: [\t\x20-\x7e\x80-\xff]*)?$/;
/** A field value without control characters but HTAB (RFC 9110 §5.5); a field name is a token (§5.1). */
export const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The response head at the start of `bytes`, and where the body starts; 'more' while the blank line that ends it has
 * not come (refused past `maxHeadBytes`).
 */
export function parseResponseHead(bytes: Buffer, maxHeadBytes: number): { head: ResponseHead; bodyStart: number } | 'more' {
  const end = bytes.indexOf(HEAD_END);
  if ((end < 0 && bytes.length >= maxHeadBytes) || end + 4 > maxHeadBytes) throw new Http1FramingError(`response head longer than ${maxHeadBytes} bytes`);
  if (end < 0) return 'more';
  const lines = bytes.toString('latin1', 0, end).split('\r\n');
  const statusLine = STATUS_LINE.exec(lines[0]!);
  if (!statusLine) throw new Http1FramingError(`not an HTTP/1.x status line: ${JSON.stringify(lines[0]!.slice(0, 80))}`);
  const headers = new Map<string, string>();
  let contentLength: string | undefined;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) throw new Http1FramingError(`malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!FIELD_VALUE.test(value)) throw new Http1FramingError(`control character in header ${name}`);
    const key = name.toLowerCase();
    if (key === 'content-length') {
      for (const each of value.split(',').map((v) => v.trim())) {
        if (!/^\d{1,15}$/.test(each)) throw new Http1FramingError(`invalid Content-Length: ${JSON.stringify(value.slice(0, 40))}`);
        if (contentLength !== undefined && Number(each) !== Number(contentLength)) throw new Http1FramingError('two different Content-Length values');
        contentLength = each;
      }
      headers.set(key, String(Number(contentLength)));
      continue;
    }
    headers.set(key, value);
  }
  return { head: { status: Number(statusLine[1]), headers }, bodyStart: end + 4 };
}

export type BodyFraming = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

/** How the body of a response to a GET ends (RFC 9112 §6.3). */
export function bodyFramingOf(head: ResponseHead): BodyFraming {
  if (head.status === 204 || head.status === 304 || head.status < 200) return { kind: 'none' };
  const transferEncoding = head.headers.get('transfer-encoding');
  if (transferEncoding !== undefined) {
    if (head.headers.has('content-length')) throw new Http1FramingError('both Transfer-Encoding and Content-Length');
    if (transferEncoding.toLowerCase() !== 'chunked') throw new Http1FramingError(`unsupported Transfer-Encoding: ${JSON.stringify(transferEncoding.slice(0, 40))}`);
    return { kind: 'chunked' };
  }
  const length = head.headers.get('content-length');
  if (length !== undefined) return { kind: 'length', length: Number(length) };
  return { kind: 'close' };
}

type ChunkState = 'size' | 'data' | 'data-end' | 'trailer' | 'done';

/** Longest chunk-size line (with extensions) and trailer section accepted. */
const MAX_CHUNK_LINE = 1024;
const MAX_TRAILERS = 16 * 1024;

/**
 * A response body's bytes out of the connection's bytes. `feed` hands the body's bytes in `input` to `onBody` (views
 * of it) and answers whether the body is complete; bytes after its end are ignored (the connection is closed after
 * each response). `end` says whether the connection's end is a proper end of the body.
 */
export class BodyDecoder {
  private remaining = 0;
  private chunkState: ChunkState = 'size';
  /** A chunk-size line or trailer section not yet whole (copied: the input is not ours to keep). */
  private line = '';
  private trailerBytes = 0;
  private complete: boolean;

  constructor(
    private readonly framing: BodyFraming,
    private readonly onBody: (bytes: Buffer) => void,
  ) {
    this.complete = framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0);
    if (framing.kind === 'length') this.remaining = framing.length;
  }

  get done(): boolean {
    return this.complete;
  }

  feed(input: Buffer): boolean {
    if (this.complete || input.length === 0) return this.complete;
    switch (this.framing.kind) {
      case 'close':
        this.onBody(input);
        return false;
      case 'length': {
        const take = Math.min(this.remaining, input.length);
        this.remaining -= take;
        this.onBody(take === input.length ? input : input.subarray(0, take));
        this.complete = this.remaining === 0;
        return this.complete;
      }
      case 'chunked':
        this.feedChunked(input);
        return this.complete;
      default:
        return this.complete;
    }
  }

  /** The connection ended: refused unless the body was whole (a close-delimited body ends here). */
  end(): void {
    if (this.framing.kind === 'close') this.complete = true;
    if (!this.complete) throw new Http1FramingError('the connection closed before the end of the body');
  }

  private feedChunked(input: Buffer): void {
    let at = 0;
    while (at < input.length && !this.complete) {
      if (this.chunkState === 'data') {
        const take = Math.min(this.remaining, input.length - at);
        this.onBody(input.subarray(at, at + take));
        at += take;
        this.remaining -= take;
        if (this.remaining === 0) this.chunkState = 'data-end';
        continue;
      }
      const eol = input.indexOf(0x0a, at);
      const upTo = eol < 0 ? input.length : eol + 1;
      this.line += input.toString('latin1', at, upTo);
      at = upTo;
      if (eol < 0) {
        if (this.line.length > (this.chunkState === 'trailer' ? MAX_TRAILERS : MAX_CHUNK_LINE)) throw new Http1FramingError('chunk-size line or trailer too long');
        return;
      }
      if (!this.line.endsWith('\r\n')) throw new Http1FramingError('bare LF in chunked framing');
      const line = this.line.slice(0, -2);
      this.line = '';
      this.endOfLine(line);
    }
  }

  private endOfLine(line: string): void {
    switch (this.chunkState) {
      case 'size': {
        if (line.length > MAX_CHUNK_LINE) throw new Http1FramingError('chunk-size line too long');
        const size = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;.*)?$/.exec(line);
        if (!size) throw new Http1FramingError(`malformed chunk size: ${JSON.stringify(line.slice(0, 40))}`);
        this.remaining = parseInt(size[1]!, 16);
        this.chunkState = this.remaining === 0 ? 'trailer' : 'data';
        return;
      }
      case 'data-end':
        if (line !== '') throw new Http1FramingError('chunk data longer than its size');
        this.chunkState = 'size';
        return;
      case 'trailer':
        this.trailerBytes += line.length + 2;
        if (this.trailerBytes > MAX_TRAILERS) throw new Http1FramingError('trailer section too long');
        if (line === '') {
          this.chunkState = 'done';
          this.complete = true;
        }
        return;
      default:
        return;
    }
  }
}
