import { randomUUID } from 'node:crypto';

/**
 * MTOM/XOP over multipart/related (W3C SOAP MTOM, XOP; RFC 2387, RFC 2046): the writer the box sends with, and a
 * streaming reader for answers (a part's body is handed over chunk by chunk, never the whole message at once).
 */

export class MimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MimeError';
  }
}

export interface ContentType {
  /** Lower-cased type/subtype. */
  type: string;
  /** Parameters, names lower-cased, values unquoted. */
  params: Record<string, string>;
}

/** RFC 2045 Content-Type with quoted-string parameter values. */
export function parseContentType(value: string): ContentType {
  const m = /^\s*([^\s;/]+\/[^\s;]+)\s*/.exec(value);
  if (!m) throw new MimeError(`invalid Content-Type "${value.slice(0, 100)}"`);
  const params: Record<string, string> = {};
  let rest = value.slice(m[0].length);
  while (rest.length > 0) {
    const p = /^;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;]*))\s*/.exec(rest);
    if (!p) {
      if (/^;\s*$/.test(rest)) break;
      throw new MimeError(`invalid Content-Type parameters "${rest.slice(0, 100)}"`);
    }
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
    rest = rest.slice(p[0].length);
  }
  return { type: m[1]!.toLowerCase(), params };
}

export interface MtomAttachment {
  /** Content-ID without angle brackets; the XML refers to it as cid:<id>. */
  contentId: string;
  contentType: string;
  body: Buffer;
}

export interface MtomMessage {
  /** HTTP Content-Type, with type, start, start-info and action. */
  contentType: string;
  /** The body in pieces (no copy of the documents); `length` is their total byte count. */
  chunks: Buffer[];
  length: number;
  boundary: string;
  rootContentId: string;
}

/** Serialises a SOAP 1.2 envelope and its attachments as an MTOM/XOP package, CRLF line ends, binary parts. */
export function buildMtom(soapXml: string, attachments: MtomAttachment[], action: string): MtomMessage {
  const root = Buffer.from(soapXml, 'utf8');
  let boundary = '';
  do {
    boundary = `MIMEBoundary_${randomUUID().replace(/-/g, '')}`;
  } while ([root, ...attachments.map((a) => a.body)].some((b) => b.includes(`--${boundary}`)));
  const rootContentId = `root.${randomUUID()}@drimbox`;
  const chunks: Buffer[] = [];
  const head = (contentType: string, id: string) =>
    Buffer.from(`--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <${id}>\r\n\r\n`, 'ascii');
  chunks.push(head('application/xop+xml; charset=UTF-8; type="application/soap+xml"', rootContentId), root, Buffer.from('\r\n'));
  for (const a of attachments) {
    chunks.push(head(a.contentType, a.contentId), a.body, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'ascii'));
  const contentType =
    `multipart/related; boundary="${boundary}"; type="application/xop+xml"; start="<${rootContentId}>"; ` +
    `start-info="application/soap+xml"; action="${action}"`;
  return { contentType, chunks, length: chunks.reduce((n, c) => n + c.length, 0), boundary, rootContentId };
}

export interface MimePart {
  /** Header names lower-cased. */
  headers: Record<string, string>;
  /** Content-ID without angle brackets, when present. */
  contentId?: string;
  /** The decoded body, streamed (base64 parts are decoded on the fly). Read it before asking for the next part. */
  body: AsyncIterable<Buffer>;
}

export interface MultipartLimits {
  maxParts: number;
  maxHeaderBytes: number;
}

const DEFAULT_LIMITS: MultipartLimits = { maxParts: 1000, maxHeaderBytes: 16 * 1024 };

/** Pull-based byte reader over an async chunk source. */
class Reader {
  buf: Buffer = Buffer.alloc(0);
  private done = false;
  constructor(private readonly source: AsyncIterator<Buffer>) {}

  async fill(): Promise<boolean> {
    if (this.done) return false;
    const next = await this.source.next();
    if (next.done) {
      this.done = true;
      return false;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as Uint8Array);
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    return true;
  }

  get finished(): boolean {
    return this.done;
  }
}

/**
 * Reads a multipart body part by part. Line ends are CRLF per RFC 2046; a body written with bare LF (the Java
 * demonstrator's, which the DMP accepted) is read too, the style being taken from the first delimiter line.
 */
