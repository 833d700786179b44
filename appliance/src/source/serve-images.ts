import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Db } from '../store/database.js';
import type { KosArchive } from '../store/kos-archive.js';
import type { PacsBridge } from '../dimse/types.js';
import { DicomwebMetadataCache } from '../store/dicomweb-cache.js';
import { createDicomwebService, createDicomwebUpstream, createDimseUpstream, type DicomwebService } from '../dicomweb/index.js';
import { createPscClient, createTokenIntrospector, type TokenIntrospector } from '../auth/psc/index.js';
import { createWhitelistStore, type WhitelistStore } from '../auth/whitelist/index.js';
import { loadCertificates } from '../auth/whitelist/verify.js';
import { createRateLimiter } from '../auth/access/index.js';
import { createImageAccess, type CallerConnection } from './image-access.js';
import type { AccessDecision, DicomwebResource } from '../dicomweb/access.js';
import type { Logger } from '../log/logger.js';

export interface ImageServing {
  service: DicomwebService;
  whitelist?: WhitelistStore;
  /** The access decision for one request, given who the connection says is calling. */
  authorize(request: Request, resource: DicomwebResource, caller: CallerConnection): Promise<AccessDecision>;
}

/**
 * The source box's DICOMweb, as other boxes and browsers reach it: the PACS behind (its own DICOMweb, or DIMSE),
 * Pro Santé Connect tokens checked by introspection, the KOS archive deciding what may be seen, every request
 * in the audit trail.
 */
export async function createImageServing(deps: { config: Config; db: Db; archive: KosArchive; bridge: PacsBridge; log: Logger }): Promise<ImageServing> {
  const { config, db, archive, bridge, log } = deps;
  const tempDir = join(config.dataDir, 'tmp', 'dicomweb');
  const upstream = config.pacs.dicomwebUrl
    ? createDicomwebUpstream({ baseUrl: config.pacs.dicomwebUrl })
    : createDimseUpstream({ bridge, tempDir, decompress: config.pacs.retrieve === 'C-GET' });
  const service = await createDicomwebService({
    upstream,
    publicBaseUrl: config.box.publicBaseUrl,
    tempDir,
    cache: new DicomwebMetadataCache(db),
    log: log.child({ component: 'dicomweb' }),
  });

  // Until the box is declared to Pro Santé Connect (setup), no token can be checked: images answer 503.
  const introspector: TokenIntrospector = config.psc.clientId && config.psc.clientSecret
    ? createTokenIntrospector({
        introspect: (() => {
          const psc = createPscClient({ issuer: config.psc.issuer, clientId: config.psc.clientId, clientSecret: config.psc.clientSecret, clientAuthMethod: config.psc.clientAuthMethod, timeoutMs: config.psc.timeoutMs });
          return (token: string) => psc.introspect(token) as Promise<Record<string, unknown>>;
        })(),
        issuer: config.psc.issuer,
        maxEntries: config.psc.introspectionCacheEntries,
        positiveTtlMs: config.psc.introspectionCacheSeconds * 1000,
        log,
      })
    : { check: async () => ({ state: 'unavailable', reason: 'Pro Santé Connect is not configured on this box (psc.clientId, psc.clientSecret)' }) };

  let whitelist: WhitelistStore | undefined;
  if (config.whitelist.url && config.whitelist.trustAnchorsFile) {
    whitelist = createWhitelistStore({
      url: config.whitelist.url,
      cacheFile: join(config.dataDir, 'whitelist', 'ListeBlancheDRIM-M.xml'),
      trust: { anchors: loadCertificates(readFileSync(config.whitelist.trustAnchorsFile, 'utf8')), signerSubject: config.whitelist.signerSubject, ...(config.whitelist.crlFile ? { crlPem: readFileSync(config.whitelist.crlFile, 'utf8') } : {}) },
      refreshIntervalMs: config.whitelist.refreshIntervalHours * 3_600_000,
      log,
    });
    void whitelist.start().catch((err: unknown) => log.warn('whitelist unavailable', { error: err }));
  }

  const access = createImageAccess({
    archive,
    introspector,
    whitelist: () => whitelist?.current()?.whitelist,
    rateLimiter: createRateLimiter({ capacity: config.access.rateLimit.burst, refillPerSecond: config.access.rateLimit.perSecond }),
    policy: { requireClientCertificate: config.access.requireClientCertificate, requireWhitelisted: config.access.requireWhitelisted },
  });
  return { service, whitelist, authorize: access };
}
