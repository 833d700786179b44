import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { BlockPool } from '../io/block-pool.js';
import { ReadBlocks } from '../io/read-blocks.js';
import { BodyDecoder, bodyFramingOf, FIELD_VALUE, parseResponseHead, type ResponseHead } from './http1-framing.js';
import { TOKEN } from './media-type.js';
import { Http1Error, idleGuardedBody, type Http1GetOptions } from './http1-get.js';

/**
 * An HTTP/1.1 GET (plain, or over TLS) whose body is handed on as the socket reads it, read into pooled blocks
 * (`onread`): no Buffer allocated per read, and reads as large as a block (Node's own are 64 KiB, each a new Buffer for
 * the collector, and its HTTP parser copies the body once more). A chunk is valid during its 'data' event only, unless
 * its reader holds it (`hold()`, io/read-blocks.ts): the multipart relay queues what it holds for its client, the
 * consumer's pull what it holds for the disk (consumer/source-transport.ts), without copying it.
 * The box's CPU per 685 MB study relayed (test/bench/wado-bench.ts, development machine): 1.4–1.9 s with Node's
 * reads, about 0.45 s with the relay copying out of one reused buffer, a median 0.37 s with it holding the reads
 * (0.46 s copying, in the same 10 alternated runs). One connection per request (Connection: close).
 */

/** Blocks the answers are read into unless the caller gives its own: 512 KiB (a read), up to 4 MiB kept free. */
const readBlockPool = new BlockPool(512 * 1024, 8);

export interface Http1TransientGetOptions extends Http1GetOptions {
  /** For an https: URL: the TLS options (CA, client certificate or secure context); the server name is the URL's host. */
  tls?: ConnectionOptions;
  /** The pool the body is read into (default: one of 512 KiB blocks, 8 kept free). */
  pool?: BlockPool;
}

/**
 * The body: 'data' (a chunk, valid during the event only unless held), then 'end' or 'error', then 'close'. It
 * starts paused: nothing is read past the head until the first `resume()`. A failure before anyone listens is told
 * again at the next `resume()`, never thrown.
 */
export class TransientBody extends EventEmitter {
  private paused = true;
  /** Body bytes read with the head, held (copied) until the first resume. */
  private pending: Buffer | undefined;
  private finished = false;
  private failure: Error | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly decoder: BodyDecoder,
    private readonly blocks: ReadBlocks,
  ) {
    super();
    this.on('error', () => undefined);
  }

  /** Whether the whole body was read. */
  get complete(): boolean {
    return this.decoder.done && this.finished;
  }

  pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  isPaused(): boolean {
    return this.paused;
  }

  /** Whether the connection is gone (ended, failed or destroyed). */
  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  resume(): void {
    if (this.failure) {
      const failure = this.failure;
      process.nextTick(() => this.emit('error', failure));
      return;
    }
    this.paused = false;
    const pending = this.pending;
    this.pending = undefined;
    if (pending) this.input(pending);
    if (!this.paused && !this.finished) this.socket.resume();
  }

  destroy(error?: Error): void {
    this.socket.destroy(error);
  }

  /**
   * Keeps the chunk of the current 'data' event valid past it (call during the event): its memory is not read into
   * again until the returned release is called. A chunk held is never changed.
   */
  hold(): () => void {
    return this.blocks.hold();
  }

  /** @internal the connection's bytes after the head, read with it. */
  keepPending(bytes: Buffer): void {
    this.pending = Buffer.from(bytes);
  }

  /** @internal the connection's bytes after the head; answers whether to go on reading. */
  input(bytes: Buffer): boolean {
    if (this.finished) return false;
    try {
      if (this.decoder.feed(bytes)) this.finish();
    } catch (err) {
      this.fail(err);
    }
    return !this.paused && !this.finished;
  }

  /** @internal the connection ended or closed. */
  connectionEnded(): void {
    if (this.finished) return;
    try {
      this.decoder.end();
      this.finish();
    } catch (err) {
      this.fail(err);
    }
  }

  /** @internal */
  fail(err: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = err instanceof Http1Error ? err : new Http1Error(`the body was cut (${(err as Error).message})`, { cause: err });
    this.emit('error', this.failure);
    this.socket.destroy();
  }

  private finish(): void {
    this.finished = true;
    this.emit('end');
    this.socket.destroy();
  }
}

export interface Http1TransientAnswer {
  status: number;
  headers: Map<string, string>;
  /** The body copied chunk by chunk, for a caller that reads it at its pace: use either it or `stream`. */
  body: AsyncIterableIterator<Uint8Array>;
  stream: TransientBody;
}

