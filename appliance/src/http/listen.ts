import { readFileSync } from 'node:fs';
import { createServer as createPlainServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSecureServer } from 'node:http2';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createAdaptorServer, serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { PerAddressLimit } from '../io/per-address-limit.js';
import { CONNECTION_LIMITS, type ConnectionLimits } from './connection-bounds.js';

/**
 * The box's HTTP listener: with a certificate, HTTPS over HTTP/2 with HTTP/1.1 fallback, asking for (not
 * requiring) a client certificate when client CAs are configured — whether one is required is the access
 * policy's decision, per request — and answering a plain-HTTP request on the same port with a redirect to HTTPS
 * (a technician who types http://box:8443 lands on the right page); without a certificate, plain HTTP (the kiosk
 * on loopback, a box behind a TLS-terminating proxy, tests).
 */
export interface Listener {
  port: number;
  secure: boolean;
  /** Stops accepting and ends open connections (keep-alive and HTTP/2 sessions would hold the close forever). */
  close(): Promise<void>;
}

export interface ListenTls {
  certFile: string;
  keyFile: string;
  /** CAs of the client certificates other boxes present (mutual TLS); empty: none requested. */
  clientCaFile: string;
}

export interface ListenOptions {
  host: string;
  port: number;
  /** Empty certificate and key: plain HTTP. */
  tls: ListenTls;
  /** PEM CRLs: a client certificate they list is not verified (the access policy then sees no certificate). */
  crlFile?: string;
  /** While true (the box is stopping), every request is answered 503 and its connection closed. */
  refuse?: () => boolean;
  /** Bounds on the connections of the TLS listener (default CONNECTION_LIMITS). */
  limits?: ConnectionLimits;
}

function refusing(app: { fetch: Hono['fetch'] }, refuse: (() => boolean) | undefined): Hono['fetch'] {
  if (!refuse) return app.fetch;
  return (request, ...rest) =>
    refuse()
      ? new Response('{"error":"the box is stopping, try again in a minute"}\n', { status: 503, headers: { 'content-type': 'application/json', 'retry-after': '60', connection: 'close' } })
      : app.fetch(request, ...rest);
}

/** A connection that has not said its first byte within this long is closed (it would hold a socket for nothing). */
const FIRST_BYTE_TIMEOUT_MS = 10_000;
const TLS_HANDSHAKE_RECORD = 0x16;
/** A Host header a redirect may name: a DNS name, IPv4 or bracketed IPv6, optional port. */
const HOST_HEADER = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

function readCrls(file: string): string[] {
  const crls = readFileSync(file, 'utf8').match(/-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g) ?? [];
  if (crls.length === 0) throw new Error(`${file}: no PEM CRL found (whitelist.crlFile)`);
  return crls;
}

function redirectToHttps(req: IncomingMessage, res: ServerResponse): void {
  const host = req.headers.host ?? '';
  if (!HOST_HEADER.test(host) || !(req.url ?? '').startsWith('/')) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end('HTTPS only on this port\n');
    return;
  }
  const location = `https://${host}${req.url}`;
  res.writeHead(308, { location, 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end(`HTTPS only: ${location}\n`);
}

function trackSockets(server: Server | ServerType): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

function closer(server: Server | ServerType, sockets: Set<Socket>): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
}

async function listenPlain(app: { fetch: Hono['fetch'] }, options: ListenOptions): Promise<Listener> {
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: refusing(app, options.refuse), hostname: options.host, port: options.port }, () => resolve(s));
    s.once('error', reject);
  });
  return { port: (server.address() as AddressInfo).port, secure: false, close: closer(server, trackSockets(server)) };
}

async function listenSecure(app: { fetch: Hono['fetch'] }, options: ListenOptions): Promise<Listener> {
  const { tls } = options;
  const limits = options.limits ?? CONNECTION_LIMITS;
  const https = createAdaptorServer({
    fetch: refusing(app, options.refuse),
    createServer: createSecureServer,
    serverOptions: {
      cert: readFileSync(tls.certFile),
      key: readFileSync(tls.keyFile),
      allowHTTP1: true,
      minVersion: 'TLSv1.2' as const,
      handshakeTimeout: limits.handshakeMs,
      ...(tls.clientCaFile ? { ca: readFileSync(tls.clientCaFile), requestCert: true, rejectUnauthorized: false } : {}),
      ...(tls.clientCaFile && options.crlFile ? { crl: readCrls(options.crlFile) } : {}),
    },
  } as Parameters<typeof createAdaptorServer>[0]);
  const redirect = createPlainServer(redirectToHttps);
  // Idle connections closed: an HTTP/2 session without a frame, an HTTP/1.1 connection (over TLS, or plain to the
  // redirect) without a byte either way. Node's HTTP/1.1 header and keep-alive timeouts do not apply to the
  // connections handed to these servers.
  https.setTimeout(limits.idleMs);
  redirect.setTimeout(limits.idleMs);
  const perAddress = new PerAddressLimit(limits.perAddress);
  // One port, two protocols: a TLS ClientHello starts with a handshake record; anything else is plain HTTP.
  const front = createNetServer({ pauseOnConnect: true }, (socket) => {
    if (!perAddress.admit(socket)) {
      socket.destroy();
      return;
    }
    // Nagle off, as Node's HTTP servers have it for the sockets they accept themselves (those handed to them here
    // are not): with it on, the last small write of an HTTP/1.1 answer (a chunked body's end) waited for the
    // client's delayed ACK, about 40 ms a request (test/bench/https-latency-bench.ts).
    socket.setNoDelay(true);
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      socket.unshift(first);
      (first[0] === TLS_HANDSHAKE_RECORD ? https : redirect).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
    socket.on('error', () => socket.destroy());
    socket.resume();
  });
  // Past it, Node closes a new connection at once.
  front.maxConnections = limits.total;
  const sockets = trackSockets(front);
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(options.port, options.host, () => {
      front.off('error', reject);
      resolve();
    });
  });
  const closeFront = closer(front, sockets);
  return {
    port: (front.address() as AddressInfo).port,
    secure: true,
    close: async () => {
      https.close();
      redirect.close();
      await closeFront();
    },
  };
}

export async function listen(app: { fetch: Hono['fetch'] }, options: ListenOptions): Promise<Listener> {
  const { tls } = options;
  if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) {
    throw new Error('http.tls.certFile and http.tls.keyFile go together: set both, or neither');
  }
  return tls.certFile ? listenSecure(app, options) : listenPlain(app, options);
}
