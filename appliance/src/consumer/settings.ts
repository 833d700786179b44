import { join } from 'node:path';
import type { ConsumerConfig } from './config-schema.js';
import type { ConsumerSettings } from './service.js';

/** The consumer service's settings from the `consumer` config section and the box's data directory and HTTP port. */
export function consumerSettingsFrom(cfg: ConsumerConfig, box: { dataDir: string; httpPort: number }): ConsumerSettings {
  return {
    publicBaseUrl: cfg.publicBaseUrl || `http://127.0.0.1:${box.httpPort}`,
    cacheDir: cfg.cacheDir || join(box.dataDir, 'consumer-cache'),
    cacheMaxBytes: cfg.cacheMaxBytes,
    tempDir: join(box.dataDir, 'tmp', 'consumer'),
    allowInsecureSourceHosts: cfg.allowInsecureSourceHosts,
    sourcePorts: cfg.sourcePorts,
    sourcePathPrefix: cfg.sourcePathPrefix,
    sessionTtlMs: cfg.sessionTtlMinutes * 60_000,
    sessionIdleMs: cfg.sessionIdleMinutes * 60_000,
    secureCookies: cfg.secureCookies,
    contextTtlMs: cfg.contextTtlSeconds * 1000,
    sourceConcurrency: cfg.sourceConcurrency,
    sourceResponseTimeoutMs: cfg.sourceResponseTimeoutMs,
    sourceIdleTimeoutMs: cfg.sourceIdleTimeoutMs,
    viewerUrlTemplate: cfg.viewerUrlTemplate,
    importAssociations: cfg.importAssociations,
  };
}
