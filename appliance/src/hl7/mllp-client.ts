import { connect } from 'node:net';
import { DEFAULT_MAX_FRAME_BYTES, frameMllp, MllpDecoder } from './mllp-framing.js';

export interface SendMllpOptions {
  /** Whole exchange: connect, send, receive the acknowledgment. */
  timeoutMs?: number;
  maxFrameBytes?: number;
}

/**
 * Sends one message in an MLLP frame and resolves with the content of the first frame answered
 * (the ACK), then closes the connection. Rejects with the peer and the cause on refusal, timeout,
 * or a connection closed before an answer.
 */
export function sendMllp(host: string, port: number, message: Buffer, options: SendMllpOptions = {}): Promise<Buffer> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const peer = `${host}:${port}`;
  return new Promise<Buffer>((resolve, reject) => {
    const decoder = new MllpDecoder(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    let settled = false;
    const socket = connect({ host, port, noDelay: true });
    const finish = (err: Error | undefined, ack?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(ack!);
    };
    const timer = setTimeout(() => finish(new Error(`no acknowledgment from ${peer} within ${timeoutMs} ms`)), timeoutMs);
    socket.setNoDelay(true);
    socket.on('connect', () => socket.write(frameMllp(message)));
    socket.on('data', (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) {
        if (event.kind === 'message') return finish(undefined, event.payload);
        if (event.kind === 'oversize') return finish(new Error(`the answer from ${peer} exceeds ${options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES} bytes`));
      }
    });
    socket.on('error', (err) => finish(new Error(`MLLP exchange with ${peer} failed: ${err.message}`)));
    socket.on('close', () => finish(new Error(`${peer} closed the connection without acknowledging the message`)));
  });
}
