import { createServer, type Server, type Socket } from 'node:net';
import { PerAddressLimit } from '../io/per-address-limit.js';
import { log as rootLog, type Logger } from '../log/logger.js';
import { buildAck } from './ack.js';
import { hl7ErrorCodes, isAckable } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES, frameMllp, MllpDecoder, type MllpEvent } from './mllp-framing.js';

export interface MllpMeta {
  remoteAddress: string;
  remotePort: number;
  /** Increments per accepted connection, for correlating log lines. */
  connectionId: number;
}

/**
 * Called once per received message, in order per connection. Resolves with the ACK bytes to send
 * (the caller persists the message before building an AA). A rejection becomes a NACK: an Hl7Error
 * keeps its AE/AR code, location and text; anything else is AR 207 (resend later).
 */
export type MllpHandler = (raw: Buffer, meta: MllpMeta) => Promise<Buffer>;

export interface MllpServerOptions {
  port: number;
  host?: string;
  handler: MllpHandler;
  /** Largest frame accepted; bigger ones get an AE NACK and are never buffered whole. */
  maxFrameBytes?: number;
  /** A frame started and silent this long is abandoned (logged as truncated). */
  frameTimeoutMs?: number;
  /** A handler slower than this gets its message NACKed AR (the sender resends; duplicates are the caller's to detect). */
  handlerTimeoutMs?: number;
  /** Idle connections are closed after this long; 0 keeps them (RIS usually hold one connection open). */
  idleTimeoutMs?: number;
  /** Connections beyond this are refused at accept (default 256). */
  maxConnections?: number;
  /** Connections from one address beyond this are closed at once (default 8): one host cannot lock the RIS out. */
  maxConnectionsPerAddress?: number;
  /** Addresses allowed to connect (the RIS); undefined: any. Others are closed before a byte is read. */
  allowedAddresses?: { has(address: string): boolean; readonly empty: boolean };
  logger?: Logger;
}

export interface MllpStats {
  connectionsOpen: number;
  connectionsTotal: number;
  /** Complete frames received. */
  messages: number;
  /** Answers produced by the handler (AA, or an AE/AR it chose to build). */
  acksSent: number;
  /** NACKs the server built itself: handler failure or timeout, oversize frame. */
  nacksSent: number;
  garbageBytes: number;
  truncatedFrames: number;
  oversizeFrames: number;
  handlerFailures: number;
  socketErrors: number;
  /** Connections closed at accept: address not allowed, or too many from one address. */
  connectionsRefused: number;
  /** The configured caps, for health. */
  maxConnections: number;
}

export interface MllpServer {
  readonly host: string;
  readonly port: number;
  stats(): MllpStats;
  /** Stops accepting, lets in-flight messages be answered for up to graceMs, then closes every connection. */
  close(graceMs?: number): Promise<void>;
}

/** Frames a connection may have queued before the box stops reading from it. */
const MAX_QUEUED_FRAMES = 16;

