import type { Readable } from 'node:stream';

/**
 * A Readable's chunks one by one, as it emitted them. Node's own async iterator returns `read()`, which joins
 * whatever is buffered into a new Buffer: a copy of most of a download whenever the reader is slower than the
 * network. Pull-driven, with a bounded read-ahead: the stream is paused while `maxQueuedBytes` wait unread.
 * Leaving early (`return`) destroys the stream unless it has ended.
 */
export function readableChunks(stream: Readable, maxQueuedBytes = 256 * 1024): AsyncIterableIterator<Buffer> {
  const queue: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    const waiting = wake;
    wake = undefined;
    waiting?.();
  };
  stream.on('data', (chunk: Buffer) => {
    queue.push(chunk);
    queued += chunk.length;
    if (queued >= maxQueuedBytes) stream.pause();
    notify();
  });
  stream.once('end', () => {
    ended = true;
    notify();
  });
  stream.once('error', (err) => {
    failure ??= err;
    notify();
  });
  stream.once('close', () => {
    if (!ended) failure ??= new Error('the stream closed before its end');
    notify();
  });
  const iterator: AsyncIterableIterator<Buffer> = {
    async next(): Promise<IteratorResult<Buffer>> {
      for (;;) {
        const chunk = queue.shift();
        if (chunk) {
          queued -= chunk.length;
          if (queued < maxQueuedBytes && stream.isPaused() && !stream.destroyed) stream.resume();
          return { value: chunk, done: false };
        }
        if (failure !== undefined) throw failure;
        if (ended) return { value: undefined, done: true };
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    async return(): Promise<IteratorResult<Buffer>> {
      if (!ended) stream.destroy();
      queue.length = 0;
      queued = 0;
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
