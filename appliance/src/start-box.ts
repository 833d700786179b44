import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { listen } from './http/listen.js';
import type { Hono } from 'hono';
import type { Config } from './config/schema.js';
import { openDatabase, databaseFile, type Db } from './store/database.js';
import { ReportInbox } from './store/report-inbox.js';
import { KosArchive } from './store/kos-archive.js';
import { Outbox, type OutboxSender } from './store/outbox.js';
import { createPacsBridge, startStoreScp, type StoreScp } from './dimse/index.js';
import type { PacsBridge, ReceivedInstance } from './dimse/types.js';
import { startMllpServer, type MllpServer } from './hl7/index.js';
import { buildKos, KOS_SOP_CLASS_UID } from './dicom/kos/index.js';
import { IntakePriority } from './source/intake-priority.js';
import { ReportProcessor } from './source/report-processor.js';
import { OutboxDrainer } from './source/outbox-drainer.js';
import { createHl7Intake, interpretInboxRow, ReadReports } from './source/report-intake.js';
import { checkLateImages } from './source/late-images-watch.js';
import type { PortalUser } from './auth/session/index.js';
import { CardReader } from './auth/card/card-reader.js';
import { createCpsLoginRoutes } from './http/cps-login-routes.js';
import { nodeSourceGet } from './consumer/source-transport.js';
import { resolveInvokeImageDisplay } from './source/invoke-image-display.js';
import { createHttpApp } from './http/app.js';
import { createLanApp, type LanEnv } from './http/lan-app.js';
import { clientAddressResolver } from './http/client-address.js';
import { RisCredential } from './auth/ris/index.js';
import { AddressList } from './auth/address-list.js';
import { addressesOf, localAddressFacing } from './dimse/peer-addresses.js';
import { createSourceRoutes } from './http/source-routes.js';
import { createViewerRoutes } from './http/viewer-routes.js';
import { createImageServing } from './source/serve-images.js';
import { mountSourceDicomweb } from './http/source-dicomweb.js';
import { createConsumerService, consumerSettingsFrom, type ConsumerService } from './consumer/index.js';
import { createConsumerRoutes } from './http/consumer-routes.js';
import { createPscClient } from './auth/psc/index.js';
import { createDmpSender } from './source/dmp-sender.js';
import { dmpFromConfig, directIdentity, notConfiguredSender } from './dmp-connection.js';
import { AuditLog } from './store/audit.js';
import { DiskGuard } from './device/disk-guard.js';
import { ensureSelfSignedCertificate, listenerCertificate, type BoxCertificate } from './device/box-certificate.js';
import { boxHealthChecks } from './device/box-health.js';
import { Appliance } from './device/appliance.js';
import { collectFleetFacts } from './device/fleet-telemetry.js';
import { createDeviceRoutes } from './http/device-routes.js';
import { log as rootLog, setLogLevel } from './log/logger.js';
import { getCookie } from 'hono/cookie';
import { Hl7ExchangeLog } from './source/hl7-exchange-log.js';
import { practiceScreensFor } from './http/practice-screens.js';
import { ADMIN_COOKIE } from './http/admin-access.js';
import type { RestartRequest } from './box-runner.js';
import type { AdminGate } from './setup/admin-gate.js';
import type { SetupWizard } from './setup/wizard.js';

export interface BoxOptions {
  /** Delivers outbox operations to the DMP; without one, operations wait (retryable) until it is configured. */
  dmpSender?: OutboxSender;
  /** More HTTP routes on the public listener, mounted by the caller. */
  mount?: (app: Hono, box: BoxParts) => void;
  /** More route groups on the practice's side (LAN and kiosk listeners); each guards its own routes. */
  mountLan?: (app: Hono<LanEnv>, box: BoxParts) => void;
  /** Where balena's variables are read (BALENA_SUPERVISOR_*, DRIMBOX_* shown as fleet values); process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** The configuration file the setup screen writes (DRIMBOX_CONFIG); without one the wizard cannot apply. */
  configFile?: string;
  /** Restarts the services on the configuration file (box-runner.ts); without it, applying asks for a restart. */
  restart?: (request: RestartRequest) => void;
  /** The administrators' sessions and PIN counters, when they must outlive a restart (box-runner.ts). */
  adminGate?: AdminGate;
}

/** What the running box is made of, for routes and tests. */
export interface BoxParts {
  config: Config;
  db: Db;
  inbox: ReportInbox;
  archive: KosArchive;
  outbox: Outbox;
  bridge: PacsBridge;
  scp: StoreScp;
  processor: ReportProcessor;
  drainer: OutboxDrainer;
}

