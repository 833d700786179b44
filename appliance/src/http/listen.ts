import { readFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import type { AddressInfo, Socket } from 'node:net';
import type { Config } from '../config/schema.js';

/**
 * The box's HTTP listener: with a certificate, HTTPS over HTTP/2 with HTTP/1.1 fallback, asking for (not
 * requiring) a client certificate when client CAs are configured — whether one is required is the access
 * policy's decision, per request; without a certificate, plain HTTP (kiosk on loopback, tests).
 */
export interface Listener {
  server: ServerType;
  port: number;
  /** Stops accepting and ends open connections (keep-alive and HTTP/2 sessions would hold the close forever). */
  close(): Promise<void>;
}

export interface ListenOptions {
  host: string;
  port: number;
  tls: Config['http']['tls'];
  /** PEM CRLs: a client certificate they list is not verified (the access policy then sees no certificate). */
  crlFile?: string;
}

function readCrls(file: string): string[] {
  const crls = readFileSync(file, 'utf8').match(/-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g) ?? [];
  if (crls.length === 0) throw new Error(`${file}: no PEM CRL found (whitelist.crlFile)`);
  return crls;
}

export async function listen(app: { fetch: Hono['fetch'] }, http: ListenOptions): Promise<Listener> {
  const { tls } = http;
  if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) {
    throw new Error('http.tls.certFile and http.tls.keyFile go together: set both, or neither for plain HTTP');
  }
  const secure = tls.certFile
    ? {
        createServer: createSecureServer,
        serverOptions: {
          cert: readFileSync(tls.certFile),
          key: readFileSync(tls.keyFile),
          allowHTTP1: true,
          minVersion: 'TLSv1.2' as const,
          ...(tls.clientCaFile ? { ca: readFileSync(tls.clientCaFile), requestCert: true, rejectUnauthorized: false } : {}),
          ...(tls.clientCaFile && http.crlFile ? { crl: readCrls(http.crlFile) } : {}),
        },
      }
    : {};
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: http.host, port: http.port, ...secure } as Parameters<typeof serve>[0], () => resolve(s));
    s.once('error', reject);
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
