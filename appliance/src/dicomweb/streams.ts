import { createReadStream } from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { createGzip, createGunzip } from 'node:zlib';

/** Small stream helpers. Everything here is bounded: one chunk per stage, or a fixed read-ahead. */

const FILE_CHUNK = 256 * 1024;

/** Bytes of a file, or of [start, start+length) of it. The file is opened only when the bytes are first read. */
export async function* fileChunks(path: string, start?: number, length?: number): AsyncGenerator<Buffer> {
  if (length === 0) return;
  const end = start !== undefined && length !== undefined ? start + length - 1 : undefined;
  yield* createReadStream(path, { start, end, highWaterMark: FILE_CHUNK }) as AsyncIterable<Buffer>;
}

/**
 * A web ReadableStream over an async iterable, read only on demand (highWaterMark 0), whose cancellation — the
 * client went away — returns the iterator, so its `finally` blocks release the upstream at once.
 */
export function toWebStream(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await iterator.next();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (err) {
          controller.error(err);
        }
      },
      async cancel() {
        await iterator.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}

export interface MeterResult {
  bytes: number;
  /** The body was sent to its end (false: the client left, or the upstream failed midway). */
  completed: boolean;
  error?: unknown;
}

/** Counts the bytes that pass and reports once, however the stream ends. */
export async function* metered(source: AsyncIterable<Uint8Array>, onDone: (r: MeterResult) => void): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  let completed = false;
  let error: unknown;
  try {
    for await (const chunk of source) {
      bytes += chunk.byteLength; // handed to the transport
      yield chunk;
    }
    completed = true;
  } catch (err) {
    error = err;
    throw err;
  } finally {
    onDone({ bytes, completed, error });
  }
}

/**
 * gzip in Node's thread pool (level 1 for images: most of the gain, a fraction of the CPU). A reader that stops
 * early ends the source too (pipeline destroys every stage), so the upstream behind it is released at once.
 */
export function gzipChunks(source: AsyncIterable<Uint8Array>, level = 6): AsyncIterable<Buffer> {
  const gzip = createGzip({ level });
  pipeline(source instanceof Readable ? source : Readable.from(source, { objectMode: false }), gzip, () => undefined);
  return gzip;
}

export function gunzipChunks(source: AsyncIterable<Uint8Array> | Buffer): AsyncIterable<Buffer> {
  const input = Buffer.isBuffer(source) ? Readable.from([source]) : Readable.from(source, { objectMode: false });
  return input.pipe(createGunzip());
}

/** A JSON array written item by item, batched into chunks of about 64 KiB. */
export async function* jsonArrayChunks(items: AsyncIterable<unknown>): AsyncGenerator<Buffer> {
  let pending = '[';
  let first = true;
  for await (const item of items) {
    pending += (first ? '' : ',') + JSON.stringify(item);
    first = false;
    if (pending.length >= 64 * 1024) {
      yield Buffer.from(pending, 'utf8');
      pending = '';
    }
  }
  yield Buffer.from(pending + ']', 'utf8');
}

/** Reads a whole (small, bounded) stream; refuses beyond `maxBytes`. */
export async function collect(source: AsyncIterable<Uint8Array>, maxBytes: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of source) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new Error(`${what} larger than ${maxBytes} bytes`);
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return Buffer.concat(chunks, total);
}

/** An unbounded hand-off queue between a producer callback (DIMSE onInstance) and an async consumer. */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: { resolve: () => void } | undefined;
  private closed = false;
  private failure: { error: unknown } | undefined;

  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    this.wake();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  fail(error: unknown): void {
    this.failure ??= { error };
    this.closed = true;
    this.wake();
  }

  /** Items pushed and not yet taken (for cleanup when the consumer leaves). */
  drain(): T[] {
    return this.items.splice(0);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.failure) throw this.failure.error;
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.waiter = { resolve }));
    }
  }
}

/**
 * Reads ahead of the consumer, up to `maxBytes` buffered: the upstream keeps streaming while the client's socket
 * drains, instead of both waiting on each other chunk by chunk. Memory per response is bounded by `maxBytes`.
 */
export async function* readAhead(source: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  const queue: Uint8Array[] = [];
  let buffered = 0;
  let ended = false;
  let failure: { error: unknown } | undefined;
  let stopped = false;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  const pump = (async () => {
    try {
      while (!stopped) {
        if (buffered >= maxBytes) {
          await new Promise<void>((resolve) => (wakeProducer = resolve));
          continue;
        }
        const { done, value } = await iterator.next();
        if (done) break;
        queue.push(value);
        buffered += value.byteLength;
        wakeConsumer?.();
      }
    } catch (err) {
      failure = { error: err };
    } finally {
      ended = true;
      wakeConsumer?.();
      // The consumer left: close the source once its pending read is over (an abort signal usually ends it).
      if (stopped) await iterator.return?.().catch(() => undefined);
    }
  })();
  try {
    for (;;) {
      const chunk = queue.shift();
      if (chunk) {
        buffered -= chunk.byteLength;
        const w = wakeProducer;
        wakeProducer = undefined;
        w?.();
        yield chunk;
        continue;
      }
      if (failure) throw failure.error;
      if (ended) return;
      await new Promise<void>((resolve) => (wakeConsumer = resolve));
      wakeConsumer = undefined;
    }
  } finally {
    // Not awaited: the pump may be waiting on the source, which the caller's abort ends.
    stopped = true;
    const w = wakeProducer;
    wakeProducer = undefined;
    w?.();
    void pump;
  }
}