export async function* readMultipart(
  body: AsyncIterable<Buffer>,
  boundary: string,
  limits: MultipartLimits = DEFAULT_LIMITS,
): AsyncGenerator<MimePart> {
  if (!boundary || boundary.length > 70) throw new MimeError('multipart boundary missing or longer than 70 characters');
  const reader = new Reader(body[Symbol.asyncIterator]());
  const dash = Buffer.from(`--${boundary}`);

  // Preamble: up to the first delimiter at the start of the body or of a line.
  let eol = '\r\n';
  for (let from = 0; ; ) {
    const at = reader.buf.indexOf(dash, from);
    if (at >= 0 && (at === 0 || reader.buf[at - 1] === 0x0a)) {
      reader.buf = reader.buf.subarray(at + dash.length);
      break;
    }
    if (at >= 0) {
      from = at + 1;
      continue;
    }
    if (reader.buf.length > 64 * 1024) throw new MimeError('no multipart boundary in the first 64 KiB');
    if (!(await reader.fill())) throw new MimeError(`multipart boundary "${boundary}" not found`);
  }

  let first = true;
  let parts = 0;
  for (;;) {
    // After a delimiter: "--" closes, else transport padding then a line end.
    while (reader.buf.length < 2 && (await reader.fill()));
    if (reader.buf.subarray(0, 2).toString('latin1') === '--') return;
    let lineEnd: number;
    for (;;) {
      lineEnd = reader.buf.indexOf(0x0a);
      if (lineEnd >= 0) break;
      if (reader.buf.length > 1024 || !(await reader.fill())) throw new MimeError('malformed multipart delimiter line');
    }
    const padding = reader.buf.subarray(0, lineEnd).toString('latin1');
    if (!/^[ \t]*\r?$/.test(padding)) throw new MimeError('malformed multipart delimiter line');
    if (first) {
      eol = padding.endsWith('\r') ? '\r\n' : '\n';
      first = false;
    }
    reader.buf = reader.buf.subarray(lineEnd + 1);

    if (++parts > limits.maxParts) throw new MimeError(`more than ${limits.maxParts} MIME parts`);
    const headers = await readHeaders(reader, eol, limits.maxHeaderBytes);
    const delimiter = Buffer.from(`${eol}--${boundary}`);
    const raw = partBody(reader, delimiter);
    const encoding = (headers['content-transfer-encoding'] ?? 'binary').toLowerCase();
    let decoded: AsyncIterable<Buffer>;
    if (encoding === 'base64') decoded = decodeBase64(raw);
    else if (encoding === 'binary' || encoding === '8bit' || encoding === '7bit') decoded = raw;
    else throw new MimeError(`unsupported Content-Transfer-Encoding "${encoding}"`);
    const cid = headers['content-id'];
    const part: MimePart = { headers, body: decoded, ...(cid ? { contentId: cid.trim().replace(/^<|>$/g, '') } : {}) };
    yield part;
    // Whatever the consumer left unread is skipped.
    for await (const _ of raw) void _;
  }
}

async function readHeaders(reader: Reader, eol: string, max: number): Promise<Record<string, string>> {
  const end = Buffer.from(`${eol}${eol}`);
  let at: number;
  for (;;) {
    if (reader.buf.subarray(0, eol.length).toString('latin1') === eol) {
      reader.buf = reader.buf.subarray(eol.length);
      return {};
    }
    at = reader.buf.indexOf(end);
    if (at >= 0) break;
    if (reader.buf.length > max) throw new MimeError(`MIME part headers larger than ${max} bytes`);
    if (!(await reader.fill())) throw new MimeError('MIME part headers not terminated');
  }
  const block = reader.buf.subarray(0, at).toString('utf8');
  reader.buf = reader.buf.subarray(at + end.length);
  const headers: Record<string, string> = {};
  let last: string | undefined;
  for (const line of block.split(eol)) {
    if (/^[ \t]/.test(line) && last) {
      headers[last] += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MimeError(`malformed MIME header line "${line.slice(0, 80)}"`);
    last = line.slice(0, colon).trim().toLowerCase();
    headers[last] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** Streams the bytes up to the next delimiter, keeping back a tail that could be the start of one. */
function partBody(reader: Reader, delimiter: Buffer): AsyncIterable<Buffer> {
  let finished = false;
  return {
    async *[Symbol.asyncIterator]() {
      while (!finished) {
        const at = reader.buf.indexOf(delimiter);
        if (at >= 0) {
          if (at > 0) yield reader.buf.subarray(0, at);
          reader.buf = reader.buf.subarray(at + delimiter.length);
          finished = true;
          return;
        }
        const safe = reader.buf.length - (delimiter.length - 1);
        if (safe > 0) {
          const out = reader.buf.subarray(0, safe);
          reader.buf = reader.buf.subarray(safe);
          yield out;
        }
        if (!(await reader.fill())) throw new MimeError('multipart body ended inside a part (closing delimiter missing)');
      }
    },
  };
}

async function* decodeBase64(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let carry = '';
  for await (const chunk of source) {
    const text = carry + chunk.toString('latin1').replace(/[\r\n\t ]/g, '');
    if (/[^A-Za-z0-9+/=]/.test(text)) throw new MimeError('invalid character in a base64 MIME part');
    const usable = text.length - (text.length % 4);
    carry = text.slice(usable);
    if (usable > 0) yield Buffer.from(text.slice(0, usable), 'base64');
  }
  if (carry.length > 0) throw new MimeError('truncated base64 MIME part');
}

/** Collects a stream into one buffer, refusing more than `limit` bytes. */
export async function readAll(body: AsyncIterable<Buffer>, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > limit) throw new MimeError(`${what} larger than ${limit} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks, n);
}

/** The cid: URL of an xop:Include href as a Content-ID (RFC 2392: URL-decoded, no brackets). */
export function cidFromHref(href: string): string {
  if (!/^cid:/i.test(href)) throw new MimeError(`xop:Include href "${href}" is not a cid: URL`);
  return decodeURIComponent(href.slice(4));
}
