import { describe, expect, it } from 'vitest';
import { BodyDecoder, bodyFramingOf, Http1FramingError, parseResponseHead, type BodyFraming } from '../../appliance/src/dicomweb/http1-framing.js';

/** The response framing of the own HTTP/1.1 reader (RFC 9112): what it refuses, and chunked bodies split anywhere. */

const head = (text: string) => parseResponseHead(Buffer.from(text, 'latin1'), 64 * 1024);

function decode(framing: BodyFraming, wire: Buffer, size: number): { body: string; done: boolean } {
  const out: Buffer[] = [];
  const decoder = new BodyDecoder(framing, (bytes) => out.push(Buffer.from(bytes)));
  let done = false;
  for (let i = 0; i < wire.length && !done; i += size) done = decoder.feed(wire.subarray(i, i + size));
  return { body: Buffer.concat(out).toString('latin1'), done };
}

describe('response head', () => {
  it('waits for the blank line, then gives the status, the fields lower-cased and where the body starts', () => {
    expect(head('HTTP/1.1 200 OK\r\nContent-Type: a/b\r\n')).toBe('more');
    const text = 'HTTP/1.1 200 OK\r\nContent-Type:  a/b \r\nX-Empty:\r\nContent-Length: 3, 3\r\n\r\nabc';
    const parsed = head(text);
    expect(parsed).toMatchObject({ head: { status: 200 }, bodyStart: text.length - 3 });
    if (parsed === 'more') throw new Error('unreachable');
    expect([...parsed.head.headers]).toEqual([
      ['content-type', 'a/b'],
      ['x-empty', ''],
      ['content-length', '3'],
    ]);
    expect(head('HTTP/1.0 404\r\n\r\n')).toMatchObject({ head: { status: 404 } });
  });

  it('refuses what a conforming server never sends', () => {
    for (const text of [
      'HTTP/2 200 OK\r\n\r\n',
      'HTTP/1.1 20 OK\r\n\r\n',
      'ICY 200 OK\r\n\r\n',
      'HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n',
      'HTTP/1.1 200 OK\r\nNo colon\r\n\r\n',
      'HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n',
      'HTTP/1.1 200 OK\r\nX-A: a\u0000b\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n',
    ]) {
      expect(() => head(text), JSON.stringify(text)).toThrow(Http1FramingError);
    }
    expect(() => parseResponseHead(Buffer.from(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(100)}`), 64)).toThrow(/longer than 64/);
    expect(() => parseResponseHead(Buffer.from(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(100)}\r\n\r\n`), 64)).toThrow(/longer than 64/);
  });

  it('frames a body by Transfer-Encoding chunked, Content-Length, or the connection close; none for 204 and 304', () => {
    const framing = (text: string) => {
      const parsed = head(text);
      if (parsed === 'more') throw new Error('incomplete head');
      return bodyFramingOf(parsed.head);
    };
    expect(framing('HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n')).toEqual({ kind: 'chunked' });
    expect(framing('HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n')).toEqual({ kind: 'length', length: 12 });
    expect(framing('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n')).toEqual({ kind: 'close' });
    expect(framing('HTTP/1.1 204 No Content\r\n\r\n')).toEqual({ kind: 'none' });
    expect(() => framing('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n')).toThrow(/both/);
    expect(() => framing('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n')).toThrow(/unsupported/);
  });
});

describe('body decoder', () => {
  const chunked = Buffer.from('4;name=value\r\nabcd\r\nA\r\n0123456789\r\n1\r\n\r\r\n0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\nIGNORED', 'latin1');

  it('undoes chunked coding split at every byte, and stops at the end of the trailers', () => {
    for (const size of [1, 2, 3, 5, 16, chunked.length]) {
      expect(decode({ kind: 'chunked' }, chunked, size), `pieces of ${size}`).toEqual({ body: 'abcd0123456789\r', done: true });
    }
  });

  it('refuses malformed chunked coding, and a body that ends early', () => {
    for (const wire of ['g\r\nabc', '4\r\nabcdE\r\n0\r\n\r\n', '4\nabcd\r\n', `${'1'.repeat(13)}\r\n`, `4;${'x'.repeat(2000)}`]) {
      expect(() => decode({ kind: 'chunked' }, Buffer.from(wire), 3), JSON.stringify(wire.slice(0, 20))).toThrow(Http1FramingError);
    }
    const cut = new BodyDecoder({ kind: 'chunked' }, () => undefined);
    cut.feed(Buffer.from('4\r\nab'));
    expect(() => cut.end()).toThrow(/before the end of the body/);
    const short = new BodyDecoder({ kind: 'length', length: 10 }, () => undefined);
    short.feed(Buffer.from('abc'));
    expect(() => short.end()).toThrow(/before the end of the body/);
  });

  it('takes exactly Content-Length bytes, and everything until the close when there is no length', () => {
    expect(decode({ kind: 'length', length: 5 }, Buffer.from('helloEXTRA'), 3)).toEqual({ body: 'hello', done: true });
    expect(decode({ kind: 'close' }, Buffer.from('all of it'), 2)).toEqual({ body: 'all of it', done: false });
    const closed = new BodyDecoder({ kind: 'close' }, () => undefined);
    closed.end();
    expect(closed.done).toBe(true);
    expect(new BodyDecoder({ kind: 'none' }, () => undefined).done).toBe(true);
  });
});