export interface RunningBox extends BoxParts {
  /** The public listener: DICOMweb, viewer, portal, liveness. */
  httpPort: number;
  /** The practice's side: RIS HTTP intake, status, setup. */
  lanPort: number;
  /** The touch screen's loopback listener (same routes as the LAN one). */
  kioskPort: number;
  /** The box's CPS card reader (pkcs11.card.module). */
  card?: CardReader;
  /** The workstation CPS login's HTTPS port, when consumer.cpsCaFile is set. */
  cpsLoginPort?: number;
  /** The certificate of the public and LAN listeners; undefined when TLS is off (http.tls.enabled). */
  certificate?: BoxCertificate;
  hl7Port: number;
  dimsePort: number;
  /** The box as a balena appliance: work in flight, update lock, fleet telemetry. */
  appliance: Appliance;
  /** The touch screen's setup wizard. */
  wizard: SetupWizard;
  /** Transfers or submissions in flight: the update lock is held while this is not zero. */
  busy(): number;
  /** First half of a graceful stop: refuses new connections, requests and long work; waits for in-flight work. */
  drain(graceMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts every service of the box on one configuration: SCP, PACS bridge, HL7 listener, source pipeline, HTTP. */
export async function startBox(config: Config, options: BoxOptions = {}): Promise<RunningBox> {
  setLogLevel(config.log.level);
  const log = rootLog.child({ box: config.box.aeTitle });
  const appliance = new Appliance(config.device, options.env ?? process.env, log.child({ component: 'device' }));
  const work = appliance.work;
  // Migrations change the database file: an update must not land in the middle of one.
  const db = appliance.guard('migration', () => openDatabase(databaseFile(config.dataDir)));
  const inbox = new ReportInbox(db);
  const archive = new KosArchive(db);
  const outbox = new Outbox(db);
  const stops: (() => Promise<unknown> | unknown)[] = [
    () => {
      // The WAL folded into the database file: a clean file for the next start, or for a copy of /data.
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    },
    () => appliance.stop(),
  ];
  /** Set by drain(): listeners answer 503 and no new long work starts. */
  let stopping = false;
  const disk = new DiskGuard(config.dataDir, config.storage.minFreeMegabytes * 1_048_576);
  const admission = () => disk.refusal();
  const stopAll = async () => {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        log.warn('error while stopping', { error: err });
      }
    }
  };

