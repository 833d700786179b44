import type { ImageCompression } from '../../appliance/src/http/compression-policy.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { createPscClient, createTokenIntrospector, type PscClient } from '../../appliance/src/auth/psc/index.js';
import { FileSigner, tlsCredentialFromPkcs12 } from '../../appliance/src/auth/signer/file-signer.js';
import type { PacsConfig } from '../../appliance/src/config/schema.js';
import { loopbackDimse } from '../peers/box-config.js';
import { createConsumerService, type ConsumerService, type ConsumerSettings } from '../../appliance/src/consumer/index.js';
import { nodeSourceGet, sourceTlsOf } from '../../appliance/src/consumer/source-transport.js';
import { buildKos, studyFromFiles } from '../../appliance/src/dicom/kos/index.js';
import { synthesizeStudy, type SynthResult } from '../../appliance/src/dicom/synth/index.js';
import { createDicomwebUpstream, createDimseUpstream } from '../../appliance/src/dicomweb/index.js';
import { createPacsBridge } from '../../appliance/src/dimse/index.js';
import { parseHl7Message } from '../../appliance/src/hl7/index.js';
import { createHttpApp } from '../../appliance/src/http/app.js';
import { createConsumerRoutes } from '../../appliance/src/http/consumer-routes.js';
import { createViewerRoutes } from '../../appliance/src/http/viewer-routes.js';
import type { DicomwebResource } from '../../appliance/src/http/dicomweb-routes.js';
import { createLogger } from '../../appliance/src/log/logger.js';
import { reportFromHl7 } from '../../appliance/src/report/parse.js';
import { AuditLog } from '../../appliance/src/store/audit.js';
import type { Db } from '../../appliance/src/store/database.js';
import {
  buildProvideAndRegister,
  contextFromConfig,
  DmpClient,
  endpointsFromConfig,
  timeoutsFromConfig,
  vihfSubjectFromReport,
  xdsConfigSchema,
  type XdsSubmissionContext,
} from '../../appliance/src/xds/index.js';
import { oruForStudy } from '../fixtures/hl7/report-message.js';
import { startDmpForBox } from '../peers/dmp-for-box.js';
import type { DmpSimulator } from '../peers/dmp-sim/index.js';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { reservedPort } from '../peers/ports.js';
import { startPscSimulator, type PscSimulator } from '../peers/psc-sim/server.js';
import { consumerDb, consumerSettings } from '../unit/consumer-helpers.js';
import { startBox, type TestBox } from './dicomweb-box.js';
import type { CardReader } from '../../appliance/src/auth/card/card-reader.js';
import { createCpsLoginRoutes } from '../../appliance/src/http/cps-login-routes.js';
import { listen } from '../../appliance/src/http/listen.js';
import { ensureSelfSignedCertificate } from '../../appliance/src/device/box-certificate.js';

/**
 * Two sites on one machine for the consumer tests: "Saint-Pierre" (Orthanc with its DICOMweb, our DICOMweb routes
 * in front as the source box, checking the PSC token by introspection and the KOS-SOPInstanceUID header, behind a
 * TCP proxy that can cut a transfer), the DMP simulator holding the published KOS, the PSC simulator, and
 * "Strasbourg" (the consumer portal on HTTP, and its own Orthanc as local PACS).
 */

export const INS_TEST_OID = '1.2.250.1.213.1.4.10';
export { HttpBrowser } from '../peers/http-browser.js';
export { BERNARD } from '../fixtures/patients.js';
import { BERNARD } from '../fixtures/patients.js';
const UID_ROOT = '1.2.826.0.1.3680043.10.1558.66';

export interface SourceRequestLog {
  level: DicomwebResource['level'];
  action: DicomwebResource['action'];
  study?: string;
  series?: string;
  sop?: string;
  subjectNameId: string;
  kos?: string;
}

/** A TCP proxy that can cut a connection once it has carried `n` response bytes of a series request. */
export class CuttingProxy {
  private server!: Server;
  private cutAfter: number | undefined;
  /** Delay before each chunk of a response is passed on (a slow link). */
  delayMs = 0;
  readonly sockets = new Set<Socket>();
  port = 0;
  cuts = 0;

