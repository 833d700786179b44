import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createWhitelistStore, loadCertificates } from '../../appliance/src/auth/whitelist/index.js';
import { ANS_UNSIGNED_SAMPLE, readFixture, signWhitelist } from '../fixtures/psc/whitelist/sign-whitelist.js';

const NOW = new Date('2027-01-15T00:00:00Z');
const trust = { anchors: loadCertificates(readFixture('test-ca.pem')) };
const unsigned = readFileSync(ANS_UNSIGNED_SAMPLE, 'utf8');
const signer = { keyPem: readFixture('test-signer.key'), certPem: readFixture('test-signer.pem') };

// What the fake ANS server answers next.
let reply: { status: number; body: string } = { status: 200, body: '' };
let server: Server;
let url: string;
let dir: string;
let v1: string; // generated 2024-04-22
let v2: string; // generated 2024-05-01, one more domain
let v0: string; // generated 2024-01-01 (older: a replayed list)

beforeAll(async () => {
  v1 = await signWhitelist(unsigned, signer, new Date('2027-01-10T00:00:00Z'));
  const withExtra = unsigned
    .replace('2024-04-22T11:08:12Z', '2024-05-01T00:00:00Z')
    .replace(
      '</ListeDomaines>',
      '<Domaine><Identifiant>4</Identifiant><db>db1.974.mesimagesmedicales.fr</db><vi>vi1.974.mesimagesmedicales.fr</vi><Denomination>Saint-Pierre</Denomination><DNCertificatOperateur>CN=db1.974.mesimagesmedicales.fr,OU=33333333300033,O=IMAGERIE SAINT-PIERRE,ST=La Réunion (974),C=FR</DNCertificatOperateur><SupportContact>support@example.re</SupportContact><DateMAJ>2024-05-01T00:00:00Z</DateMAJ></Domaine></ListeDomaines>',
    );
  v2 = await signWhitelist(withExtra, signer, new Date('2027-01-11T00:00:00Z'));
  v0 = await signWhitelist(unsigned.replace('2024-04-22T11:08:12Z', '2024-01-01T00:00:00Z'), signer, new Date('2027-01-09T00:00:00Z'));
  server = createServer((_req, res) => {
    res.writeHead(reply.status, { 'content-type': 'application/xml' });
    res.end(reply.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/LISTEBLANCHE_DRIM-M.xml`;
  dir = await mkdtemp(join(tmpdir(), 'drimbox-whitelist-'));
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  reply = { status: 200, body: '' };
});

function store(cacheFile: string) {
  return createWhitelistStore({ url, cacheFile, trust, now: () => NOW, timeoutMs: 5000 });
}

describe('whitelist refresh', () => {
  it('installs and saves a good download, then keeps it when the next download is bad', async () => {
    const file = join(dir, 'a', 'ListeBlancheDRIM-M.xml');
    const s = store(file);
    expect(s.current()).toBeUndefined();

    reply = { status: 200, body: v1 };
    expect(await s.refresh()).toEqual({ updated: true });
    expect(s.current()?.whitelist.domains).toHaveLength(6);
    expect(await readFile(file, 'utf8')).toBe(v1);

    const bad: { status: number; body: string; error: RegExp }[] = [
      { status: 200, body: unsigned, error: /not signed/ },
      { status: 200, body: v2.replace('db1.974', 'db6.974'), error: /does not verify/ },
      { status: 200, body: '<html>maintenance</html>', error: /not a ListeBlancheDRIM-M/ },
      { status: 503, body: 'down', error: /HTTP 503/ },
      { status: 200, body: v0, error: /older than the one in force/ },
    ];
    for (const b of bad) {
      reply = { status: b.status, body: b.body };
      const result = await s.refresh();
      expect(result.updated).toBe(false);
      expect(result.error).toMatch(b.error);
      expect(s.current()?.whitelist.generatedAt.toISOString()).toBe('2024-04-22T11:08:12.000Z');
      expect(await readFile(file, 'utf8')).toBe(v1);
      expect(s.status()).toMatchObject({ source: 'download', domains: 6 });
      expect(s.status().lastError).toMatch(b.error);
    }

    reply = { status: 200, body: v2 };
    expect(await s.refresh()).toEqual({ updated: true });
    expect(s.current()?.whitelist.domains).toHaveLength(7);
    expect(await readFile(file, 'utf8')).toBe(v2);
    expect(s.status().lastError).toBeUndefined();
  });

  it('starts from the last good copy on disk when ANS is unreachable', async () => {
    const file = join(dir, 'b.xml');
    await writeFile(file, v2);
    const s = store(file);
    reply = { status: 500, body: '' };
    await s.start();
    s.stop();
    expect(s.status()).toMatchObject({ source: 'disk', domains: 7 });
    expect(s.status().lastError).toMatch(/HTTP 500/);
    expect(s.current()?.whitelist.domains.some((d) => d.db === 'db1.974.mesimagesmedicales.fr')).toBe(true);
  });

  it('ignores a saved copy that no longer verifies', async () => {
    const file = join(dir, 'c.xml');
    await writeFile(file, v2.replace('db1.974', 'db6.974'));
    const s = store(file);
    expect(await s.loadFromDisk()).toBe(false);
    expect(s.current()).toBeUndefined();
    expect(await store(join(dir, 'absent.xml')).loadFromDisk()).toBe(false);
  });
});
