import { STATUS } from '../../../ui/strings/status.js';
import { SETUP } from '../../../ui/strings/setup.js';
import { Hono, type Context } from 'hono';
import type { RisCredential } from '../auth/ris/index.js';
import type { Appliance } from '../device/appliance.js';
import type { BoxCertificate } from '../device/box-certificate.js';
import { requireRis, type LanEnv } from './lan-app.js';

export interface DeviceRoutesDeps {
  ris: RisCredential;
  appliance: Pick<Appliance, 'refreshUpdateState' | 'status'>;
  /** The listeners' certificate (its fingerprint is what a LAN browser is asked to accept); none when TLS is off. */
  certificate?: BoxCertificate;
  /** Whether the request carries an administrator's session (the PIN given on the setup screen). */
  adminSession: (c: Context<LanEnv>) => boolean;
  /** Whether the administrator's PIN exists yet. */
  pinSet: () => boolean;
}

/**
 * `GET /api/device/status` on the practice's side: work in flight, the update lock and what the box does about an
 * update, which settings come from the fleet, the computer's health. On the touch screen (loopback) as is; from the
 * LAN with an administrator's session (PIN), or the RIS credential until the administrator's PIN exists.
 */
export function createDeviceRoutes(deps: DeviceRoutesDeps): Hono<LanEnv> {
  const app = new Hono<LanEnv>();
  const ris = requireRis(deps.ris);
  app.use('*', async (c, next) => {
    if (c.get('origin') === 'kiosk' || deps.adminSession(c)) return next();
    if (deps.pinSet()) return c.json({ error: SETUP.access.pinRequired }, 401);
    return ris(c, next);
  });
  app.get('/status', async (c) => {
    await deps.appliance.refreshUpdateState();
    const cert = deps.certificate;
    const status = deps.appliance.status();
    return c.json({
      ...status,
      // The status screen's sentence, from the catalogue (ui/strings/status.ts).
      ...(status.updateState ? { message: STATUS.update[status.updateState] } : {}),
      certificate: cert ? { fingerprint256: cert.fingerprint256, notAfter: cert.notAfter.toISOString(), selfSigned: cert.selfSigned } : null,
    });
  });
  return app;
}
