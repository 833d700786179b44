import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { createDicomwebService, type DicomwebService, type ImageUpstream } from '../../appliance/src/dicomweb/index.js';
import { createDicomwebRoutes, type Authorize } from '../../appliance/src/http/dicomweb-routes.js';
import { listen, type ListenTls } from '../../appliance/src/http/listen.js';
import type { ImageCompression } from '../../appliance/src/http/compression-policy.js';
import { createLogger } from '../../appliance/src/log/logger.js';
import { AuditLog } from '../../appliance/src/store/audit.js';
import { openDatabase, type Db } from '../../appliance/src/store/database.js';
import { DicomwebMetadataCache } from '../../appliance/src/store/dicomweb-cache.js';
import { m001Meta } from '../../appliance/src/store/migrations/001-meta.js';
import { m003Audit } from '../../appliance/src/store/migrations/003-audit.js';
import { m004DicomwebCache } from '../../appliance/src/store/migrations/004-dicomweb-cache.js';

/**
 * The source box's DICOMweb surface on a loopback port, for integration tests and benchmarks: the real service,
 * routes, audit trail and metadata cache, on the box's own listener (plain HTTP, or HTTPS with `tls` as the public
 * port serves it), with a bearer-token check standing in for Pro Santé Connect.
 */

export const TEST_TOKEN = 'drimbox-test-token';

export interface TestBox {
  port: number;
  /** http://127.0.0.1:port/dicom-web (https: with `tls`) */
  baseUrl: string;
  service: DicomwebService;
  audit: AuditLog;
  db: Db;
  stop(): Promise<void>;
}

export async function startBox(upstream: (tempDir: string) => ImageUpstream, options: { authorize?: Authorize; compressImages?: ImageCompression; tls?: ListenTls } = {}): Promise<TestBox> {
  const dir = mkdtempSync(join(tmpdir(), 'drimbox-box-'));
  // Migrations renumbered while 002/003 of the source side are not all registered (the store tests do the same).
  const db = openDatabase(join(dir, 'box.db'), [m001Meta, { ...m003Audit, version: 2 }, { ...m004DicomwebCache, version: 3 }]);
  const audit = new AuditLog(db);
  const app = new Hono();
  let baseUrl = '';
  const tempDir = join(dir, 'tmp');
  const authorize: Authorize =
    options.authorize ??
    (async (request) =>
      request.headers.get('authorization') === `Bearer ${TEST_TOKEN}`
        ? { outcome: 'allow', subjectNameId: 'ANS-TEST-0001' }
        : { outcome: 'deny', status: 401, reason: 'token-invalid' });
  const log = createLogger({ component: 'test-box' });
  let service: DicomwebService | undefined;
  const listener = await listen({ fetch: (req, env) => app.fetch(req, env) }, { host: '127.0.0.1', port: 0, tls: options.tls ?? { certFile: '', keyFile: '', clientCaFile: '' } });
  const port = listener.port;
  baseUrl = `${listener.secure ? 'https' : 'http'}://127.0.0.1:${port}/dicom-web`;
  service = await createDicomwebService({ upstream: upstream(tempDir), publicBaseUrl: baseUrl, tempDir, cache: new DicomwebMetadataCache(db), log });
  app.route('/dicom-web', createDicomwebRoutes({ service, authorize, audit, log, compressImages: options.compressImages }));
  return {
    port,
    baseUrl,
    service,
    audit,
    db,
    async stop() {
      await listener.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
