import { describe, expect, it, afterEach } from 'vitest';
import { Hono } from 'hono';
import { AddressList } from '../../appliance/src/auth/address-list.js';
import { RisCredential } from '../../appliance/src/auth/ris/index.js';
import { clientAddressResolver } from '../../appliance/src/http/client-address.js';
import { createLanApp, type LanEnv } from '../../appliance/src/http/lan-app.js';
import { listen, type Listener } from '../../appliance/src/http/listen.js';

const TOKEN = 'a-ris-token-long-enough-to-be-accepted-0001';

describe('AddressList', () => {
  it('matches addresses and CIDR blocks, IPv4-mapped IPv6 included', () => {
    const list = new AddressList(['192.168.1.0/24', '10.0.0.7', 'fd00::/8'], 'test');
    expect(list.has('192.168.1.200')).toBe(true);
    expect(list.has('::ffff:192.168.1.3')).toBe(true);
    expect(list.has('10.0.0.7')).toBe(true);
    expect(list.has('10.0.0.8')).toBe(false);
    expect(list.has('fd12::1')).toBe(true);
    expect(list.has('not-an-address')).toBe(false);
  });

  it('refuses what is not an address or a block, naming the key', () => {
    expect(() => new AddressList(['192.168.1.0/33'], 'ris.allowedAddresses')).toThrow(/ris.allowedAddresses: .*prefix/);
    expect(() => new AddressList(['ris.example.org'], 'ris.allowedAddresses')).toThrow(/not an IP address/);
  });
});

describe('RisCredential', () => {
  it('is closed without a configured token, whatever is presented', () => {
    const ris = new RisCredential({ httpToken: '', allowedAddresses: [] });
    expect(ris.check('192.168.1.5', `Bearer ${TOKEN}`)).toMatchObject({ ok: false, status: 403, reason: expect.stringMatching(/ris.httpToken/) });
  });

  it('needs the exact token, from an allowed address', () => {
    const ris = new RisCredential({ httpToken: TOKEN, allowedAddresses: ['192.168.1.0/24'] });
    expect(ris.check('192.168.1.5', `Bearer ${TOKEN}`)).toEqual({ ok: true });
    expect(ris.check('192.168.1.5', undefined)).toMatchObject({ ok: false, status: 401 });
    expect(ris.check('192.168.1.5', `Bearer ${TOKEN}x`)).toMatchObject({ ok: false, status: 401 });
    expect(ris.check('192.168.1.5', `Basic ${TOKEN}`)).toMatchObject({ ok: false, status: 401 });
    expect(ris.check('192.168.2.5', `Bearer ${TOKEN}`)).toMatchObject({ ok: false, status: 403 });
  });
});

describe('the caller address on the LAN listener', () => {
  let listener: Listener | undefined;
  afterEach(async () => listener?.close());

  async function whoAmI(trustedProxies: string[], xff?: string): Promise<{ origin: string; clientAddress: string }> {
    const app = createLanApp(
      {
        clientAddress: clientAddressResolver(trustedProxies),
        ris: new RisCredential({ httpToken: '', allowedAddresses: [] }),
        mount: (a: Hono<LanEnv>) => a.get('/me', (c) => c.json({ origin: c.get('origin'), clientAddress: c.get('clientAddress') })),
      },
      'lan',
    );
    listener = await listen(app, { host: '127.0.0.1', port: 0, tls: { certFile: '', keyFile: '', clientCaFile: '' } });
    const res = await fetch(`http://127.0.0.1:${listener.port}/me`, { headers: xff ? { 'x-forwarded-for': xff } : {} });
    return (await res.json()) as { origin: string; clientAddress: string };
  }

  it('is the TCP peer: X-Forwarded-For from an untrusted peer is ignored', async () => {
    expect(await whoAmI([], '203.0.113.9')).toEqual({ origin: 'lan', clientAddress: '127.0.0.1' });
  });

  it('believes X-Forwarded-For from a trusted proxy: the right-most address that is not a proxy', async () => {
    expect(await whoAmI(['127.0.0.1'], '198.51.100.1, 203.0.113.9')).toEqual({ origin: 'lan', clientAddress: '203.0.113.9' });
  });
});
