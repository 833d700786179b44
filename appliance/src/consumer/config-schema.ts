import { z } from 'zod';

/**
 * The `consumer` section of the box configuration, to be mounted as `consumer: consumerConfigSchema.prefault({})`
 * in config/schema.ts (this module depends on zod only).
 */
export const consumerConfigSchema = z.object({
  /** Public origin of the portal as browsers reach it (the PSC redirect URI is `<this>/portal/callback`). Empty: http://127.0.0.1:<http.port>. */
  publicBaseUrl: z.string().default(''),
  /** Image cache folder. Empty: <dataDir>/consumer-cache. */
  cacheDir: z.string().default(''),
  /** Size limit of the image cache; least recently used studies are evicted past it. */
  cacheMaxBytes: z.number().int().min(64 * 1024 * 1024).default(20 * 1024 * 1024 * 1024),
  /** Tests and the one-machine demo only: pull from loopback hosts without the whitelist, over plain HTTP too. */
  allowInsecureSourceHosts: z.boolean().default(false),
  /** Ports a whitelisted source DRIMbox may be reached on: the professional's token is sent nowhere else. */
  sourcePorts: z.array(z.number().int().min(1).max(65535)).min(1).default([443]),
  /**
   * PEM bundle of the CAs the source DRIMboxes' server certificates must chain to; empty: Node's bundled roots. The
   * box presents the structure's TLS certificate (xds.tlsP12File or the token key) to sources that ask for one.
   */
  sourceCaFile: z.string().default(''),
  /** Path under which source DRIMboxes serve WADO-RS (Retrieve URLs elsewhere are refused). */
  sourcePathPrefix: z.string().regex(/^\/[A-Za-z0-9._~\-/]*$/).default('/dicom-web'),
  /** Absolute lifetime of a portal session. */
  sessionTtlMinutes: z.number().int().min(5).max(24 * 60).default(12 * 60),
  /** A portal session unused this long ends. */
  sessionIdleMinutes: z.number().int().min(1).max(24 * 60).default(30),
  /** Secure attribute of the session cookie; off only behind plain HTTP outside loopback (never in production). */
  secureCookies: z.boolean().default(true),
  /** How long the redirect URL of a contextual call stays usable. */
  contextTtlSeconds: z.number().int().min(10).max(3600).default(300),
  /** Concurrent instance-level requests to a source DRIMbox while resuming. */
  sourceConcurrency: z.number().int().min(1).max(16).default(4),
  /** Deadline for a source DRIMbox's answer headers, and idle limit while its body streams. */
  sourceResponseTimeoutMs: z.number().int().min(1).default(30_000),
  sourceIdleTimeoutMs: z.number().int().min(1).default(60_000),
  /** Associations an import into the local PACS uses at once (each within pacs.maxAssociations). */
  importAssociations: z.number().int().min(1).max(8).default(2),
  /**
   * Login with the CPS card in a workstation's reader: the browser presents the card's authentication certificate
   * (TLS client authentication) on a port of its own — only there does the box ask for a certificate. The PEM
   * bundle of the IGC-Santé CAs the card certificates must chain to (AC IGC-SANTE FORT PERSONNES and its root);
   * empty: off. PSC stays the default login.
   */
  cpsCaFile: z.string().default(''),
  /** PEM CRLs of those CAs (a revoked card is refused); empty: none checked. */
  cpsCrlFile: z.string().default(''),
  cpsLoginPort: z.number().int().min(0).max(65535).default(8444),
  /** URL of the viewer for a study, `{study}` replaced by its Study Instance UID. */
  viewerUrlTemplate: z.string().default('/viewer/?study={study}&base=/portal/dicom-web'),
});

export type ConsumerConfig = z.infer<typeof consumerConfigSchema>;
