import type { KosManifest } from '../dicom/kos/index.js';
import { isAuthenticated, type SessionManager } from '../auth/session/index.js';
import { createDicomwebService, type DicomwebService } from '../dicomweb/index.js';
import type { Coverage } from '../dicomweb/response.js';
import type { Logger } from '../log/logger.js';
import type { ConsumerMetadataCache } from '../store/consumer-cache.js';
import type { ConsumerSessionTable } from '../store/consumer-sessions.js';
import { createCacheUpstream } from './cache/cache-upstream.js';
import type { ImageCache } from './cache/image-cache.js';

/**
 * The viewer's read path: standard QIDO-RS / WADO-RS (instances, frames, metadata, bulk data) over the image cache,
 * under `<portal>/dicom-web`, with the same service code the source box serves with. A request is allowed only for
 * a logged-in session, and only for a study that session opened, narrowed to what its KOS references.
 */

/** Shaped like http/dicomweb-routes' AccessDecision, which the routes take as is. */
export type LocalAccess =
  | { outcome: 'allow'; subjectNameId: string; kosSopInstanceUid?: string; coverage?: Coverage; mayDisclose?: (studyUid: string) => boolean }
  | { outcome: 'deny'; status: 401 | 403; reason: string; message?: string; subjectNameId?: string; wwwAuthenticate?: string };

export interface LocalResource {
  studyInstanceUid?: string;
}

export function coverageOf(manifest: KosManifest): Coverage {
  const out = new Map<string, Set<string>>();
  for (const s of manifest.series) {
    let set = out.get(s.seriesInstanceUid);
    if (!set) out.set(s.seriesInstanceUid, (set = new Set()));
    for (const i of s.instances) set.add(i.sopInstanceUid);
  }
  return out;
}

export function createLocalAccess(sessions: SessionManager, table: ConsumerSessionTable) {
  return async function authorize(request: Request, resource: LocalResource): Promise<LocalAccess> {
    const session = sessions.resolve(request.headers.get('cookie'));
    if (!isAuthenticated(session)) {
      return { outcome: 'deny', status: 401, reason: 'no-session', message: 'no logged-in portal session', wwwAuthenticate: 'Cookie' };
    }
    const who = session.user.subjectNameId;
    const st = resource.studyInstanceUid;
    if (!st) {
      const mine = new Set(table.studies(session.id).map((s) => s.studyUid));
      return { outcome: 'allow', subjectNameId: who, mayDisclose: (uid) => mine.has(uid) };
    }
    const opened = table.study(session.id, st);
    if (!opened) return { outcome: 'deny', status: 403, reason: 'study-not-opened', message: 'study not opened in this session', subjectNameId: who };
    let manifest: KosManifest;
    try {
      manifest = JSON.parse(opened.manifest) as KosManifest;
    } catch {
      return { outcome: 'deny', status: 403, reason: 'manifest-unreadable', subjectNameId: who };
    }
    return { outcome: 'allow', subjectNameId: who, kosSopInstanceUid: opened.kosSopInstanceUid, coverage: coverageOf(manifest) };
  };
}

export interface LocalDicomwebOptions {
  cache: ImageCache;
  metadata: ConsumerMetadataCache;
  /** `<public origin>/portal/dicom-web`: every BulkDataURI and RetrieveURL handed to the viewer starts here. */
  publicBaseUrl: string;
  tempDir: string;
  log: Logger;
}

export function createLocalDicomweb(options: LocalDicomwebOptions): Promise<DicomwebService> {
  return createDicomwebService({
    upstream: createCacheUpstream(options.cache),
    publicBaseUrl: options.publicBaseUrl,
    tempDir: options.tempDir,
    cache: options.metadata,
    log: options.log,
  });
}
