import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import { createMetadataService, type SeriesMetadataCache } from './metadata.js';
import { createQidoService } from './qido.js';
import { createWadoService } from './wado.js';
import type { ImageUpstream } from './upstream/types.js';

/**
 * The DICOMweb service of the source box: QIDO-RS, WADO-RS (instances, metadata, frames, bulk data) over one
 * upstream, the PACS's DICOMweb service or DIMSE. HTTP routes (http/dicomweb-routes.ts) call it and add access
 * control and the audit trail.
 */

export interface DicomwebServiceOptions {
  upstream: ImageUpstream;
  /** config box.publicBaseUrl: the root every URL we hand out (RetrieveURL, BulkDataURI) starts with. */
  publicBaseUrl: string;
  /** Per-request temp folders (dataDir/tmp/dicomweb): emptied at start, each removed when its request ends. */
  tempDir: string;
  cache?: SeriesMetadataCache;
  log: Logger;
  maxSearchLimit?: number;
}

export interface DicomwebStats {
  /** Upstream retrievals in progress. */
  activeRetrievals: number;
  completedRetrievals: number;
  /** Retrievals stopped before their end (client gone, failure). */
  abandonedRetrievals: number;
  /** Of all retrievals started, those relayed as stored (multipart-relay.ts) rather than instance by instance. */
  relayedRetrievals: number;
}

export async function createDicomwebService(options: DicomwebServiceOptions) {
  await mkdir(options.tempDir, { recursive: true });
  // Leftovers of a previous run (power cut mid-retrieval) are never served: clear them.
  for (const name of await readdir(options.tempDir)) await rm(join(options.tempDir, name), { recursive: true, force: true });
  const stats: DicomwebStats = { activeRetrievals: 0, completedRetrievals: 0, abandonedRetrievals: 0, relayedRetrievals: 0 };
  const wado = createWadoService({
    upstream: options.upstream,
    tempDir: options.tempDir,
    log: options.log,
    onUpstream: (event, relayed) => {
      if (event === 'start') {
        stats.activeRetrievals++;
        if (relayed) stats.relayedRetrievals++;
      } else {
        stats.activeRetrievals--;
        if (event === 'end') stats.completedRetrievals++;
        else stats.abandonedRetrievals++;
      }
    },
  });
  const metadata = createMetadataService({ upstream: options.upstream, wado, publicBaseUrl: options.publicBaseUrl, tempDir: options.tempDir, cache: options.cache, log: options.log });
  const qido = createQidoService({ upstream: options.upstream, publicBaseUrl: options.publicBaseUrl, maxLimit: options.maxSearchLimit });
  return {
    search: qido.search,
    retrieve: wado.retrieve,
    frames: wado.frames,
    bulk: wado.bulk,
    studyMetadata: metadata.study,
    seriesMetadata: metadata.series,
    instanceMetadata: metadata.instance,
    /** Drops cached metadata of a study: call it when the exam changes (IOCM rejection, late images, update). */
    invalidateStudy: metadata.invalidateStudy,
    /** Builds a study's series metadata ahead of its first viewer (a manifest was just published). Never rejects. */
    prepareStudy: metadata.prepareStudy,
    stats: (): DicomwebStats => ({ ...stats }),
  };
}

export type DicomwebService = Awaited<ReturnType<typeof createDicomwebService>>;
export { createDicomwebUpstream, type DicomwebUpstreamOptions } from './upstream/dicomweb.js';
export { createDimseUpstream, type DimseUpstreamOptions } from './upstream/dimse.js';
export type { ImageUpstream } from './upstream/types.js';
export type { DicomwebResponse, RequestContext } from './response.js';
export type { SeriesMetadataCache, CachedSeriesMetadata } from './metadata.js';
export { DicomwebError } from './errors.js';
