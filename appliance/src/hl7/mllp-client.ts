import { connect } from 'node:net';
import { DEFAULT_MAX_FRAME_BYTES, frameMllp, MllpDecoder } from './mllp-framing.js';

export interface SendMllpOptions {
  /** Bound on connecting, and on each acknowledgment after its message is sent. */
  timeoutMs?: number;
  maxFrameBytes?: number;
}

/**
 * Sends one message in an MLLP frame and resolves with the content of the first frame answered
 * (the ACK), then closes the connection. Rejects with the peer and the cause on refusal, timeout,
 * or a connection closed before an answer.
 */
export async function sendMllp(host: string, port: number, message: Buffer, options: SendMllpOptions = {}): Promise<Buffer> {
  const connection = await openMllp(host, port, options);
  try {
    return await connection.send(message);
  } finally {
    connection.close();
  }
}

export interface MllpConnection {
  /** Sends one message and resolves with its acknowledgment; one exchange at a time, as a RIS does. */
  send(message: Buffer): Promise<Buffer>;
  close(): void;
}

/**
 * One connection kept open for many messages, each sent after the previous one's ACK (what a RIS does).
 * A send rejects on timeout or when the peer closes; the connection is then unusable.
 */
export function openMllp(host: string, port: number, options: SendMllpOptions = {}): Promise<MllpConnection> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const peer = `${host}:${port}`;
  return new Promise<MllpConnection>((resolveOpen, rejectOpen) => {
    const decoder = new MllpDecoder(maxFrameBytes);
    const socket = connect({ host, port, noDelay: true });
    let waiting: { resolve: (ack: Buffer) => void; reject: (err: Error) => void; timer: NodeJS.Timeout } | undefined;
    let failure: Error | undefined;
    const settle = (err: Error | undefined, ack?: Buffer) => {
      const w = waiting;
      waiting = undefined;
      if (!w) return;
      clearTimeout(w.timer);
      if (err) w.reject(err);
      else w.resolve(ack!);
    };
    const fail = (err: Error) => {
      failure ??= err;
      socket.destroy();
      settle(err);
    };
    socket.on('data', (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) {
        if (event.kind === 'message') settle(undefined, event.payload);
        else if (event.kind === 'oversize') fail(new Error(`the answer from ${peer} exceeds ${maxFrameBytes} bytes`));
      }
    });
    const connectTimer = setTimeout(() => socket.destroy(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (err) => {
      rejectOpen(new Error(`MLLP exchange with ${peer} failed: ${err.message}`));
      fail(new Error(`MLLP exchange with ${peer} failed: ${err.message}`));
    });
    socket.on('close', () => {
      clearTimeout(connectTimer);
      rejectOpen(new Error(`${peer} closed the connection`));
      fail(new Error(`${peer} closed the connection${waiting ? ' without acknowledging the message' : ''}`));
    });
    socket.on('connect', () => {
      clearTimeout(connectTimer);
      resolveOpen({
        send: (message) =>
          new Promise<Buffer>((resolve, reject) => {
            if (failure) return reject(failure);
            if (waiting) return reject(new Error(`a message to ${peer} is still waiting for its acknowledgment`));
            const timer = setTimeout(() => fail(new Error(`no acknowledgment from ${peer} within ${timeoutMs} ms`)), timeoutMs);
            waiting = { resolve, reject, timer };
            socket.write(frameMllp(message));
          }),
        close: () => {
          failure ??= new Error(`the connection to ${peer} was closed`);
          socket.destroy();
        },
      });
    });
  });
}
