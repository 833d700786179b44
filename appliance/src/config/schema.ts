import { z } from 'zod';
import { xdsConfigSchema } from '../xds/config-schema.js';
import { consumerConfigSchema } from '../consumer/config-schema.js';
import { lanConfigSchema, kioskConfigSchema, risConfigSchema } from '../http/lan-config-schema.js';
import { deviceConfigSchema } from '../device/config-schema.js';
import { pkcs11ConfigSchema } from '../auth/pkcs11/config-schema.js';
import { setupConfigSchema } from '../setup/config-schema.js';

// DICOM AE titles: 1–16 characters of the default repertoire, no backslash, not all spaces (PS3.5 §6.2, VR AE).
const aeTitle = z
  .string()
  .min(1)
  .max(16)
  .regex(/^[\x20-\x5b\x5d-\x7e]*[^ ][\x20-\x5b\x5d-\x7e]*$/, 'AE title: 1-16 printable ASCII characters, no backslash');
const port = z.number().int().min(0).max(65535);
const host = z.string().min(1);
const ms = z.number().int().min(1);

const pacsSchema = z.object({
  /** Called AE title of the PACS. */
  aeTitle: aeTitle.default('ORTHANC'),
  host: host.default('127.0.0.1'),
  port: port.default(4242),
  /** How to pull images: C-GET, or C-MOVE to the box's own C-STORE SCP for PACS without C-GET. */
  retrieve: z.enum(['C-GET', 'C-MOVE']).default('C-GET'),
  /** Base URL of the PACS's own DICOMweb service, when it has one (empty: DIMSE only). */
  dicomwebUrl: z.string().default(''),
  /** Concurrent associations the box opens to this PACS. */
  maxAssociations: z.number().int().min(1).max(64).default(4),
});

