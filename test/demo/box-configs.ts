/** The configuration files of the demo's two boxes, as the setup screen would write them on each device. */
import { join } from 'node:path';
import { reservedPorts } from '../peers/ports.js';

export interface BoxPorts {
  http: number;
  hl7: number;
  dimse: number;
  /** The practice's side and the touch screen: fixed too, so that a restarted box is found where it was. */
  lan: number;
  kiosk: number;
}

async function wellKnownPort(port: number, otherwise: () => Promise<number>): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolvePort) => {
    const s = createServer();
    s.once('error', () => void otherwise().then(resolvePort));
    s.listen(port, '127.0.0.1', () => s.close(() => resolvePort(port)));
  });
}

/**
 * The well-known ports when free (8080/8081...), other free ones otherwise; `wellKnown: false` (tests run side by
 * side): free ports only. The boxes bind them seconds later (a container later still): they are taken below the
 * ephemeral range, where an outgoing connection cannot take one in between, and all distinct.
 */
export async function demoPorts(options: { wellKnown?: boolean } = {}): Promise<{ source: BoxPorts; consumer: BoxPorts }> {
  const spare = await reservedPorts(10);
  const free = async () => spare.pop()!;
  const preferredPort = options.wellKnown === false ? free : (port: number) => wellKnownPort(port, free);
  return {
    source: { http: await preferredPort(8080), hl7: await preferredPort(2575), dimse: await preferredPort(11112), lan: await free(), kiosk: await free() },
    consumer: { http: await preferredPort(8081), hl7: await preferredPort(2576), dimse: await preferredPort(11113), lan: await free(), kiosk: await free() },
  };
}

export interface SitePeers {
  pacs: { aeTitle: string; dicomPort: number };
  /** The `xds` section startDmpForBox made: the DMP simulator's URL and the box's certificates. */
  xds: Record<string, unknown>;
  pscIssuer: string;
}

function listeners(ports: BoxPorts) {
  return {
    dimse: { port: ports.dimse, listenHost: '127.0.0.1' },
    http: { port: ports.http, host: '127.0.0.1', tls: { enabled: false } },
    lan: { port: ports.lan, host: '127.0.0.1' },
    kiosk: { port: ports.kiosk },
    hl7: { port: ports.hl7, host: '127.0.0.1' },
  };
}

export function sourceBoxConfig(ports: BoxPorts, peers: SitePeers, updateLockFile: string): Record<string, unknown> {
  return {
    box: { name: 'Imagerie médicale de Saint-Pierre', aeTitle: 'DRIMBOX_SP', publicBaseUrl: `http://127.0.0.1:${ports.http}/dicom-web` },
    pacs: { aeTitle: peers.pacs.aeTitle, port: peers.pacs.dicomPort },
    ...listeners(ports),
    source: { stableAfterMs: 2000, recheckMs: 500 },
    xds: peers.xds,
    psc: { issuer: peers.pscIssuer, clientId: 'drimbox-saint-pierre', clientSecret: 'demo-secret-sp' },
    // On one machine there is no ANS whitelist to check boxes against: the PSC token still decides.
    access: { requireWhitelisted: false },
    // Watch it appear while the box streams a study, and go once the stream ends (balena's update lock).
    device: { updateLockFile },
    log: { level: 'warn' },
  };
}

export function consumerBoxConfig(ports: BoxPorts, peers: SitePeers, work: string): Record<string, unknown> {
  const portalOrigin = `http://127.0.0.1:${ports.http}`;
  return {
    box: { name: 'Cabinet de radiologie de Strasbourg', aeTitle: 'DRIMBOX_ST', publicBaseUrl: `${portalOrigin}/dicom-web` },
    pacs: { aeTitle: peers.pacs.aeTitle, port: peers.pacs.dicomPort },
    ...listeners(ports),
    xds: peers.xds,
    psc: { issuer: peers.pscIssuer, clientId: 'drimbox-strasbourg', clientSecret: 'demo-secret-st' },
    // One machine, plain HTTP: the source box is on loopback, not a whitelisted https host.
    consumer: { publicBaseUrl: portalOrigin, allowInsecureSourceHosts: true, secureCookies: false },
    device: { updateLockFile: join(work, 'consumer/updates.lock') },
    access: { requireWhitelisted: false },
    log: { level: 'warn' },
  };
}

/** The PSC simulator's clients: one per box, with its portal's redirect URIs. */
export function pscClients(ports: { source: BoxPorts; consumer: BoxPorts }) {
  const portalOrigin = `http://127.0.0.1:${ports.consumer.http}`;
  return [
    { clientId: 'drimbox-saint-pierre', clientSecret: 'demo-secret-sp', redirectUris: [`http://127.0.0.1:${ports.source.http}/portal/callback`] },
    { clientId: 'drimbox-strasbourg', clientSecret: 'demo-secret-st', redirectUris: [`${portalOrigin}/portal/callback`], postLogoutRedirectUris: [`${portalOrigin}/portal/`] },
  ];
}
