import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '../..');

describe('drimbox config show', () => {
  it('prints the effective configuration with every secret redacted (passwords, PSC secret, RIS token, token PIN)', () => {
    const secrets = {
      DRIMBOX_PKCS11_STRUCTURE_PIN: '246810',
      DRIMBOX_XDS_TLS_P12_PASSWORD: 'p12-password-value',
      DRIMBOX_PSC_CLIENT_SECRET: 'psc-client-secret-value',
      DRIMBOX_RIS_HTTP_TOKEN: 'ris-token-value-0123456789-0123456789',
    };
    const r = spawnSync(process.execPath, [join(REPO, 'bin/drimbox.js'), 'config', 'show'], {
      encoding: 'utf8',
      env: { ...process.env, DRIMBOX_CONFIG: '', DRIMBOX_PKCS11_STRUCTURE_MODULE: '/usr/lib/softhsm/libsofthsm2.so', ...secrets },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const value of Object.values(secrets)) expect(r.stdout).not.toContain(value);
    const shown = JSON.parse(r.stdout) as { pkcs11: { structure: { module: string; pin: string } }; xds: { tlsP12Password: string; signatureP12Password: string }; psc: { clientSecret: string }; ris: { httpToken: string } };
    expect(shown.pkcs11.structure).toMatchObject({ module: '/usr/lib/softhsm/libsofthsm2.so', pin: '[redacted]' });
    expect(shown.xds.tlsP12Password).toBe('[redacted]');
    expect(shown.xds.signatureP12Password).toBe(''); // nothing to hide when unset
    expect(shown.psc.clientSecret).toBe('[redacted]');
    expect(shown.ris.httpToken).toBe('[redacted]');
  });
});
