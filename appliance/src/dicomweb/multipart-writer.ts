import { randomBytes } from 'node:crypto';
import { formatMediaType } from './media-type.js';

/**
 * multipart/related bodies (RFC 2387, PS3.18 §8.7.3.5) written as a pull-driven stream: a part's bytes are read
 * from its source only when the socket asks for more, so a slow client slows the upstream, never fills memory.
 */

export interface OutgoingPart {
  contentType: string;
  contentLength?: number;
  contentLocation?: string;
  body: AsyncIterable<Uint8Array> | Uint8Array;
}

/**
 * A fresh boundary per response: 128 random bits, so no DICOM payload can contain it by accident (a fixed boundary
 * did, in DICOM-RST#59). Letters and digits only: no quoting needed, no client confused.
 */
export function newBoundary(): string {
  return `drimbox${randomBytes(16).toString('hex')}`;
}

/** `multipart/related; type="<part type>"; …; boundary=…` with `type` quoted (PS3.18 §8.7.3.5, 2016 correction). */
export function multipartContentType(partType: string, boundary: string, extra: Record<string, string | undefined> = {}): string {
  return formatMediaType('multipart/related', { type: partType, ...extra, boundary });
}

/** The delimiter and header block that open a part (the first part has no CRLF before its delimiter). */
export function partHeader(part: Omit<OutgoingPart, 'body'>, boundary: string, first: boolean): Buffer {
  let head = `${first ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${part.contentType}\r\n`;
  if (part.contentLength !== undefined) head += `Content-Length: ${part.contentLength}\r\n`;
  if (part.contentLocation !== undefined) head += `Content-Location: ${part.contentLocation}\r\n`;
  return Buffer.from(head + '\r\n', 'latin1');
}

/** The body of a multipart/related response, part after part; an empty sequence gives a valid empty body. */
export async function* multipartBody(parts: AsyncIterable<OutgoingPart> | Iterable<OutgoingPart>, boundary: string): AsyncGenerator<Uint8Array> {
  let first = true;
  for await (const part of parts) {
    yield partHeader(part, boundary, first);
    first = false;
    if (part.body instanceof Uint8Array) {
      if (part.body.byteLength) yield part.body;
    } else {
      for await (const chunk of part.body) if (chunk.byteLength) yield chunk;
    }
  }
  yield closeDelimiter(boundary, first);
}

/** The close delimiter that ends a body (`empty`: no part came before it). */
export function closeDelimiter(boundary: string, empty: boolean): Buffer {
  return Buffer.from(`${empty ? '' : '\r\n'}--${boundary}--\r\n`, 'latin1');
}
