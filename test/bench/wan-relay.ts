import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A WAN on loopback: a TCP relay whose each direction is one shared link of `bitsPerSecond` (a token bucket: a chunk
 * leaves when the link has carried the ones before it) plus `delayMs` of propagation. A sender is paused while more
 * than a bandwidth-delay product of its bytes waits, on the link or unread at the far end, so TCP flow control works
 * through the relay as on a real path, both ways: a receiver that stops reading stops its sender. (Not counting what
 * the far end left unread, the relay read on into memory: a connection the consumer had opened ahead and did not read
 * yet took half the link from the one it was reading.)
 */

export interface WanOptions {
  bitsPerSecond: number;
  delayMs: number;
}

class Link {
  /** When the link is free to start serialising the next chunk (ms, performance.now clock). */
  private freeAt = 0;
  bytes = 0;

  constructor(private readonly options: WanOptions) {}

  /** The time the last byte of a chunk of `n` bytes sent now reaches the far end. */
  schedule(n: number): number {
    const now = performance.now();
    const start = Math.max(now, this.freeAt);
    this.freeAt = start + (n * 8 * 1000) / this.options.bitsPerSecond;
    this.bytes += n;
    return this.freeAt + this.options.delayMs;
  }
}

function pipeThrough(from: Socket, to: Socket, link: Link, options: WanOptions): void {
  const maxQueued = Math.max(64 * 1024, (options.bitsPerSecond / 8) * ((2 * options.delayMs) / 1000));
  const flows = () => queued + to.writableLength <= maxQueued;
  // In order: one timer for the head of the queue (timers of different lengths may fire out of order).
  const queue: { chunk: Buffer | null; at: number }[] = [];
  let queued = 0;
  let timer: NodeJS.Timeout | undefined;
  const deliver = () => {
    timer = undefined;
    while (queue.length && queue[0]!.at <= performance.now()) {
      const { chunk } = queue.shift()!;
      if (chunk === null) {
        to.end();
        continue;
      }
      queued -= chunk.length;
      if (!to.destroyed) to.write(chunk);
    }
    if (flows() && from.isPaused()) from.resume();
    if (queue.length) timer = setTimeout(deliver, Math.max(1, Math.ceil(queue[0]!.at - performance.now())));
  };
  const push = (chunk: Buffer | null) => {
    queue.push({ chunk, at: link.schedule(chunk?.length ?? 0) });
    timer ??= setTimeout(deliver, Math.max(1, Math.ceil(queue[0]!.at - performance.now())));
  };
  from.on('data', (chunk: Buffer) => {
    queued += chunk.length;
    if (!flows()) from.pause();
    push(chunk);
  });
  to.on('drain', () => {
    if (flows() && from.isPaused()) from.resume();
  });
  // The end of the stream travels behind the last chunk.
  from.on('end', () => push(null));
}

export interface WanRelay {
  port: number;
  /** Bytes carried towards the client (the answers) and towards the target (the requests). */
  downBytes(): number;
  upBytes(): number;
  stop(): Promise<void>;
}

export async function startWanRelay(targetPort: number, options: WanOptions): Promise<WanRelay> {
  const down = new Link(options);
  const up = new Link(options);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    // Half-open: a target's FIN is read in turn, behind the data a paused socket still holds, not acted on at once.
    const target = connect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true });
    sockets.add(client).add(target);
    client.setNoDelay(true);
    target.setNoDelay(true);
    pipeThrough(client, target, up, options);
    pipeThrough(target, client, down, options);
    const close = () => {
      client.destroy();
      target.destroy();
      sockets.delete(client);
      sockets.delete(target);
    };
    client.on('close', close).on('error', close);
    // A target that ends its answer and closes (Connection: close) is a FIN: it travels behind the data still on the
    // link, which pipeThrough delivers before ending the client. Only a target lost midway cuts the client at once.
    let targetEnded = false;
    target.once('end', () => (targetEnded = true));
    target.on('close', () => targetEnded || close()).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    downBytes: () => down.bytes,
    upBytes: () => up.bytes,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