function requestHead(url: URL, headers: Record<string, string>): string {
  let head = `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) throw new Http1Error(`request header ${JSON.stringify(name)} is not a valid HTTP field`);
    if (['host', 'connection', 'content-length', 'transfer-encoding'].includes(name.toLowerCase())) continue;
    head += `${name}: ${value}\r\n`;
  }
  return head + 'Connection: close\r\n\r\n';
}

/** GET `url` (http:, or https: with `options.tls`). Resolves once the head is read; the body then waits for its reader. */
export function http1TransientGet(url: URL, options: Http1TransientGetOptions): Promise<Http1TransientAnswer> {
  const secure = url.protocol === 'https:';
  if (url.protocol !== 'http:' && !(secure && options.tls)) return Promise.reject(new Http1Error(`${url.protocol} is not plain HTTP, nor HTTPS with TLS options`));
  const { signal } = options;
  if (signal.aborted) return Promise.reject(signal.reason);
  const maxHeadBytes = options.maxHeadBytes ?? 64 * 1024;
  let request: string;
  try {
    request = requestHead(url, options.headers);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise<Http1TransientAnswer>((resolve, reject) => {
    const blocks = new ReadBlocks(options.pool ?? readBlockPool);
    let head: Buffer = Buffer.alloc(0);
    let body: TransientBody | undefined;
    const failed = (err: unknown) => (signal.aborted ? signal.reason : err instanceof Http1Error ? err : new Http1Error(`GET ${url.pathname}: ${(err as Error).message}`, { cause: err }));
    const onAbort = () => socket.destroy(signal.reason instanceof Error ? signal.reason : new Http1Error('aborted', { cause: signal.reason }));
    const onHead = (parsed: { head: ResponseHead; bodyStart: number }, bytes: Buffer) => {
      body = new TransientBody(socket, new BodyDecoder(bodyFramingOf(parsed.head), (chunk) => body!.emit('data', chunk)), blocks);
      if (bytes.length > parsed.bodyStart) body.keepPending(bytes.subarray(parsed.bodyStart));
      const transient = body;
      resolve({ status: parsed.head.status, headers: parsed.head.headers, body: idleGuardedBody(copiesOf(transient), () => transient.complete, options, url), stream: transient });
    };
    /** The head's bytes, then the body's; answers whether to go on reading. */
    const onBytes = (bytes: Buffer): boolean => {
      if (body) return body.input(bytes);
      head = head.length ? Buffer.concat([head, bytes]) : Buffer.from(bytes);
      for (;;) {
        const parsed = parseResponseHead(head, maxHeadBytes);
        if (parsed === 'more') return true;
        // An interim answer (1xx) is skipped: the real one follows.
        if (parsed.head.status < 200) {
          head = head.subarray(parsed.bodyStart);
          continue;
        }
        onHead(parsed, head);
        socket.pause();
        return false;
      }
    };
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const onread = {
      buffer: () => blocks.next(),
      callback: (bytes: number, block: Uint8Array) => {
        blocks.read(bytes);
        try {
          return onBytes(Buffer.from(block.buffer, block.byteOffset, bytes));
        } catch (err) {
          socket.destroy(err as Error);
          return false;
        }
      },
    };
    // Over TLS each read is one record (16 KiB at most), decrypted into the block: tls.connect takes net.Socket's
    // `onread` (nodejs/node#35753, "tls: allow reading data into a static buffer"); @types/node's ConnectionOptions lacks it.
    const socket: Socket = secure
      ? tlsConnect({ ...options.tls, host, port: Number(url.port || 443), onread } as ConnectionOptions)
      : connect({ host, port: Number(url.port || 80), onread });
    signal.addEventListener('abort', onAbort, { once: true });
    socket.setNoDelay(true);
    socket.write(request);
    socket.once('end', () => (body ? body.connectionEnded() : socket.destroy(new Http1Error('the server closed the connection before its answer'))));
    socket.on('error', (err) => (body ? body.fail(failed(err)) : reject(failed(err))));
    socket.once('close', () => {
      signal.removeEventListener('abort', onAbort);
      blocks.close();
      if (!body) reject(failed(new Http1Error('the connection closed before the answer')));
      else {
        body.connectionEnded();
        body.emit('close');
      }
    });
  });
}

/**
 * The body as a Node stream of copies, for a caller that reads it at its pace (an error answer's first bytes, an answer
 * dropped unread). It listens to the body only once read: a caller that takes `stream` instead has it to itself.
 */
function copiesOf(body: TransientBody): Readable {
  let listening = false;
  const copies: Readable = new Readable({
    read() {
      if (!listening) {
        listening = true;
        body.on('data', (chunk: Buffer) => copies.push(Buffer.from(chunk)) || body.pause());
        body.once('end', () => copies.push(null));
        body.once('error', (err: Error) => copies.destroy(err));
      }
      body.resume();
    },
    destroy(err, callback) {
      body.destroy();
      callback(err);
    },
  });
  return copies;
}
