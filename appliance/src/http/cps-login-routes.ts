import { createHash, X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { Hono, type Context } from 'hono';
import { cardHolderFrom, type CardHolder } from '../auth/pkcs11/holder.js';
import { portalUserFromCard } from '../auth/session/index.js';
import type { ConsumerService } from '../consumer/index.js';
import type { Logger } from '../log/logger.js';
import { errorPage, fill } from '../../../ui/portal/index.js';
import { PORTAL as FR } from '../../../ui/strings/index.js';
import { PORTAL_CSP, setPageHeaders } from './page-headers.js';

/** TLS Web Client Authentication (RFC 5280 §4.2.1.12). */
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

function peerCertificate(env: unknown): { cert?: X509Certificate; authorized: boolean; error?: string } {
  const socket = (env as { incoming?: { socket?: Partial<TLSSocket> } } | undefined)?.incoming?.socket;
  const peer = socket?.getPeerCertificate?.();
  if (!peer?.raw) return { authorized: false };
  return { cert: new X509Certificate(peer.raw), authorized: !!socket?.authorized, error: socket?.authorizationError ? String(socket.authorizationError) : undefined };
}

/** The holder a CPS authentication certificate names, or why the presented certificate is not one. */
export function cpsCertificateHolder(cert: X509Certificate): { holder: CardHolder } | { refused: string } {
  const eku = cert.keyUsage;
  if (eku && eku.length && !eku.includes(CLIENT_AUTH)) return { refused: 'pas un certificat d’authentification (usage étendu sans clientAuth)' };
  try {
    return { holder: cardHolderFrom(cert) };
  } catch (err) {
    return { refused: (err as Error).message };
  }
}

/**
 * The CPS login of a workstation (its card in its own reader, presented by the browser as a TLS client certificate
 * on the box's CPS login port, verified by OpenSSL against consumer.cpsCaFile): a portal session as the card's
 * holder — the same user as a PSC login, by the national id — then back to the portal.
 */
export function createCpsLoginRoutes(deps: { consumer: ConsumerService; portalUrl: string; log: Logger }): Hono {
  const app = new Hono();
  const refuse = (c: Context, message: string, status: 401 | 403) => {
    // A portal page, served on the CPS login port: the portal's headers.
    setPageHeaders(c, PORTAL_CSP);
    return c.html(errorPage(message, undefined, FR.cpsCertTitle), status, { 'cache-control': 'no-store' });
  };
  const login = (c: Context) => {
    const peer = peerCertificate(c.env);
    if (!peer.cert) return refuse(c, FR.cpsCertMissing, 401);
    if (!peer.authorized) {
      deps.log.warn('CPS certificate login refused', { reason: peer.error, subject: peer.cert.subject.replace(/\n/g, ', ') });
      return refuse(c, fill(FR.cpsCertRefused, { reason: peer.error ?? 'chaîne non vérifiée' }), 403);
    }
    const checked = cpsCertificateHolder(peer.cert);
    if ('refused' in checked) return refuse(c, fill(FR.cpsCertRefused, { reason: checked.refused }), 403);
    const { holder } = checked;
    const certificateSha256 = createHash('sha256').update(peer.cert.raw).digest('hex');
    const { setCookie } = deps.consumer.cardLogin(undefined, portalUserFromCard(holder, { method: 'cps-certificate', certificateSha256 }));
    c.header('set-cookie', setCookie);
    c.header('cache-control', 'no-store');
    return c.redirect(deps.portalUrl, 303);
  };
  app.get('/', login);
  app.get('/portal/login/cps', login);
  return app;
}