  constructor(private readonly target: number) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      let cutAt: number | undefined;
      let sent = 0;
      // Both directions respect backpressure: the proxy never holds more than a socket buffer.
      client.on('data', (chunk: Buffer) => {
        const text = chunk.toString('latin1', 0, Math.min(chunk.length, 512));
        if (this.cutAfter !== undefined && /^GET \S*\/series\/[0-9.]+ HTTP/m.test(text)) {
          cutAt = sent + this.cutAfter;
          this.cutAfter = undefined;
        }
        if (!upstream.write(chunk)) client.pause();
      });
      upstream.on('drain', () => client.resume());
      upstream.on('data', (chunk: Buffer) => {
        if (this.delayMs) {
          upstream.pause();
          setTimeout(() => upstream.resume(), this.delayMs);
        }
        if (cutAt !== undefined && sent + chunk.length >= cutAt) {
          client.write(chunk.subarray(0, Math.max(0, cutAt - sent)));
          this.cuts++;
          client.destroy();
          upstream.destroy();
          return;
        }
        sent += chunk.length;
        if (!client.write(chunk)) upstream.pause();
      });
      client.on('drain', () => upstream.resume());
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** The next series response is cut after `bytes` bytes. */
  armCut(bytes: number): void {
    this.cutAfter = bytes;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface PublishedExam {
  study: SynthResult;
  kosSopInstanceUid: string;
  documentUniqueId: string;
  instances: number;
  /** The KOS as published to the DMP (Part 10), which a consumer retrieves by ITI-43. */
  kos: Uint8Array;
}

export interface ConsumerBed {
  dir: string;
  /** The Strasbourg consumer's data folder (its image cache, its temporary files). */
  consumerDir: string;
  psc: PscSimulator;
  dmp: DmpSimulator;
  sourcePacs: OrthancPeer;
  localPacs: OrthancPeer;
  sourceBox: TestBox;
  proxy: CuttingProxy;
  sourceRequests: SourceRequestLog[];
  exams: PublishedExam[];
  consumer: ConsumerService;
  portal: string;
  db: Db;
  /** Origin of the workstation CPS login listener (with `cpsCaFile`). */
  cpsLogin?: string;
  stop(): Promise<void>;
}

export interface BedOptions {
  /** Instances per published exam (two series each, unless `seriesCount`). */
  examSizes: number[];
  seriesCount?: number;
  rows?: number;
  settings?: Partial<ConsumerSettings>;
  /** A CPS card reader: the portal is then the box's touch screen (card login routes), as on the kiosk listener. */
  card?: CardReader;
  /** The workstation CPS login: its HTTPS listener, verifying card certificates against this CA bundle. */
  cpsCaFile?: string;
  /**
   * A link between the two sites (a WAN relay): given the source box's port, returns the port the KOS names; the
   * bed stops it with the rest.
   */
  sourceLink?: (sourcePort: number) => Promise<{ port: number; stop(): Promise<void> }>;
  /**
   * The KOS names the source box itself, not the cutting proxy in front of it (benches: the proxy relays every byte
   * in this process, on the source's core, which no source box spends in the field).
   */
  sourceDirect?: boolean;
  /** The source box's gzip policy for the instances it serves (http.compressImages); default: never. */
  sourceCompressImages?: ImageCompression;
  /**
   * The source box serves HTTPS on the box's own listener, as its public port does, with a self-signed certificate
   * the consumer trusts: the KOS names https: URLs. Default: plain HTTP.
   */
  sourceTls?: boolean;
  /**
   * How the source box reaches Saint-Pierre's PACS: its DICOMweb (default; the box builds each exam's series metadata
   * once it is published, as when it builds the manifest) or DIMSE alone (C-FIND and C-GET; nothing prepared).
   */
  sourceUpstream?: 'dicomweb' | 'dimse';
}

async function publish(
  client: DmpClient,
  context: XdsSubmissionContext,
  signer: FileSigner,
  study: SynthResult,
  studyDir: string,
  retrieveBaseUrl: string,
  accession: string,
): Promise<{ kosSopInstanceUid: string; documentUniqueId: string; instances: number; kos: Uint8Array }> {
  const report = reportFromHl7(parseHl7Message(oruForStudy({ studyUid: study.studyInstanceUid, patient: BERNARD, accession, controlId: accession })));
  const found = await studyFromFiles(studyDir);
  const kos = buildKos({ report, study: found.studies[0]!, retrieveBaseUrl, uidRoot: UID_ROOT, institutionName: 'Imagerie médicale de Saint-Pierre' });
  const built = await buildProvideAndRegister({
    report,
    kos: { bytes: kos.part10, facts: { sopInstanceUid: kos.sopInstanceUid, studyInstanceUid: study.studyInstanceUid, modalities: ['CT'], createdAt: new Date() } },
    context,
    signer,
  });
  const outcome = await client.provideAndRegister(built, vihfSubjectFromReport(report, context));
  if (outcome.kind !== 'success') throw new Error(`publication to the DMP simulator failed: ${JSON.stringify(outcome)}`);
  return { kosSopInstanceUid: kos.sopInstanceUid, documentUniqueId: kos.sopInstanceUid, instances: kos.instanceCount, kos: kos.part10 };
}

export async function startConsumerBed(options: BedOptions): Promise<ConsumerBed> {
  const dir = mkdtempSync(join(tmpdir(), 'consumer-bed-'));
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await Promise.resolve(s()).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const portalPort = await reservedPort();
    const portal = `http://127.0.0.1:${portalPort}`;
    const consumerClient = { clientId: 'drimbox-strasbourg', clientSecret: 'secret-strasbourg', redirectUris: [`${portal}/portal/callback`], postLogoutRedirectUris: [`${portal}/portal/`] };
    const sourceClient = { clientId: 'drimbox-saint-pierre', clientSecret: 'secret-saint-pierre', redirectUris: ['http://127.0.0.1:9/cb'] };
    const psc = await startPscSimulator({ clients: [consumerClient, sourceClient], accessTokenTtlSeconds: 600 });
    stops.push(() => psc.stop());

    const { sim: dmp, xds } = await startDmpForBox(join(dir, 'dmp'));
    stops.push(() => dmp.stop());
    const xdsConfig = xdsConfigSchema.parse(xds);
    const context = contextFromConfig(xdsConfig);
    const signer = FileSigner.fromPkcs12(readFileSync(xdsConfig.signatureP12File), xdsConfig.signatureP12Password);
    const dmpClient = new DmpClient({
      endpoints: endpointsFromConfig(xdsConfig),
      tls: { ca: readFileSync(xdsConfig.caFile), credential: tlsCredentialFromPkcs12(readFileSync(xdsConfig.tlsP12File), xdsConfig.tlsP12Password) },
      timeouts: timeoutsFromConfig(xdsConfig),
      context,
      signer,
    });
    stops.push(() => dmpClient.close());

    // The boxes' DIMSE settings, towards their PACS.
    const dimse = loopbackDimse(20_000);
    const [sourcePacs, localPacs] = await Promise.all([
      startOrthanc({
        aeTitle: 'STPIERRE',
        // Over DIMSE, the source box queries and retrieves as DRIMBOX (C-GET: the port is never called).
        ...(options.sourceUpstream === 'dimse' ? { modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: 104 } } } : {}),
      }),
      startOrthanc({ aeTitle: 'STRASBOURG' }),
    ]);
    stops.push(() => sourcePacs.stop(), () => localPacs.stop());

