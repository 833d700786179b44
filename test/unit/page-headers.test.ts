import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RisCredential } from '../../appliance/src/auth/ris/index.js';
import { createLanApp } from '../../appliance/src/http/lan-app.js';
import { PRACTICE_SCREENS_CSP } from '../../appliance/src/http/page-headers.js';
import { createSetupRoutes } from '../../appliance/src/http/setup-routes.js';
import { createStatusRoutes } from '../../appliance/src/http/status-routes.js';
import { AdminGate } from '../../appliance/src/setup/admin-gate.js';
import type { SetupWizard } from '../../appliance/src/setup/wizard.js';
import { ApplyingPage } from '../../ui/setup/other-pages.js';

describe('the setup and status screens’ security headers', () => {
  it('let the restart page run its inline script, by its hash, and no other inline script', () => {
    const html = String(ApplyingPage({ since: '2026-12-07T10:00:00.000Z' }));
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(1);
    // What the browser hashes: the script element's source text exactly as served.
    const hash = createHash('sha256').update(scripts[0]!, 'utf8').digest('base64');
    const scriptSrc = PRACTICE_SCREENS_CSP.split('; ').find((d) => d.startsWith('script-src '));
    expect(scriptSrc).toBe(`script-src 'self' 'sha256-${hash}'`);
    expect(PRACTICE_SCREENS_CSP).not.toContain('unsafe');
  });

  it('come with every answer of both route groups: static files, the PIN page, a redirect, JSON', async () => {
    const gate = new AdminGate({ maxPinFailures: 5, pinLockMinutes: 5, sessionIdleMinutes: 15 }, () => '');
    const access = { gate, isSetUp: () => true, secureLan: false };
    // The routes asked below read nothing of the wizard but whether the box is set up.
    const wizard = { isSetUp: () => true } as unknown as SetupWizard;
    const app = createLanApp(
      {
        clientAddress: () => '192.168.1.50',
        ris: new RisCredential({ httpToken: '', allowedAddresses: [] }),
        mount: (lan) => {
          lan.route('/setup', createSetupRoutes({ wizard, gate, secureLan: false, startedAt: 'then', factoryReset: () => undefined, pendingPublications: () => 0 }));
          lan.route('/status', createStatusRoutes({ access, report: () => Promise.reject(new Error('not asked')), outbox: { retry: () => 0 }, wake: () => undefined, boxName: 'Test' }));
        },
      },
      'lan',
    );
    const answers: [string, number, string][] = [
      ['/setup/assets/setup.js', 200, 'no-cache'],
      ['/setup/code', 200, 'no-store'],
      ['/setup/etat', 200, 'no-store'],
      ['/setup/etape/identite', 303, 'no-store'],
      ['/status/assets/status.css', 200, 'no-cache'],
      ['/status', 303, 'no-store'],
    ];
    for (const [path, status, cache] of answers) {
      const res = await app.request(path);
      expect(res.status, path).toBe(status);
      expect(res.headers.get('content-security-policy'), path).toBe(PRACTICE_SCREENS_CSP);
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), path).toBe('same-origin');
      expect(res.headers.get('cache-control'), path).toBe(cache);
    }
    expect(PRACTICE_SCREENS_CSP).toContain("frame-ancestors 'none'");
    expect(PRACTICE_SCREENS_CSP).toContain("form-action 'self'");
  });
});
