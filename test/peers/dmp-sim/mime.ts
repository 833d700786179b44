import { randomUUID } from 'node:crypto';

/** A Content-Type header split into its media type and parameters (RFC 2045 §5.1). */
export interface MediaType {
  type: string;
  params: Record<string, string>;
}

export class MimeError extends Error {}

export function parseMediaType(header: string | undefined, what: string): MediaType {
  if (!header) throw new MimeError(`${what}: Content-Type is missing`);
  const m = /^\s*([A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+)\s*/.exec(header);
  if (!m) throw new MimeError(`${what}: Content-Type "${header}" has no type/subtype`);
  const params: Record<string, string> = {};
  let rest = header.slice(m[0].length);
  while (rest.length > 0) {
    const p = /^;\s*([A-Za-z0-9!#$&^_.+-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^;\s"]+)\s*/.exec(rest);
    if (!p) {
      if (/^;\s*$/.test(rest)) break;
      throw new MimeError(`${what}: cannot parse Content-Type parameters near "${rest.slice(0, 40)}"`);
    }
    const name = p[1]!.toLowerCase();
    if (name in params) throw new MimeError(`${what}: Content-Type parameter "${name}" appears twice`);
    params[name] = p[3] !== undefined ? p[3].replace(/\\(.)/g, '$1') : p[2]!;
    rest = rest.slice(p[0].length);
  }
  return { type: m[1]!.toLowerCase(), params };
}

export interface MimePart {
  headers: Record<string, string>;
  contentId?: string;
  mediaType: MediaType;
  body: Buffer;
}

export interface Multipart {
  parts: MimePart[];
  /** True when some line ends were a bare LF instead of CRLF (tolerated, reported as a warning). */
  bareLf: boolean;
}

/**
 * Splits a multipart body (RFC 2046 §5.1). Delimiters must start a line; preamble and epilogue are
 * ignored; the close delimiter is required. Bare LF line ends are accepted because the DMP test
 * platform accepted them from the ANS demonstrator (ans-reference-drimbox.md §3.3).
 */
export function parseMultipart(body: Buffer, boundary: string, what: string): Multipart {
  if (!boundary || boundary.length > 70) throw new MimeError(`${what}: multipart boundary is missing or longer than 70 characters`);
  const delimiter = Buffer.from(`--${boundary}`);
  const positions: number[] = [];
  for (let at = body.indexOf(delimiter); at !== -1; at = body.indexOf(delimiter, at + delimiter.length)) {
    if (at === 0 || body[at - 1] === 0x0a) positions.push(at);
  }
  if (positions.length === 0) throw new MimeError(`${what}: no part delimiter "--${boundary}" at the start of a line`);
  const parts: MimePart[] = [];
  let bareLf = false;
  let closed = false;
  for (let i = 0; i < positions.length; i++) {
    const start = positions[i]! + delimiter.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) {
      closed = true;
      break;
    }
    const lineEnd = body.indexOf(0x0a, start);
    if (lineEnd === -1) throw new MimeError(`${what}: truncated after a part delimiter`);
    if (!/^[ \t]*\r?$/.test(body.subarray(start, lineEnd).toString('latin1'))) {
      throw new MimeError(`${what}: unexpected text after the part delimiter`);
    }
    const next = positions[i + 1];
    if (next === undefined) throw new MimeError(`${what}: the closing delimiter "--${boundary}--" is missing`);
    // The CRLF (or LF) before the next delimiter belongs to the delimiter, not to the part.
    let end = next - 1;
    if (end > 0 && body[end - 1] === 0x0d) end -= 1;
    else bareLf = true;
    const raw = body.subarray(lineEnd + 1, Math.max(lineEnd + 1, end));
    const part = parsePart(raw, `${what}, part ${parts.length + 1}`);
    bareLf ||= part.bareLf;
    parts.push(part.part);
  }
  if (!closed) throw new MimeError(`${what}: the closing delimiter "--${boundary}--" is missing`);
  return { parts, bareLf };
}

function parsePart(raw: Buffer, what: string): { part: MimePart; bareLf: boolean } {
  let headerEnd = raw.indexOf('\r\n\r\n');
  let sepLength = 4;
  const lfOnly = raw.indexOf('\n\n');
  if (lfOnly !== -1 && (headerEnd === -1 || lfOnly < headerEnd)) {
    headerEnd = lfOnly;
    sepLength = 2;
  }
  if (headerEnd === -1) throw new MimeError(`${what}: no blank line between headers and content`);
  const headerText = raw.subarray(0, headerEnd).toString('latin1');
  const headers: Record<string, string> = {};
  for (const line of headerText.split(/\r?\n/)) {
    const m = /^([A-Za-z0-9-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!m) throw new MimeError(`${what}: malformed header line "${line.slice(0, 60)}"`);
    const name = m[1]!.toLowerCase();
    if (name in headers) throw new MimeError(`${what}: header ${m[1]} appears twice`);
    headers[name] = m[2]!;
  }
  let body = raw.subarray(headerEnd + sepLength);
  const encoding = (headers['content-transfer-encoding'] ?? 'binary').toLowerCase();
  if (encoding === 'base64') {
    const textBody = body.toString('latin1').replace(/[\r\n\t ]/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(textBody) || textBody.length % 4 !== 0) throw new MimeError(`${what}: content is not valid base64`);
    body = Buffer.from(textBody, 'base64');
  } else if (!['binary', '8bit', '7bit'].includes(encoding)) {
    throw new MimeError(`${what}: unsupported Content-Transfer-Encoding "${encoding}"`);
  }
  const mediaType = parseMediaType(headers['content-type'] ?? 'application/octet-stream', what);
  const rawId = headers['content-id'];
  let contentId: string | undefined;
  if (rawId !== undefined) {
    const m = /^<([^<>\s]+)>$/.exec(rawId);
    if (!m) throw new MimeError(`${what}: Content-ID "${rawId}" must be <id>`);
    contentId = m[1]!;
  }
  return { part: { headers, contentId, mediaType, body }, bareLf: sepLength === 2 || /(^|[^\r])\n/.test(headerText) };
}

/** Resolves an xop:Include href (RFC 2392 cid: URL, percent-encoded) to a Content-ID. */
export function cidFromHref(href: string): string | undefined {
  const m = /^cid:(.+)$/.exec(href);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
}

export interface OutgoingPart {
  contentId: string;
  contentType: string;
  body: Buffer;
}

/** Builds an MTOM/XOP message: the SOAP envelope as root part, binary attachments after it. */
export function buildMtom(envelope: string, action: string, attachments: OutgoingPart[]): { contentType: string; body: Buffer } {
  const boundary = `MIMEBoundary_${randomUUID().replace(/-/g, '')}`;
  const rootId = `root.${randomUUID()}@dmp-sim`;
  const chunks: Buffer[] = [];
  const head = (headers: string[]) => Buffer.from(`--${boundary}\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1');
  chunks.push(head([
    `Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"; action="${action}"`,
    'Content-Transfer-Encoding: binary',
    `Content-ID: <${rootId}>`,
  ]));
  chunks.push(Buffer.from(envelope, 'utf8'), Buffer.from('\r\n'));
  for (const a of attachments) {
    chunks.push(head([`Content-Type: ${a.contentType}`, 'Content-Transfer-Encoding: binary', `Content-ID: <${a.contentId}>`]));
    chunks.push(a.body, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  const contentType = `multipart/related; boundary="${boundary}"; type="application/xop+xml"; start="<${rootId}>"; start-info="application/soap+xml"; action="${action}"`;
  return { contentType, body: Buffer.concat(chunks) };
}