    // The source box: our DICOMweb routes over Saint-Pierre's Orthanc, PSC introspection, KOS header check.
    const sourcePsc: PscClient = createPscClient({ issuer: psc.issuer, clientId: sourceClient.clientId, clientSecret: sourceClient.clientSecret, timeoutMs: 5000 });
    const introspector = createTokenIntrospector({ introspect: (t) => sourcePsc.introspect(t) as Promise<Record<string, unknown>>, issuer: psc.issuer });
    const published = new Map<string, string>();
    const sourceRequests: SourceRequestLog[] = [];
    const sourceCertificate = options.sourceTls ? ensureSelfSignedCertificate(join(dir, 'saint-pierre')) : undefined;
    const sourceCa = sourceCertificate && readFileSync(sourceCertificate.certFile);
    const sourceUpstream =
      options.sourceUpstream === 'dimse'
        ? (tempDir: string) => {
            const pacs: PacsConfig = { aeTitle: sourcePacs.aeTitle, host: '127.0.0.1', port: sourcePacs.dicomPort, retrieve: 'C-GET', dicomwebUrl: '', maxAssociations: 4 };
            return createDimseUpstream({ bridge: createPacsBridge(pacs, { aeTitle: 'DRIMBOX' }, dimse), tempDir });
          }
        : () => createDicomwebUpstream({ baseUrl: sourcePacs.dicomwebUrl });
    const sourceBox = await startBox(sourceUpstream, {
      ...(sourceCertificate ? { tls: { certFile: sourceCertificate.certFile, keyFile: sourceCertificate.keyFile, clientCaFile: '' } } : {}),
      authorize: async (request, resource) => {
        const token = /^Bearer (\S+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
        if (!token) return { outcome: 'deny', status: 401, reason: 'no-token' };
        const checked = await introspector.check(token);
        if (checked.state !== 'active') return { outcome: 'deny', status: 401, reason: 'token-inactive' };
        const kos = resource.studyInstanceUid ? published.get(resource.studyInstanceUid) : undefined;
        if (!kos || resource.kosSopInstanceUid !== kos) return { outcome: 'deny', status: 403, reason: 'not-published' };
        sourceRequests.push({
          level: resource.level,
          action: resource.action,
          study: resource.studyInstanceUid,
          series: resource.seriesInstanceUid,
          sop: resource.sopInstanceUid,
          subjectNameId: checked.subjectNameId,
          kos: resource.kosSopInstanceUid,
        });
        return { outcome: 'allow', subjectNameId: checked.subjectNameId, kosSopInstanceUid: kos };
      },
      compressImages: options.sourceCompressImages,
    });
    stops.push(() => sourceBox.stop());
    const proxy = new CuttingProxy(sourceBox.port);
    await proxy.start();
    stops.push(() => proxy.stop());
    let retrievePort = options.sourceDirect ? sourceBox.port : proxy.port;
    if (options.sourceLink) {
      const link = await options.sourceLink(retrievePort);
      stops.push(() => link.stop());
      retrievePort = link.port;
    }
    const retrieveBaseUrl = `${sourceCertificate ? 'https' : 'http'}://127.0.0.1:${retrievePort}/dicom-web`;

    // Mr Bernard's exams, in Saint-Pierre's PACS and published to the DMP.
    const exams: PublishedExam[] = [];
    for (const [i, size] of options.examSizes.entries()) {
      const studyDir = join(dir, `exam-${i}`);
      const study = await synthesizeStudy({
        modality: 'CT',
        instances: size,
        seriesCount: options.seriesCount ?? 2,
        rows: options.rows ?? 64,
        columns: options.rows ?? 64,
        outDir: studyDir,
        patient: { name: 'BERNARD^JEAN', id: BERNARD.ins, issuer: 'ASIP-SANTE-INS-NIR', insOid: INS_TEST_OID, birthDate: BERNARD.birthDate, sex: 'M' },
        studyDescription: i === 0 ? 'Scanner cérébral' : 'Scanner cérébral de contrôle',
        accessionNumber: `SP-ACC-${i}`,
        seed: 100 + i,
      });
      for (const f of study.files) await sourcePacs.upload(readFileSync(f));
      const p = await publish(dmpClient, context, signer, study, studyDir, retrieveBaseUrl, `SP-ACC-${i}`);
      published.set(study.studyInstanceUid, p.kosSopInstanceUid);
      await sourceBox.service.prepareStudy(study.studyInstanceUid);
      exams.push({ study, ...p });
    }

    // Strasbourg: the consumer portal.
    const consumerDir = join(dir, 'strasbourg');
    const db = consumerDb(join(dir, 'consumer.sqlite'));
    stops.push(() => void db.close());
    const pacs: PacsConfig = { aeTitle: localPacs.aeTitle, host: '127.0.0.1', port: localPacs.dicomPort, retrieve: 'C-GET', dicomwebUrl: '', maxAssociations: 2 };
    const consumer = await createConsumerService({
      db,
      settings: { ...consumerSettings(consumerDir), publicBaseUrl: portal, secureCookies: false, ...options.settings },
      psc: createPscClient({ issuer: psc.issuer, clientId: consumerClient.clientId, clientSecret: consumerClient.clientSecret, timeoutMs: 5000 }),
      dmp: dmpClient,
      xdsContext: context,
      whitelist: () => undefined,
      bridge: createPacsBridge(pacs, { aeTitle: 'DRIMBOX' }, dimse),
      ...(sourceCa ? { sourceGet: nodeSourceGet(sourceTlsOf({ ca: sourceCa })) } : {}),
      log: createLogger({ component: 'consumer-test' }),
      audit: new AuditLog(db),
    });
    stops.push(() => consumer.stop());
    options.card?.onRemoved((serial) => consumer.endCardSessions(serial));
    const app = createHttpApp({
      health: [],
      mount: (a) => {
        a.route('/', createConsumerRoutes({ consumer, audit: new AuditLog(db), ...(options.card ? { card: options.card } : {}) }));
        a.route('/viewer', createViewerRoutes()); // the bundle `npm run build:ui` made (npm test builds it first)
      },
    });
    const server: ServerType = serve({ fetch: app.fetch, port: portalPort, hostname: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    stops.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
    );
    let cpsLogin: string | undefined;
    if (options.cpsCaFile) {
      const cert = ensureSelfSignedCertificate(join(dir, 'cps-login'));
      const listener = await listen(createCpsLoginRoutes({ consumer, portalUrl: `${portal}/portal/`, log: createLogger({ component: 'cps-login-test' }) }), {
        host: '127.0.0.1',
        port: 0,
        tls: { certFile: cert.certFile, keyFile: cert.keyFile, clientCaFile: options.cpsCaFile },
      });
      stops.push(() => listener.close());
      cpsLogin = `https://127.0.0.1:${listener.port}`;
    }
    return {
      dir, consumerDir, psc, dmp, sourcePacs, localPacs, sourceBox, proxy, sourceRequests, exams, consumer, portal, db, stop,
      ...(cpsLogin ? { cpsLogin } : {}),
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A browser over real HTTP: cookie jar, redirects followed by hand so tests see each hop. */
