import type { ServerResponse } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import type { MeterResult } from './streams.js';
import { takeGiveBack } from './lent-chunks.js';

/**
 * Writes a streamed answer straight to the Node response of @hono/node-server (`c.env.outgoing`), without the
 * web ReadableStream round trip: each chunk goes to the socket as it comes, the next one is asked for only while
 * the socket takes more (a slow client slows the upstream). The client going away ends the source (its `finally`
 * blocks release the upstream); a failing source cuts the response, so the client sees it incomplete.
 */
export async function writeToNodeResponse(res: ServerResponse, status: number, headers: Record<string, string>, source: AsyncIterable<Uint8Array>): Promise<void> {
  const iterator = source[Symbol.asyncIterator]();
  let gone = false;
  let wake: (() => void) | undefined;
  const onClose = () => {
    gone = !res.writableFinished;
    wake?.();
  };
  const onDrain = () => wake?.();
  res.on('close', onClose);
  res.on('drain', onDrain);
  try {
    res.writeHead(status, headers);
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      if (gone) {
        await iterator.return?.();
        return;
      }
      const giveBack = takeGiveBack(next.value);
      const sent = giveBack && ((err?: Error | null) => (err ? undefined : giveBack()));
      if (!res.write(next.value, sent) && !gone) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      if (gone) {
        await iterator.return?.();
        return;
      }
    }
    res.end();
  } catch (err) {
    // Headers are out: the only way left to say "failed" is to cut the connection.
    res.destroy(err instanceof Error ? err : new Error(String(err)));
  } finally {
    res.off('close', onClose);
    res.off('drain', onDrain);
  }
}

/**
 * A Node stream answer piped to the Node response (no promise per chunk). Same contract as writeToNodeResponse:
 * the client going away destroys the source; a failing source cuts the response. `onEnd` is told once, with the
 * bytes handed to the socket and whether the whole body went.
 */
export function pipeToNodeResponse(res: ServerResponse, status: number, headers: Record<string, string>, source: Readable, onEnd: (result: MeterResult) => void): void {
  let bytes = 0;
  source.on('data', (chunk: Buffer) => (bytes += chunk.length));
  res.writeHead(status, headers);
  pipeline(source, res, (err) => onEnd({ bytes, completed: !err, error: err ?? undefined }));
}

/**
 * A Node stream of lent chunks (lent-chunks.ts: the relay's pooled blocks and held reads) written to the Node response
 * by its events, without a promise per chunk: each lent chunk goes back once the socket has taken it. The source is
 * paused while the socket is full. Same contract as pipeToNodeResponse.
 */
export function pipeLentToNodeResponse(res: ServerResponse, status: number, headers: Record<string, string>, source: Readable, onEnd: (result: MeterResult) => void): void {
  let bytes = 0;
  let ended = false;
  const end = (completed: boolean, error?: unknown) => {
    if (ended) return;
    ended = true;
    res.off('drain', onDrain);
    onEnd({ bytes, completed, error });
  };
  const onDrain = () => source.resume();
  res.on('drain', onDrain);
  res.once('close', () => {
    if (res.writableFinished) return end(true);
    source.destroy();
    end(false);
  });
  source.on('data', (chunk: Uint8Array) => {
    bytes += chunk.byteLength;
    const giveBack = takeGiveBack(chunk);
    if (!res.write(chunk, giveBack && ((err?: Error | null) => (err ? undefined : giveBack())))) source.pause();
  });
  source.once('end', () => res.end());
  source.once('error', (err) => {
    // Headers are out: the only way left to say "failed" is to cut the connection.
    end(false, err);
    res.destroy(err);
  });
  res.writeHead(status, headers);
}