export async function startMllpServer(options: MllpServerOptions): Promise<MllpServer> {
  const host = options.host ?? '0.0.0.0';
  const logger = (options.logger ?? rootLog).child({ component: 'mllp-server' });
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const frameTimeoutMs = options.frameTimeoutMs ?? 60_000;
  const handlerTimeoutMs = options.handlerTimeoutMs ?? 60_000;
  const stats: MllpStats = {
    connectionsOpen: 0,
    connectionsTotal: 0,
    messages: 0,
    acksSent: 0,
    nacksSent: 0,
    garbageBytes: 0,
    truncatedFrames: 0,
    oversizeFrames: 0,
    handlerFailures: 0,
    socketErrors: 0,
    connectionsRefused: 0,
    maxConnections: options.maxConnections ?? 256,
  };
  const connections = new Map<Socket, { idle: () => Promise<void> }>();
  const perAddress = new PerAddressLimit(options.maxConnectionsPerAddress ?? 8);

  const server: Server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    const address = socket.remoteAddress ?? '?';
    if (options.allowedAddresses && !options.allowedAddresses.empty && !options.allowedAddresses.has(address)) {
      stats.connectionsRefused++;
      logger.warn('connection refused: address not in ris.allowedAddresses', { peer: address });
      socket.destroy();
      return;
    }
    if (!perAddress.admit(socket)) {
      stats.connectionsRefused++;
      logger.warn('connection refused: too many connections from one address', { peer: address, maxConnectionsPerAddress: perAddress.max });
      socket.destroy();
      return;
    }
    const meta: MllpMeta = { remoteAddress: socket.remoteAddress ?? '?', remotePort: socket.remotePort ?? 0, connectionId: ++stats.connectionsTotal };
    stats.connectionsOpen++;
    const connLog = logger.child({ peer: `${meta.remoteAddress}:${meta.remotePort}`, connection: meta.connectionId });
    connLog.debug('connection opened');
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    if (options.idleTimeoutMs) socket.setTimeout(options.idleTimeoutMs, () => socket.end());

    const decoder = new MllpDecoder(maxFrameBytes);
    let chain: Promise<void> = Promise.resolve();
    let queued = 0;
    let frameTimer: NodeJS.Timeout | undefined;

    const send = (bytes: Buffer, accepted: boolean) => {
      if (socket.destroyed || !socket.writable) {
        connLog.warn('connection gone before its acknowledgment could be sent', { accepted });
        return;
      }
      socket.write(frameMllp(bytes));
      if (accepted) stats.acksSent++;
      else stats.nacksSent++;
    };

    const enqueue = (work: () => Promise<void>) => {
      queued++;
      if (queued >= MAX_QUEUED_FRAMES) socket.pause();
      chain = chain
        .then(work)
        .catch((err: unknown) => connLog.error('unexpected failure answering a message', { err }))
        .finally(() => {
          queued--;
          if (queued < MAX_QUEUED_FRAMES && socket.isPaused() && !socket.destroyed) socket.resume();
        });
    };

    const onEvent = (event: MllpEvent) => {
      switch (event.kind) {
        case 'message':
          stats.messages++;
          enqueue(async () => {
            const { ack, accepted } = await answer(event.payload, meta, options.handler, handlerTimeoutMs, connLog, stats);
            send(ack, accepted);
          });
          break;
        case 'oversize':
          stats.oversizeFrames++;
          connLog.warn('frame over the size limit dropped', { bytes: event.bytes, maxFrameBytes });
          enqueue(async () => {
            send(safeNack(event.head, 'AE', `message of ${event.bytes} bytes exceeds the box's limit of ${maxFrameBytes} bytes`, hl7ErrorCodes.applicationInternalError), false);
          });
          break;
        case 'garbage':
          stats.garbageBytes += event.bytes;
          connLog.warn('bytes outside MLLP frames discarded', { bytes: event.bytes });
          break;
        case 'truncated':
          stats.truncatedFrames++;
          connLog.warn('incomplete MLLP frame discarded (no end block)', { bytes: event.bytes });
          break;
      }
    };

    const armFrameTimer = () => {
      if (frameTimer) clearTimeout(frameTimer);
      frameTimer = undefined;
      if (!decoder.pending) return;
      frameTimer = setTimeout(() => {
        connLog.warn('MLLP frame not completed in time', { frameTimeoutMs });
        decoder.end().forEach(onEvent);
      }, frameTimeoutMs);
      frameTimer.unref();
    };

    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk).forEach(onEvent);
      armFrameTimer();
    });
    socket.on('end', () => {
      decoder.end().forEach(onEvent);
      armFrameTimer();
      // The peer half-closed: answer what it sent, then close our side.
      void chain.then(() => socket.end());
    });
    socket.on('error', (err) => {
      stats.socketErrors++;
      connLog.warn('connection error', { err });
    });
    socket.on('close', () => {
      if (frameTimer) clearTimeout(frameTimer);
      stats.connectionsOpen--;
      connections.delete(socket);
      connLog.debug('connection closed');
    });
    connections.set(socket, { idle: () => chain });
  });

  server.maxConnections = stats.maxConnections;
  server.on('drop', (data) => logger.warn('connection refused: too many open connections', { peer: data?.remoteAddress, maxConnections: server.maxConnections }));
  server.on('error', (err) => logger.error('listener error', { err }));

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(new Error(`MLLP listener could not start on ${host}:${options.port}: ${err.message}`));
    server.once('error', onError);
    server.listen(options.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  logger.info('MLLP listener started', { host, port, maxFrameBytes });

  return {
    host,
    port,
    stats: () => ({ ...stats }),
    async close(graceMs = 5_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const drained = Promise.all([...connections.values()].map((c) => c.idle()));
      await Promise.race([drained, new Promise((r) => setTimeout(r, graceMs).unref())]);
      for (const socket of connections.keys()) socket.destroy();
      await closed;
      logger.info('MLLP listener stopped', { port });
    },
  };
}

async function answer(payload: Buffer, meta: MllpMeta, handler: MllpHandler, timeoutMs: number, logger: Logger, stats: MllpStats): Promise<{ ack: Buffer; accepted: boolean }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the box did not process the message within ${timeoutMs} ms`)), timeoutMs);
    });
    const ack = await Promise.race([Promise.resolve().then(() => handler(payload, meta)), timeout]);
    if (!Buffer.isBuffer(ack) || ack.length === 0) throw new Error('the message handler returned no acknowledgment');
    return { ack, accepted: true };
  } catch (err) {
    stats.handlerFailures++;
    if (isAckable(err)) {
      logger.info('message refused', { ackCode: err.ackCode, location: err.location, reason: err.text });
      return { ack: safeNack(payload, err.ackCode, err.text, err.hl7ErrorCode, err.location), accepted: false };
    }
    logger.error('message handler failed', { err });
    return {
      ack: safeNack(payload, 'AR', 'the DRIMbox could not take the message (internal error): resend later; details are in the box log', hl7ErrorCodes.applicationInternalError),
      accepted: false,
    };
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** A NACK is always produced, even for bytes buildAck cannot read anything from. */
function safeNack(payload: Buffer, code: 'AE' | 'AR', text: string, hl7ErrorCode: string, location?: string): Buffer {
  try {
    return buildAck(payload, code, { text, hl7ErrorCode, location });
  } catch {
    return buildAck(Buffer.alloc(0), code, { text, hl7ErrorCode });
  }
}
