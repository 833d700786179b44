import { describe, expect, it } from 'vitest';
import { MimeError, buildMtom, cidFromHref, parseMediaType, parseMultipart } from '../peers/dmp-sim/mime.js';

describe('DMP simulator MIME reading', () => {
  it('parses Content-Type parameters, quoted or not, and refuses a repeated one', () => {
    const m = parseMediaType('Multipart/Related;boundary="MIMEBoundary_Bound";type="application/xop+xml";start="<0.1>";start-info="application/soap+xml"', 't');
    expect(m.type).toBe('multipart/related');
    expect(m.params).toEqual({ boundary: 'MIMEBoundary_Bound', type: 'application/xop+xml', start: '<0.1>', 'start-info': 'application/soap+xml' });
    expect(() => parseMediaType('text/xml; charset=utf-8; charset=latin1', 't')).toThrow(/appears twice/);
    expect(() => parseMediaType(undefined, 't')).toThrow(MimeError);
  });

  it('splits an MTOM message and round-trips binary attachments byte for byte', () => {
    const binary = Buffer.from([0, 13, 10, 45, 45, 255, 13, 10]);
    const m = buildMtom('<e/>', 'urn:a', [{ contentId: 'doc@x', contentType: 'application/dicom', body: binary }]);
    const boundary = parseMediaType(m.contentType, 't').params.boundary!;
    const parsed = parseMultipart(m.body, boundary, 't');
    expect(parsed.bareLf).toBe(false);
    expect(parsed.parts.map((p) => p.contentId)).toEqual([expect.stringMatching(/^root\./), 'doc@x']);
    expect(parsed.parts[0]!.body.toString()).toBe('<e/>');
    expect(parsed.parts[1]!.body.equals(binary)).toBe(true);
  });

  it('decodes a base64 part, flags bare LF line ends, ignores a delimiter not at a line start', () => {
    const body = Buffer.from('--B\nContent-ID: <a>\nContent-Transfer-Encoding: BASE64\n\nAAEC\n--B\nContent-ID: <b>\n\nx --B y\n--B--\n');
    const parsed = parseMultipart(body, 'B', 't');
    expect(parsed.bareLf).toBe(true);
    expect(parsed.parts[0]!.body).toEqual(Buffer.from([0, 1, 2]));
    expect(parsed.parts[1]!.body.toString()).toBe('x --B y');
  });

  it('refuses a message without its closing delimiter, or with malformed part headers', () => {
    expect(() => parseMultipart(Buffer.from('--B\r\nContent-ID: <a>\r\n\r\nx\r\n'), 'B', 't')).toThrow(/closing delimiter/);
    expect(() => parseMultipart(Buffer.from('--B\r\nno colon here\r\n\r\nx\r\n--B--'), 'B', 't')).toThrow(/malformed header/);
    expect(() => parseMultipart(Buffer.from('--B\r\nContent-ID: a\r\n\r\nx\r\n--B--'), 'B', 't')).toThrow(/must be <id>/);
  });

  it('resolves cid: hrefs, percent-decoded', () => {
    expect(cidFromHref('cid:0.2')).toBe('0.2');
    expect(cidFromHref('cid:doc%40x')).toBe('doc@x');
    expect(cidFromHref('http://x/doc')).toBeUndefined();
  });
});