export const configSchema = z.object({
  box: z
    .object({
      /** Display name of the site (shown on the setup screen and in the viewer banner). */
      name: z.string().default('DRIMbox'),
      /** The box's own AE title, as declared in the PACS. */
      aeTitle: aeTitle.default('DRIMBOX'),
      /** Public base URL of this box's DICOMweb service: the Retrieve URLs in published KOS point here. */
      publicBaseUrl: z.string().url().default('http://127.0.0.1:8080/dicom-web'),
      /** UID root under which the box creates UIDs (KOS instances, synthetic studies). */
      uidRoot: z
        .string()
        .regex(/^[12](\.(0|[1-9][0-9]*))+$/, 'UID root: dotted numeric OID')
        .max(40)
        .default('1.2.826.0.1.3680043.10.1558'),
    })
    .prefault({}),
  pacs: pacsSchema.prefault({}),
  dimse: z
    .object({
      /** Port of the box's C-STORE/C-ECHO SCP (C-MOVE destination). */
      port: port.default(11112),
      /** An address, or "pacs-facing": the local address the box uses to reach pacs.host (found at start). */
      listenHost: host.default('pacs-facing'),
      /** Calling AE titles allowed to associate with the box's SCP (empty: the configured PACS only). */
      allowedCallingAeTitles: z.array(aeTitle).default([]),
      /** Peer addresses or CIDR blocks allowed to connect to the SCP (empty: the addresses of pacs.host). */
      allowedPeerAddresses: z.array(z.string().min(1)).default([]),
      /** Concurrent inbound associations on the SCP. */
      maxInboundAssociations: z.number().int().min(1).max(256).default(16),
      connectTimeoutMs: ms.default(10_000),
      /** Inactivity timeout of an association; each pending response resets it. */
      responseTimeoutMs: ms.default(30_000),
      maxPduLength: z.number().int().min(4096).max(1 << 24).default(262_144),
    })
    .prefault({}),
  http: z
    .object({
      host: host.default('0.0.0.0'),
      port: port.default(8080),
      /**
       * TLS on the public and LAN listeners (HTTP/2, HTTP/1.1 fallback; plain HTTP on the same port is redirected to
       * HTTPS). Without certificate files the box makes a self-signed one at first start (`<dataDir>/tls/`).
       */
      tls: z
        .object({
          /** false: plain HTTP everywhere — only behind a TLS-terminating proxy, or on loopback in tests. */
          enabled: z.boolean().default(true),
          /** The practice's certificate (PEM, with its chain) and key; empty: the self-signed one. */
          certFile: z.string().default(''),
          keyFile: z.string().default(''),
          /** CAs of the client certificates other boxes present (mutual TLS); empty: none requested. */
          clientCaFile: z.string().default(''),
        })
        .prefault({}),
      /** Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR blocks); empty: none. */
      trustedProxies: z.array(z.string().min(1)).default([]),
      /**
       * gzip of the WADO-RS instances served, to a client that accepts it: `wan` for callers outside the private
       * networks (another box across the internet), `always`, or `never` (http/compression-policy.ts).
       */
      compressImages: z.enum(['never', 'wan', 'always']).default('wan'),
    })
    .prefault({}),
  /** The practice's side (RIS HTTP intake, status, setup): never on the public listener. */
  lan: lanConfigSchema.prefault({}),
  kiosk: kioskConfigSchema.prefault({}),
  ris: risConfigSchema.prefault({}),
  hl7: z
    .object({
      host: host.default('0.0.0.0'),
      port: port.default(2575),
      /** Largest MLLP frame accepted (a CDA with an embedded PDF); bigger ones are refused AE, never buffered. */
      maxFrameBytes: z.number().int().min(65_536).max(268_435_456).default(33_554_432),
      maxConnections: z.number().int().min(1).max(4096).default(256),
      /** Connections from one address: one host cannot take them all. */
      maxConnectionsPerAddress: z.number().int().min(1).max(4096).default(8),
      /**
       * Idle connections are closed after this long (a RIS reconnects when it has a message; 0 never closes them —
       * then idle connections can lock the RIS out).
       */
      idleTimeoutMs: z.number().int().min(0).default(300_000),
      /** A frame started and not finished within this long is dropped (a half-sent message holds nothing for ever). */
      frameTimeoutMs: z.number().int().min(1000).default(60_000),
    })
    .prefault({}),
  source: z
    .object({
      /** An exam is taken as complete once its instance count has not changed for this long. */
      stableAfterMs: z.number().int().min(0).default(15_000),
      /** How often to look again for an exam the PACS does not have yet, or that is still arriving. */
      recheckMs: ms.default(10_000),
      /** After this long without the exam in the PACS, the report is set aside as failed (visible, retryable). */
      maxWaitForImagesMs: ms.default(24 * 60 * 60_000),
      /** Published exams are re-checked for late images for this long after publication... */
      watchPublishedForMs: z.number().int().min(0).default(6 * 60 * 60_000),
      /** ...this often (one image-level C-FIND per recent exam: keep it gentle on the PACS). */
      lateImagesCheckMs: z.number().int().min(10_000).default(5 * 60_000),
    })
    .prefault({}),
  /** The DMP (national record) over IHE XDS.b: endpoints, the structure's certificates, submission identities. */
  xds: xdsConfigSchema.prefault({}),
  /** Keys on PKCS#11 tokens (structure HSM) and the CPS card reader. */
  pkcs11: pkcs11ConfigSchema.prefault({}),
  /** The consumer side: portal, image cache, import into the local PACS. */
  consumer: consumerConfigSchema.prefault({}),
  /** Pro Santé Connect (OIDC): consumer login and introspection of the tokens that come with image requests. */
  psc: z
    .object({
      issuer: z.string().url().default('https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet'),
      clientId: z.string().default(''),
      clientSecret: z.string().default(''),
      clientAuthMethod: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
      timeoutMs: ms.default(5_000),
      introspectionCacheEntries: z.number().int().min(1).default(10_000),
      /** How long a positive token introspection is believed: a token revoked at PSC stops working within this bound. */
      introspectionCacheSeconds: z.number().int().min(0).max(300).default(60),
    })
    .prefault({}),
  /** The ANS-signed list of DRIMboxes allowed to call this one (ci-sis-imaging.md §3.1). */
  whitelist: z
    .object({
      /** Where to download the signed ListeBlancheDRIM-M; empty: use the last good copy on disk only. */
      url: z.string().default(''),
      /** PEM bundle of the IGC-Santé certificates the list's signature must chain to. */
      trustAnchorsFile: z.string().default(''),
      /** Attributes the list's signer must carry (RFC 4514): the CN and ANS's identifier, as ci-sis-imaging.md §3.1 names them. */
      signerSubject: z.string().default('CN=Liste Blanche DRIM-M,OU=318751275100020'),
      /**
       * PEM file of the CRLs of the IGC-Santé CAs (kept current by the fleet or the setup screen): when set, every
       * certificate of the list's chain and every client certificate of another box is checked against it.
       */
      crlFile: z.string().default(''),
      refreshIntervalHours: z.number().min(1).max(168).default(24),
    })
    .prefault({}),
  /** Who may read images from this box. */
  access: z
    .object({
      requireClientCertificate: z.boolean().default(false),
      requireWhitelisted: z.boolean().default(true),
      rateLimit: z
        .object({ burst: z.number().int().min(1).default(1000), perSecond: z.number().positive().default(200) })
        .prefault({}),
    })
    .prefault({}),
  /** The data volume: below this much free space the box takes no new report (answered "resend later"). */
  storage: z
    .object({
      minFreeMegabytes: z.number().int().min(0).default(512),
      /** Refused and resent messages are deleted after this many days (the log keeps their trace). */
      rejectedRetentionDays: z.number().int().min(1).default(30),
    })
    .prefault({}),
  device: deviceConfigSchema.prefault({}),
  /** The touch screen's setup wizard and the administrator's PIN. */
  setup: setupConfigSchema.prefault({}),
  /** Where the box keeps its state (SQLite file, received DICOM files, caches). /data on balenaOS. */
  dataDir: z.string().min(1).default('./var/data'),
  log: z
    .object({
      level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type PacsConfig = Config['pacs'];
