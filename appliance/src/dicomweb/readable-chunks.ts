import { takeGiveBack } from './lent-chunks.js';

/** What emits a body's chunks as a Readable does: a Readable, or a body read into pooled blocks (http1-transient-get.ts). */
export interface ChunkEmitter {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  once(event: 'end' | 'close', listener: () => void): unknown;
  once(event: 'error', listener: (err: Error) => void): unknown;
  pause(): unknown;
  resume(): unknown;
  destroy(error?: Error): unknown;
}

/** What is read here: a chunk emitter that says whether it is paused or gone. */
export interface ChunkSource extends ChunkEmitter {
  isPaused(): boolean;
  readonly destroyed: boolean;
}

/**
 * A Readable's chunks one by one, as it emitted them. Node's own async iterator returns `read()`, which joins
 * whatever is buffered into a new Buffer: a copy of most of a download whenever the reader is slower than the
 * network. Pull-driven, with a bounded read-ahead: the stream is paused while `maxQueuedBytes` wait unread.
 * Leaving early (`return`) destroys the stream unless it has ended. `keep`: what is queued of a chunk, called as it
 * is emitted (a source whose chunks are valid during their event only lends them: lent-chunks.ts); chunks lent and
 * still queued when the reader leaves are given back.
 */
export function readableChunks<T extends Uint8Array = Buffer>(stream: ChunkSource, maxQueuedBytes = 256 * 1024, keep: (chunk: Buffer) => T = (chunk) => chunk as unknown as T): AsyncIterableIterator<T> {
  const queue: T[] = [];
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
    queue.push(keep(chunk));
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
  const iterator: AsyncIterableIterator<T> = {
    async next(): Promise<IteratorResult<T>> {
      for (;;) {
        const chunk = queue.shift();
        if (chunk) {
          queued -= chunk.length;
          if (queued < maxQueuedBytes && stream.isPaused() && !stream.destroyed) stream.resume();
          return { value: chunk, done: false };
        }
        if (failure !== undefined) throw failure;
        if (ended) return { value: undefined, done: true };
        // A source that starts paused (a transient body) flows from the first read on.
        if (stream.isPaused() && !stream.destroyed) stream.resume();
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    async return(): Promise<IteratorResult<T>> {
      if (!ended) stream.destroy();
      for (const chunk of queue.splice(0)) takeGiveBack(chunk)?.();
      queued = 0;
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