  try {
    let processor: ReportProcessor | undefined;
    let images: Awaited<ReturnType<typeof createImageServing>> | undefined;
    let portal: { fetch: (request: Request, env: unknown) => Response | Promise<Response> } | undefined;
    let consumer: ConsumerService | undefined;
    // The PACS's addresses decide where the SCP listens and who may connect; a PACS host that does not resolve at
    // start must not keep the box down: it then listens on every interface and accepts nobody until restarted.
    const pacsAddresses = config.dimse.allowedPeerAddresses.length ? config.dimse.allowedPeerAddresses : await addressesOf(config.pacs.host).catch((err: unknown) => {
      log.error('DICOM SCP: the PACS host does not resolve, no peer may connect until it does (restart the box)', { error: err });
      return [] as string[];
    });
    const scpHost = config.dimse.listenHost !== 'pacs-facing' ? config.dimse.listenHost : await localAddressFacing(config.pacs.host).catch(() => '0.0.0.0');
    const scp = await startStoreScp({
      aeTitle: config.box.aeTitle,
      host: scpHost,
      port: config.dimse.port,
      allowedCallingAeTitles: config.dimse.allowedCallingAeTitles.length ? config.dimse.allowedCallingAeTitles : [config.pacs.aeTitle],
      // A calling AE title is not authentication: only the PACS's own addresses may connect.
      allowedAddresses: new AddressList(pacsAddresses, 'dimse.allowedPeerAddresses'),
      maxAssociations: config.dimse.maxInboundAssociations,
      // Outside its own retrieves, the box keeps only IOCM rejection notes; anything else is refused, not dropped.
      // Stopping: a pushed note is refused (the PACS sends it again later), not half-processed.
      acceptUnsolicited: (sopClassUid) => !stopping && sopClassUid === KOS_SOP_CLASS_UID,
      storageDir: join(config.dataDir, 'incoming'),
      maxPduLength: config.dimse.maxPduLength,
      onInstance: (instance, origin) => (origin.retrieve ? undefined : onPushedInstance(instance, origin.callingAeTitle)),
    });
    stops.push(() => scp.close());
    const bridge = createPacsBridge(config.pacs, { aeTitle: config.box.aeTitle, scp }, config.dimse);

    const dmp = dmpFromConfig(config);
    if (dmp) stops.push(() => dmp.client.close(), () => dmp.sourceTls.agent.destroy());
    const card = config.pkcs11.card.module ? CardReader.open(config.pkcs11.card, log.child({ component: 'card' })) : undefined;
    if (card) {
      card.start();
      stops.push(() => card.stop());
    }
    const direct = card && config.pkcs11.card.directMode ? directIdentity(card) : undefined;
    const drainer = new OutboxDrainer(
      outbox,
      options.dmpSender ?? (dmp ? createDmpSender({ ...dmp, archive, dataDir: config.dataDir, ...(direct ? { direct } : {}) }) : notConfiguredSender),
      { admits: () => work.admits() && !stopping },
    );
    work.register('dmp-submission', () => drainer.inFlight);
    const intakePriority = new IntakePriority();
    const readReports = new ReadReports();
    processor = new ReportProcessor({
      db,
      inbox,
      archive,
      outbox,
      bridge,
      kos: {
        build: (report, exam) =>
          buildKos({ report, study: exam, retrieveBaseUrl: config.box.publicBaseUrl, uidRoot: config.box.uidRoot, institutionName: config.box.name }),
      },
      interpret: (row) => interpretInboxRow(row, readReports),
      dataDir: config.dataDir,
      stableAfterMs: config.source.stableAfterMs,
      recheckMs: config.source.recheckMs,
      maxWaitForImagesMs: config.source.maxWaitForImagesMs,
      onQueued: () => drainer.wake(),
      onManifestChanged: (study, change) => {
        images?.service.invalidateStudy(study);
        // The first professional to open the exam should not wait for its metadata to be built from the PACS.
        if (change === 'built') void images?.service.prepareStudy(study);
      },
      intake: intakePriority,
    });
    images = await createImageServing({ config, db, archive, bridge, log });
    stops.push(() => images.whitelist?.stop());

    /** An IOCM rejection note pushed by the PACS goes through the inbox like a report. */
    async function onPushedInstance(instance: ReceivedInstance, callingAeTitle: string): Promise<void> {
      try {
        if (instance.sopClassUid !== KOS_SOP_CLASS_UID) return;
        const raw = await readFile(instance.path);
        inbox.record({ channel: 'dicom', raw, messageType: 'KOS', remote: callingAeTitle, sender: callingAeTitle });
        processor?.wake();
      } finally {
        await rm(instance.path, { force: true });
      }
    }

    const hl7Exchanges = new Hl7ExchangeLog();
    const mllp: MllpServer = await startMllpServer({
      host: config.hl7.host,
      port: config.hl7.port,
      maxFrameBytes: config.hl7.maxFrameBytes,
      maxConnections: config.hl7.maxConnections,
      maxConnectionsPerAddress: config.hl7.maxConnectionsPerAddress,
      idleTimeoutMs: config.hl7.idleTimeoutMs,
      frameTimeoutMs: config.hl7.frameTimeoutMs,
      allowedAddresses: new AddressList(config.ris.allowedAddresses, 'ris.allowedAddresses'),
      // Observed for the setup screen's "waiting for a test message" (the last few exchanges, in memory).
      handler: hl7Exchanges.observe(
        createHl7Intake({
          inbox,
          admission,
          readReports,
          onStored: () => {
            intakePriority.arrived();
            processor?.wake();
          },
        }),
      ),
    });
    stops.push(() => mllp.close(2_000));

    const parts: BoxParts = { config, db, inbox, archive, outbox, bridge, scp, processor, drainer };
    const health = boxHealthChecks({ config, db, inbox, outbox, bridge, scp, mllp, disk });
    const app = createHttpApp({
      health,
      mount: (a) => {
        mountSourceDicomweb(a, images, { audit: new AuditLog(db), log, work, compressImages: config.http.compressImages });
        a.route('/viewer', createViewerRoutes());
        // The portal needs the listener's port (its PSC redirect URI): it is created once the box listens.
        a.all('/portal/*', (c) => (portal ? portal.fetch(c.req.raw, c.env) : c.json({ error: 'le portail n’est pas configuré sur ce boîtier (psc.*, xds.*)' }, 503)));
        a.all('/portal', (c) => c.redirect('/portal/'));
        // IHE Invoke Image Display (the report's link as RIS vendors write it): to the portal, query unchanged.
        a.get('/IHEInvokeImageDisplay', (c) => c.redirect(`/portal/iid${new URL(c.req.url).search}`, 302));
        options.mount?.(a, parts);
      },
    });
    const certificate = listenerCertificate(config.http.tls, config.dataDir);
    const tls = { certFile: certificate?.certFile ?? '', keyFile: certificate?.keyFile ?? '' };
    const refuse = () => stopping;
    const listener = await listen(app, { host: config.http.host, port: config.http.port, tls: { ...tls, clientCaFile: config.http.tls.clientCaFile }, crlFile: config.whitelist.crlFile, refuse });
    stops.push(() => listener.close());
    const ris = new RisCredential(config.ris);
    const env = options.env ?? process.env;
    const screens = practiceScreensFor({
      config,
      db,
      scp,
      mllpPort: mllp.port,
      hl7Exchanges,
      env,
      ...(options.configFile ? { configFile: options.configFile } : {}),
      ...(options.restart ? { restart: options.restart } : {}),
      ...(options.adminGate ? { adminGate: options.adminGate } : {}),
      log,
      certificate,
      outbox,
      inbox,
      archive,
      dmpCertificateNotAfter: dmp?.certificateNotAfter,
      disk,
      appliance,
      health,
      wakeOutbox: () => drainer.wake(),
    });
    const { gate, wizard } = screens;
    const lanDeps = {
      clientAddress: clientAddressResolver(config.http.trustedProxies),
      ris,
      mount: (a: Hono<LanEnv>) => {
        a.route('/api/source', createSourceRoutes({ inbox, outbox, ris, health, admission, onStored: () => processor?.wake() }));
        a.route('/api/device', createDeviceRoutes({ ris, appliance, certificate, adminSession: (c) => gate.session(getCookie(c, ADMIN_COOKIE), c.get('origin'))?.admin === true, pinSet: () => config.setup.adminPinHash !== '' }));
        screens.mount(a);
        options.mountLan?.(a, parts);
      },
    };
    const lanListener = await listen(createLanApp(lanDeps, 'lan'), { host: config.lan.host, port: config.lan.port, tls: { ...tls, clientCaFile: '' }, refuse });
    stops.push(() => lanListener.close());
    // The touch screen also shows the portal, with the card login when the box has a CPS reader.
    let kioskPortal: ReturnType<typeof createConsumerRoutes> | undefined;
    let cpsLoginPort: number | undefined;
    const kioskDeps = {
      ...lanDeps,
      mount: (a: Hono<LanEnv>) => {
        lanDeps.mount(a);
        // The touch screen's home: the wizard until the box is set up, then its status.
        a.get('/', (c) => c.redirect(wizard.isSetUp() ? '/status' : '/setup', 302));
        a.all('/portal/*', (c) => (kioskPortal ? kioskPortal.fetch(c.req.raw, c.env) : c.json({ error: 'le portail n’est pas configuré sur ce boîtier (psc.*, xds.*)' }, 503)));
        a.all('/portal', (c) => c.redirect('/portal/'));
      },
    };
    const kioskListener = await listen(createLanApp(kioskDeps, 'kiosk'), { host: '127.0.0.1', port: config.kiosk.port, tls: { certFile: '', keyFile: '', clientCaFile: '' }, refuse });
    stops.push(() => kioskListener.close());
    if (dmp && config.psc.clientId && config.psc.clientSecret) {
      consumer = await createConsumerService({
        db,
        settings: consumerSettingsFrom(config.consumer, { dataDir: config.dataDir, httpPort: listener.port }),
        psc: createPscClient({ issuer: config.psc.issuer, clientId: config.psc.clientId, clientSecret: config.psc.clientSecret, clientAuthMethod: config.psc.clientAuthMethod, timeoutMs: config.psc.timeoutMs }),
        dmp: dmp.client,
        xdsContext: dmp.context,
        whitelist: () => images?.whitelist?.current()?.whitelist,
        bridge,
        admits: () => work.admits() && !stopping,
        log: log.child({ component: 'consumer' }),
        sourceGet: nodeSourceGet(dmp.sourceTls),
        audit: new AuditLog(db),
        ...(card && config.pkcs11.card.directMode
          ? { directSigner: (user: PortalUser) => (user.authentication?.method === 'cps-card' ? card.signerFor(user.authentication.cardSerial) : undefined) }
          : {}),
      });
      const invokeImageDisplay = (query: URLSearchParams) => resolveInvokeImageDisplay(query, archive);
      portal = createConsumerRoutes({ consumer, audit: new AuditLog(db), invokeImageDisplay });
      kioskPortal = createConsumerRoutes({ consumer, audit: new AuditLog(db), invokeImageDisplay, ...(card ? { card } : {}) });
      // No card session outlives the process that watched its card, nor the card itself.
      consumer.endCardSessions();
      const cardConsumer = consumer;
      card?.onRemoved((serial) => cardConsumer.endCardSessions(serial));
      if (config.consumer.cpsCaFile) {
        // TLS client authentication cannot cross a TLS-terminating proxy: this listener is always HTTPS.
        const cpsCertificate = certificate ?? ensureSelfSignedCertificate(config.dataDir);
        const cpsListener = await listen(createCpsLoginRoutes({ consumer, portalUrl: new URL('/portal/', consumer.redirectUri).href, log: log.child({ component: 'cps-login' }) }), {
          host: config.http.host,
          port: config.consumer.cpsLoginPort,
          tls: { certFile: cpsCertificate.certFile, keyFile: cpsCertificate.keyFile, clientCaFile: config.consumer.cpsCaFile },
          ...(config.consumer.cpsCrlFile ? { crlFile: config.consumer.cpsCrlFile } : {}),
          refuse,
        });
        cpsLoginPort = cpsListener.port;
        stops.push(() => cpsListener.close());
      }
      const stopConsumer = consumer;
      stops.push(() => stopConsumer.stop());
    }

    work.register('report', () => processor!.inFlight);
    const consumerService = consumer;
    if (consumerService) work.register('pull', () => consumerService.busy());
    processor.start();
    drainer.start();
    stops.push(() => processor!.stop(), () => drainer.stop());
    appliance.start(() => collectFleetFacts({ health, outbox, disk, certificateExpiry: dmp?.certificateNotAfter }));
    let checking = false; // a slow PACS must not stack recounts
    const lateTimer = setInterval(() => {
      if (checking) return;
      checking = true;
      void checkLateImages({ archive, inbox, bridge, watchForMs: config.source.watchPublishedForMs })
        .then((found) => found.length && processor!.wake())
        .finally(() => (checking = false));
    }, config.source.lateImagesCheckMs);
    lateTimer.unref();
    stops.push(() => clearInterval(lateTimer));
    const purgeRejected = () => {
      const n = inbox.purgeRejected(new Date(Date.now() - config.storage.rejectedRetentionDays * 86_400_000));
      if (n) log.info('refused messages aged out', { count: n, olderThanDays: config.storage.rejectedRetentionDays });
    };
    purgeRejected();
    const purgeTimer = setInterval(purgeRejected, 6 * 3_600_000);
    purgeTimer.unref();
    stops.push(() => clearInterval(purgeTimer));

    const httpPort = listener.port;
    log.info('box started', { tls: certificate ? `${certificate.selfSigned ? 'self-signed' : 'installed'} certificate ${certificate.fingerprint256}` : 'off', http: httpPort, lan: lanListener.port, kiosk: kioskListener.port, hl7: mllp.port, dimse: scp.port, pacs: `${config.pacs.aeTitle}@${config.pacs.host}:${config.pacs.port}` });
    return {
      ...parts,
      httpPort,
      lanPort: lanListener.port,
      certificate,
      kioskPort: kioskListener.port,
      ...(cpsLoginPort !== undefined ? { cpsLoginPort } : {}),
      ...(card ? { card } : {}),
      hl7Port: mllp.port,
      dimsePort: scp.port,
      appliance,
      wizard,
      busy: () => work.busy(),
      drain: async (graceMs: number) => {
        stopping = true;
        work.setAdmitting(false);
        // Said louder when something is in flight: the restart (an update, the setup's "Appliquer") waits for it.
        if (work.busy() > 0) log.warn('stopping: no new connection or request; waiting for in-flight work', { graceMs, work: work.byKind() });
        else log.info('stopping: no new connection or request; nothing in flight');
        await mllp.close(Math.min(graceMs, 5_000));
        const deadline = Date.now() + graceMs;
        while (work.busy() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        if (work.busy() > 0) log.warn('stopping with work still in flight (it resumes at the next start)', { work: work.byKind() });
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
