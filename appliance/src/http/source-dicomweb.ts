import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Hono } from 'hono';
import { createDicomwebRoutes } from './dicomweb-routes.js';
import type { ImageCompression } from './compression-policy.js';
import { parseDistinguishedName, type DistinguishedName } from '../auth/whitelist/index.js';
import type { ImageServing } from '../source/serve-images.js';
import type { CallerConnection } from '../source/image-access.js';
import type { AuditLog } from '../store/audit.js';
import type { Logger } from '../log/logger.js';
import type { WorkTracker } from '../device/work-tracker.js';

/** The subject of the client certificate, when the TLS handshake verified it against http.tls.clientCaFile. */
function verifiedClientSubject(env: unknown): DistinguishedName | undefined {
  const socket = (env as { incoming?: { socket?: Partial<TLSSocket> } } | undefined)?.incoming?.socket;
  if (!socket?.getPeerCertificate || !socket.authorized) return undefined;
  const peer = socket.getPeerCertificate();
  if (!peer?.raw) return undefined;
  return parseDistinguishedName(new X509Certificate(peer.raw).subject);
}

function clientAddress(c: Parameters<typeof getConnInfo>[0]): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

/**
 * Mounts the source box's DICOMweb under /dicom-web on the public listener. Who is calling comes from the
 * connection (TCP peer, verified TLS client certificate), never from a header.
 */
export function mountSourceDicomweb(app: Hono, images: ImageServing, deps: { audit: AuditLog; log: Logger; work?: WorkTracker; compressImages?: ImageCompression }): void {
  const peers = new WeakMap<Request, CallerConnection>();
  const routes = createDicomwebRoutes({
    service: images.service,
    audit: deps.audit,
    log: deps.log,
    work: deps.work,
    clientAddress,
    compressImages: deps.compressImages,
    authorize: (request, resource) => images.authorize(request, resource, peers.get(request) ?? {}),
  });
  app.use('/dicom-web/*', async (c, next) => {
    peers.set(c.req.raw, { remoteAddress: clientAddress(c), certificateSubject: verifiedClientSubject(c.env) });
    await next();
  });
  app.route('/dicom-web', routes);
}
