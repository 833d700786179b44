import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { DEFAULT_SCHEMA_DIR } from './codes.js';
import { FaultController, type Faults } from './faults.js';
import { requestHandler, type LoggedRequest, type ServerDeps } from './server.js';
import { SimStore } from './store.js';
import { issueCertificate, loadOrCreateTestCa, testCaFromPem, type IssueOptions, type IssuedCertificate } from './test-ca.js';
import type { SimContext } from './transaction.js';

export interface DmpSimulatorOptions {
  /** SQLite file, document bytes and (when it makes its own) the CA live here. */
  dataDir: string;
  /** 0 or absent: a free port. */
  port?: number;
  /** Loopback by default. */
  host?: string;
  /** The CA that issues the box's certificates (e.g. from test/fixtures/pki); default: one made in dataDir/pki. */
  ca?: { certPem: string; keyPem: string };
  /** repositoryUniqueId of the simulated DMP repository (ITI-43). */
  repositoryUniqueId?: string;
  /** INS known to the DMP; absent: every valid INS has a DMP. */
  knownPatients?: string[];
  faults?: Faults;
  /** Max age of a VIHF IssueInstant when the assertion has no Conditions. */
  vihfMaxAgeSeconds?: number;
  clockSkewSeconds?: number;
  schemaDir?: string;
  /** Also serve /_sim/* on plain HTTP on loopback at this port (0: a free one), for the demo's browser. */
  adminPort?: number;
  maxBodyBytes?: number;
  now?: () => Date;
}

export interface DmpSimulator {
  /** Base URL; the services are `${url}/registry` and `${url}/repository`. */
  url: string;
  registryUrl: string;
  repositoryUrl: string;
  port: number;
  pid: number;
  caCertPem: string;
  caCertPath: string;
  adminUrl?: string;
  repositoryUniqueId: string;
  /** Issues a certificate from the simulator's CA (the box's client or signature certificate). */
  issueCertificate(options: IssueOptions): IssuedCertificate;
  setFaults(faults: Faults): void;
  /** The fault rules still armed (a counted rule disappears once spent). */
  faults(): ReturnType<FaultController['describe']>;
  /** The last requests and what the simulator answered. */
  requests(): LoggedRequest[];
  db: SimStore;
  stop(): Promise<void>;
}

/** The repository OID: the DMP's device id seen in TD0.2 messages (ans-reference-drimbox.md §3.6); the real value is unknown. */
export const DEFAULT_REPOSITORY_UNIQUE_ID = '1.2.250.1.213.4.1.1.1';

export async function startDmpSimulator(options: DmpSimulatorOptions): Promise<DmpSimulator> {
  checkXmllint();
  const host = options.host ?? '127.0.0.1';
  const pkiDir = join(options.dataDir, 'pki');
  const ca = options.ca ? testCaFromPem(pkiDir, options.ca.certPem, options.ca.keyPem) : loadOrCreateTestCa(pkiDir);
  const serverCert = issueCertificate(ca, {
    name: 'dmp-sim-server', subject: '/C=FR/O=DRIMbox tests/CN=localhost', usage: 'server',
    dnsNames: ['localhost'], ipAddresses: /^[0-9.]+$/.test(host) ? [host] : [],
  });
  const store = new SimStore(options.dataDir);
  const now = options.now ?? (() => new Date());
  const faults = new FaultController(() => now().getTime());
  faults.set(options.faults ?? {});
  const repositoryUniqueId = options.repositoryUniqueId ?? DEFAULT_REPOSITORY_UNIQUE_ID;
  const ctx: SimContext = {
    store, ca: new X509Certificate(ca.certPem), now, schemaDir: options.schemaDir ?? DEFAULT_SCHEMA_DIR, repositoryUniqueId,
    knownPatients: options.knownPatients ? new Set(options.knownPatients) : undefined,
    vihfMaxAgeSeconds: options.vihfMaxAgeSeconds ?? 300, clockSkewSeconds: options.clockSkewSeconds ?? 60,
  };
  const deps: ServerDeps = { ctx, faults, maxBodyBytes: options.maxBodyBytes ?? 64 * 1024 * 1024, log: [], hanging: new Set() };
  const sockets = new Set<Socket>();
  const server = createHttpsServer(
    { key: serverCert.keyPem, cert: serverCert.certPem, ca: [ca.certPem], requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
    requestHandler(deps, false),
  );
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => undefined); // refused handshakes (no or foreign client certificate) are the point
  const port = await listen(server, options.port ?? 0, host);
  let admin: HttpServer | undefined;
  let adminUrl: string | undefined;
  if (options.adminPort !== undefined) {
    admin = createHttpServer(requestHandler(deps, true));
    adminUrl = `http://127.0.0.1:${await listen(admin, options.adminPort, '127.0.0.1')}`;
  }
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let stopped = false;
  return {
    url, registryUrl: `${url}/registry`, repositoryUrl: `${url}/repository`, port, pid: process.pid,
    caCertPem: ca.certPem, caCertPath: ca.certPath, adminUrl, repositoryUniqueId,
    issueCertificate: (o) => issueCertificate(ca, o),
    setFaults: (f) => faults.set(f),
    faults: () => faults.describe(),
    requests: () => [...deps.log],
    db: store,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const s of [...deps.hanging, ...sockets]) s.destroy();
      await Promise.all([close(server), admin ? close(admin) : Promise.resolve()]);
      store.close();
    },
  };
}

function listen(server: HttpServer | ReturnType<typeof createHttpsServer>, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`DMP simulator cannot listen on ${host}:${port}: ${err.message}`)));
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: HttpServer | ReturnType<typeof createHttpsServer>): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

function checkXmllint(): void {
  try {
    execFileSync('xmllint', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('the DMP simulator validates bodies with xmllint: install the Debian package libxml2-utils');
  }
}
