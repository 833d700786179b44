import { Agent, request, type AgentOptions, type RequestOptions } from 'node:https';
import type { SecureContext } from 'node:tls';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * HTTPS to the DMP: client certificate (the structure's ORG AUTH_CLI), server checked against the configured CA
 * bundle only, TLS 1.2 minimum, bounded connect and inactivity times, bodies streamed both ways.
 */

/**
 * The client key in memory (PKCS#12 or PEM), or a ready secure context that already holds the CAs and a key on a
 * PKCS#11 token (auth/pkcs11/tls-key.ts: OpenSSL's engine loads once per process, so the context is made once).
 */
export type TlsClientCredential = { pfx: Buffer; passphrase: string } | { key: string; cert: string } | { secureContext: SecureContext };

export interface TlsClientOptions {
  /** PEM bundle of the CAs the DMP server certificate must chain to (nothing else is trusted). */
  ca: string | Buffer;
  credential: TlsClientCredential;
}

export interface HttpTimeouts {
  /** TCP + TLS handshake. */
  connectMs: number;
  /** Longest silence while sending, waiting for the answer or reading it. */
  idleMs: number;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  contentType: string;
  /** The raw body stream; iterate it once. */
  body: IncomingMessage;
}

export class TransportError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

export interface PoolLimits {
  /** Connections open at once to the DMP (the outbox's concurrency should not exceed it). */
  maxSockets?: number;
  /** An idle kept-alive connection is closed after this long. */
  idleMs?: number;
  /**
   * A connection is not reused once this old: the next request does a new handshake, so the DMP sees the current
   * client certificate and checks it again, and no session outlives a renewal or a revocation by more than this.
   */
  maxAgeMs?: number;
}

export const DEFAULT_POOL = { maxSockets: 4, idleMs: 30_000, maxAgeMs: 10 * 60_000 } as const;

/**
 * Keep-alive pool: one mTLS handshake serves many requests (a handshake costs several times the CPU of a
 * submission's two signatures), within a bounded number of connections, each reused for a bounded time only.
 */
class BoundedAgent extends Agent {
  private readonly bornAt = new WeakMap<Duplex, number>();

  constructor(
    options: AgentOptions,
    private readonly maxAgeMs: number,
  ) {
    super(options);
  }

  override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const socket = super.createConnection(options, callback);
    if (socket) this.bornAt.set(socket, Date.now());
    return socket;
  }

  /** Returning false makes the agent close the connection instead of pooling it (Node's documented contract). */
  override keepSocketAlive(socket: Duplex): boolean {
    const born = this.bornAt.get(socket);
    if (born === undefined || Date.now() - born >= this.maxAgeMs) return false;
    const kept: unknown = super.keepSocketAlive(socket);
    return kept !== false;
  }
}

export function createDmpAgent(tls: TlsClientOptions, limits: PoolLimits = {}): Agent {
  const pool = { ...DEFAULT_POOL, ...limits };
  return new BoundedAgent(
    {
      keepAlive: true,
      maxSockets: pool.maxSockets,
      maxFreeSockets: pool.maxSockets,
      timeout: pool.idleMs,
      ...('secureContext' in tls.credential ? {} : { ca: tls.ca }),
      ...tls.credential,
      minVersion: 'TLSv1.2',
      rejectUnauthorized: true,
    },
    pool.maxAgeMs,
  );
}

export interface PostInput {
  url: string;
  contentType: string;
  chunks: Buffer[];
  length: number;
  headers?: Record<string, string>;
}

export function post(input: PostInput, agent: Agent, timeouts: HttpTimeouts): Promise<HttpAnswer> {
  const url = new URL(input.url);
  if (url.protocol !== 'https:') return Promise.reject(new TransportError(`refusing ${url.protocol} for the DMP: HTTPS only`, 'EPROTO'));
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      agent,
      headers: { 'Content-Type': input.contentType, 'Content-Length': String(input.length), Accept: 'multipart/related, application/soap+xml', ...input.headers },
    });
    let connectTimer: NodeJS.Timeout | undefined;
    const fail = (err: Error) => {
      clearTimeout(connectTimer);
      req.destroy(err);
    };
    req.setTimeout(timeouts.idleMs, () => fail(new TransportError(`no activity from ${url.host} for ${timeouts.idleMs} ms`, 'ETIMEDOUT')));
    req.on('socket', (socket) => {
      if (!socket.connecting) return;
      connectTimer = setTimeout(() => fail(new TransportError(`could not connect to ${url.host} within ${timeouts.connectMs} ms`, 'ECONNECT_TIMEOUT')), timeouts.connectMs);
      socket.once('secureConnect', () => clearTimeout(connectTimer));
      socket.setNoDelay(true);
    });
    req.on('error', (err) => {
      clearTimeout(connectTimer);
      reject(err);
    });
    req.on('response', (res) => {
      clearTimeout(connectTimer);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, contentType: res.headers['content-type'] ?? '', body: res });
    });
    writeChunks(req, input.chunks).catch(fail);
  });
}

async function writeChunks(req: ReturnType<typeof request>, chunks: Buffer[]): Promise<void> {
  for (const chunk of chunks) {
    if (!req.write(chunk)) await new Promise<void>((resolve, reject) => {
      const onDrain = () => { req.off('error', onError); resolve(); };
      const onError = (e: Error) => { req.off('drain', onDrain); reject(e); };
      req.once('drain', onDrain);
      req.once('error', onError);
    });
  }
  req.end();
}
