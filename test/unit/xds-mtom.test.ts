import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildMtom, cidFromHref, MimeError, parseContentType, readAll, readMultipart } from '../../appliance/src/xds/mtom.js';

async function* chunked(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function collect(body: Buffer, boundary: string, size: number) {
  const out: { headers: Record<string, string>; contentId?: string; body: Buffer }[] = [];
  for await (const part of readMultipart(chunked(body, size), boundary)) {
    out.push({ headers: part.headers, ...(part.contentId ? { contentId: part.contentId } : {}), body: await readAll(part.body, 1 << 30, 'part') });
  }
  return out;
}

describe('MTOM writer', () => {
  const kos = randomBytes(20_000);
  const soap = '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body/></soap:Envelope>';
  const msg = buildMtom(soap, [{ contentId: 'doc1.x@drimbox', contentType: 'application/octet-stream', body: kos }], 'urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b');

  it('announces type, start, start-info and action on the multipart Content-Type', () => {
    const ct = parseContentType(msg.contentType);
    expect(ct.type).toBe('multipart/related');
    expect(ct.params).toEqual({
      boundary: msg.boundary,
      type: 'application/xop+xml',
      start: `<${msg.rootContentId}>`,
      'start-info': 'application/soap+xml',
      action: 'urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b',
    });
    expect(msg.length).toBe(Buffer.concat(msg.chunks).length);
  });

  it('writes the SOAP root as application/xop+xml and the document as its own binary part, CRLF', async () => {
    const body = Buffer.concat(msg.chunks);
    expect(body.toString('latin1').startsWith(`--${msg.boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"\r\n`)).toBe(true);
    expect(body.toString('latin1').endsWith(`\r\n--${msg.boundary}--\r\n`)).toBe(true);
    for (const size of [1, 7, 4096, body.length]) {
      const parts = await collect(body, msg.boundary, size);
      expect(parts.map((p) => p.contentId)).toEqual([msg.rootContentId, 'doc1.x@drimbox']);
      expect(parts[0]!.body.toString()).toBe(soap);
      expect(parts[1]!.body.equals(kos)).toBe(true);
      expect(parts[1]!.headers['content-transfer-encoding']).toBe('binary');
    }
  });
});

describe('multipart reader', () => {
  it('reads bare-LF bodies and base64 parts (the Java demonstrator\'s style)', async () => {
    const payload = randomBytes(3000);
    const b64 = payload.toString('base64').replace(/.{76}/g, '$&\n');
    const body = Buffer.from(`--B\nContent-ID: <a>\n\n<x/>\n--B\nContent-Transfer-Encoding: BASE64\nContent-ID: <b>\n\n${b64}\n--B--\n`);
    for (const size of [1, 13, body.length]) {
      const parts = await collect(body, 'B', size);
      expect(parts[0]!.body.toString()).toBe('<x/>');
      expect(parts[1]!.body.equals(payload)).toBe(true);
    }
  });

  it('skips the preamble, tolerates transport padding, folds continued headers', async () => {
    const body = Buffer.from('preamble --B not a delimiter\r\n--B  \r\nContent-Type: a/b;\r\n x=1\r\n\r\nbody\r\n--B--');
    const [part] = await collect(body, 'B', 5);
    expect(part!.headers['content-type']).toBe('a/b; x=1');
    expect(part!.body.toString()).toBe('body');
  });

  it('refuses a truncated body, a missing boundary, oversized headers, unknown encodings', async () => {
    await expect(collect(Buffer.from('--B\r\n\r\nabc'), 'B', 2)).rejects.toThrow(/closing delimiter missing/);
    await expect(collect(Buffer.from('no boundary here'), 'B', 3)).rejects.toThrow(/not found/);
    await expect(collect(Buffer.from(`--B\r\nX: ${'a'.repeat(20_000)}\r\n\r\nx\r\n--B--`), 'B', 1000)).rejects.toThrow(/headers larger/);
    await expect(collect(Buffer.from('--B\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nx\r\n--B--'), 'B', 10)).rejects.toThrow(MimeError);
  });

  it('parses Content-Type parameters with quoted strings and decodes cid: hrefs', () => {
    expect(parseContentType('multipart/related; boundary="a;b=c"; type="application/xop+xml"').params).toEqual({ boundary: 'a;b=c', type: 'application/xop+xml' });
    expect(() => parseContentType('not a type')).toThrow(MimeError);
    expect(cidFromHref('cid:doc1.x%40drimbox')).toBe('doc1.x@drimbox');
    expect(() => cidFromHref('http://evil/x')).toThrow(/not a cid/);
  });
});
