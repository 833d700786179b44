import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as http2Connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { reservedPort, waitFor } from '../peers/ports.js';
import { startPscSimulator, type PscSimulator } from '../peers/psc-sim/server.js';
import { makeTestPki, type TestPki } from '../fixtures/pki/make-test-pki.js';
import { crlRevoking, issueCertificate } from '../fixtures/pki/openssl-ca.js';
import { signWhitelist, fixturePath, ANS_UNSIGNED_SAMPLE } from '../fixtures/psc/whitelist/sign-whitelist.js';
import { loadConfig } from '../../appliance/src/config/load.js';
import { startBox, type RunningBox } from '../../appliance/src/start-box.js';
import { synthesizeStudy } from '../../appliance/src/dicom/synth/index.js';
import { sendMllp } from '../../appliance/src/hl7/index.js';
import { AuditLog } from '../../appliance/src/store/audit.js';
import { createSourceClient } from '../../appliance/src/consumer/source-client.js';
import { nodeSourceGet, sourceTlsOf } from '../../appliance/src/consumer/source-transport.js';
import { takeGiveBack } from '../../appliance/src/dicomweb/lent-chunks.js';
import { engineSecureContext, tokenTlsCredential } from '../../appliance/src/auth/pkcs11/tls-key.js';
import { makeKeyToken } from '../peers/cps-token.js';
import { oruForStudy, testNir } from '../fixtures/hl7/report-message.js';
import { helene } from '../fixtures/hl7/generate.js';

let work: string;
let pki: TestPki;
let orthanc: OrthancPeer;
let psc: PscSimulator;
let listServer: Server;
let box: RunningBox;
let study: string;
let synthSeries: { seriesInstanceUid: string; instances: { sopInstanceUid: string }[] }[];
let token: string;
let revokedClient: { certPem: string; keyPem: string };

/** openssl -subj form (/C=FR/O=…/CN=…) → the whitelist's DN form (CN=…,OU=…,C=FR). */
const whitelistDn = (subj: string) => subj.split('/').filter(Boolean).reverse().join(',');

function get(path: string, opts: { cert?: { certPem: string; keyPem: string }; token?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: box.httpPort,
        path,
        ca: readFileSync(pki.ca.certPem),
        ...(opts.cert ? { cert: readFileSync(opts.cert.certPem), key: readFileSync(opts.cert.keyPem) } : {}),
        // The manifest the study was found through: without it the box serves nothing (docs/SECURITY.md, finding 6).
        headers: { 'kos-sopinstanceuid': box.archive.activeForStudy(study)!.sopInstanceUid, ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'drimbox-tls-'));
  pki = makeTestPki(join(work, 'pki'));
  // The ANS whitelist, with our test box as the operator of its first domain, signed by the test signer.
  const unsigned = readFileSync(ANS_UNSIGNED_SAMPLE, 'utf8').replace(/<DNCertificatOperateur>[^<]*<\/DNCertificatOperateur>/, `<DNCertificatOperateur>${whitelistDn(pki.authClient.subject)}</DNCertificatOperateur>`);
  const signed = await signWhitelist(unsigned, { keyPem: readFileSync(fixturePath('test-signer.key'), 'utf8'), certPem: readFileSync(fixturePath('test-signer.pem'), 'utf8') });
  listServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/xml' }).end(signed));
  await new Promise<void>((r) => listServer.listen(0, '127.0.0.1', () => r()));

  const dimsePort = await reservedPort();
  orthanc = await startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: dimsePort } } });
  const ins = testNir('2851275112277');
  const s = await synthesizeStudy({ modality: 'CT', instances: 3, rows: 32, columns: 32, outDir: join(work, 'study'), patient: { name: 'TLS^TEST', id: ins } });
  for (const f of s.files) await orthanc.upload(readFileSync(f));
  study = s.studyInstanceUid;
  synthSeries = s.series;
  psc = await startPscSimulator({ clients: [{ clientId: 'box', clientSecret: 'box-secret', redirectUris: ['https://127.0.0.1/portal/callback'] }] });
  token = await psc.mintToken('claire.martin', { clientId: 'box' });

  // A second certificate of the same box, revoked by its CA: the CRL, not the whitelist, must refuse it.
  revokedClient = issueCertificate(pki.ca, pki.authClient.subject, 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE');
  const crlFile = join(work, 'crls.pem');
  writeFileSync(crlFile, crlRevoking(pki.ca, [revokedClient.certPem]) + crlRevoking({ certPem: fixturePath('test-ca.pem'), keyPem: fixturePath('test-ca.key') }, []));

  box = await startBox(
    loadConfig({
      env: {},
      overrides: {
        dataDir: join(work, 'box'),
        pacs: { port: orthanc.dicomPort },
        dimse: { port: dimsePort, listenHost: '127.0.0.1' },
        lan: { port: 0, host: '127.0.0.1' },
        kiosk: { port: 0 },
        http: { port: 0, host: '127.0.0.1', tls: { certFile: pki.server.certPem, keyFile: pki.server.keyPem, clientCaFile: pki.ca.certPem } },
        hl7: { port: 0, host: '127.0.0.1' },
        source: { stableAfterMs: 0, recheckMs: 100 },
        psc: { issuer: psc.issuer, clientId: 'box', clientSecret: 'box-secret' },
        whitelist: { url: `http://127.0.0.1:${(listServer.address() as { port: number }).port}/liste.xml`, trustAnchorsFile: fixturePath('test-ca.pem'), crlFile },
        access: { requireClientCertificate: true, requireWhitelisted: true },
        log: { level: 'error' },
      },
    }),
    { dmpSender: { send: async () => ({ kind: 'success' }) } },
  );
  await sendMllp('127.0.0.1', box.hl7Port, oruForStudy({ studyUid: study, patient: { ...helene, ins }, accession: 'TLS-1', controlId: 'TLS-1' }));
  await waitFor(async () => box.archive.activeForStudy(study) !== undefined, 30_000, 'KOS archived');
  // The whitelist is downloaded and verified in the background at start.
  await waitFor(async () => (await get(`/dicom-web/studies/${study}/series`, { cert: pki.authClient, token })).status !== 503, 20_000, 'whitelist verified');
});

afterAll(async () => {
  await box?.stop();
  await psc?.stop();
  await orthanc?.stop();
  listServer?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('the public listener: HTTPS, HTTP/2, mutual TLS between boxes', () => {
  it('serves a whitelisted box presenting its certificate and a PSC token', async () => {
    const r = await get(`/dicom-web/studies/${study}/series`, { cert: pki.authClient, token });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toHaveLength(1);
  });

  it('refuses a caller without a client certificate when mutual TLS is required', async () => {
    expect((await get(`/dicom-web/studies/${study}/series`, { token })).status).toBe(403);
  });

  it('refuses a certificate from another CA (the handshake does not verify it)', async () => {
    expect((await get(`/dicom-web/studies/${study}/series`, { cert: pki.untrusted, token })).status).toBe(403);
  });

  it('refuses a client certificate its CA revoked, though its subject is whitelisted (whitelist.crlFile)', async () => {
    // Same subject as the whitelisted certificate, a valid chain: only its revocation can refuse it.
    expect(execFileSync('openssl', ['verify', '-CAfile', pki.ca.certPem, revokedClient.certPem], { encoding: 'utf8' })).toMatch(/: OK/);
    const noCertificate = () => new AuditLog(box.db).list({ limit: 500 }).filter((row) => /client-certificate-required/.test(JSON.stringify(row))).length;
    const before = noCertificate();
    const r = await get(`/dicom-web/studies/${study}/series`, { cert: revokedClient, token });
    expect(r.status).toBe(403);
    expect(noCertificate()).toBe(before + 1); // the box saw no verified certificate: the handshake refused the revoked one
  });

  it('still wants the professional’s token from a whitelisted box', async () => {
    expect((await get(`/dicom-web/studies/${study}/series`, { cert: pki.authClient })).status).toBe(401);
  });

  it('speaks HTTP/2 to clients that offer it', async () => {
    const session = http2Connect(`https://127.0.0.1:${box.httpPort}`, {
      ca: readFileSync(pki.ca.certPem),
      cert: readFileSync(pki.authClient.certPem),
      key: readFileSync(pki.authClient.keyPem),
    });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = session.request({ ':path': `/dicom-web/studies/${study}/series`, authorization: `Bearer ${token}`, 'kos-sopinstanceuid': box.archive.activeForStudy(study)!.sopInstanceUid });
        req.on('response', (h) => resolve(Number(h[':status'])));
        req.on('error', reject);
        req.resume();
        req.end();
      });
      expect(status).toBe(200);
      expect(session.alpnProtocol).toBe('h2');
    } finally {
      session.close();
    }
  });

  it('names the calling box in the audit trail', async () => {
    const rows = new AuditLog(box.db).list({ limit: 50 });
    const served = rows.filter((r) => r.outcome === 'complete');
    expect(served.length).toBeGreaterThan(0);
    for (const r of served) {
      expect(r.callingBox).toMatch(/mesimagesmedicales\.fr|^1\.111|^111$/);
      expect(r.subjectNameId).toBe('810000000001');
    }
    expect(rows.filter((r) => r.outcome === 'refused').map((r) => r.status).sort()).toEqual(expect.arrayContaining([401, 403]));
  });

  it('lets a consumer box pull a series over mutual TLS with its key on a PKCS#11 token (OpenSSL engine, SoftHSM2)', async () => {
    const hsm = makeKeyToken(join(work, 'hsm'), 'CONSUMER STRUCTURE', '246810', [{ keyPath: pki.authClient.keyPem, certPath: pki.authClient.certPem, keyLabel: 'ORG_AUTH_CLI', id: 'c1' }]);
    process.env.SOFTHSM2_CONF = hsm.env.SOFTHSM2_CONF;
    const context = engineSecureContext(tokenTlsCredential({ module: hsm.module, token: { label: hsm.tokenLabel }, keyLabel: 'ORG_AUTH_CLI', pin: hsm.pin }), { ca: readFileSync(pki.ca.certPem), minVersion: 'TLSv1.2' });
    const tls = sourceTlsOf({ secureContext: context });
    const series = JSON.parse((await get(`/dicom-web/studies/${study}/series`, { cert: pki.authClient, token })).body) as Record<string, { Value: string[] }>[];
    const seriesUid = series[0]!['0020000E']!.Value[0]!;
    const client = createSourceClient({ get: nodeSourceGet(tls) });
    const sizes: number[] = [];
    // As the pull asks for a series: read into pooled blocks over a TLS connection of its own, the chunks lent to the
    // reader (all but the copies that join a part's first bytes), who gives them back.
    let lent = 0;
    for await (const part of client.retrieve({ url: new URL(`https://127.0.0.1:${box.httpPort}/dicom-web/studies/${study}/series/${seriesUid}`), accessToken: token, kosSopInstanceUid: box.archive.activeForStudy(study)!.sopInstanceUid, signal: new AbortController().signal, bulk: true })) {
      let n = 0;
      for await (const chunk of part.body) {
        n += chunk.length;
        const giveBack = takeGiveBack(chunk);
        if (giveBack) lent++;
        giveBack?.();
      }
      sizes.push(n);
    }
    expect(lent).toBeGreaterThan(0);
    expect(sizes).toHaveLength(3);
    expect(sizes.every((n) => n > 1000)).toBe(true);
    // Without the client certificate the same pull is refused (mutual TLS required by this source).
    const bare = createSourceClient({ get: nodeSourceGet(sourceTlsOf({ ca: readFileSync(pki.ca.certPem) })) });
    const refused = bare.retrieve({ url: new URL(`https://127.0.0.1:${box.httpPort}/dicom-web/studies/${study}/series/${seriesUid}`), accessToken: token, kosSopInstanceUid: box.archive.activeForStudy(study)!.sopInstanceUid, signal: new AbortController().signal, bulk: true });
    await expect(refused.next()).rejects.toMatchObject({ kind: 'forbidden' });
    tls.agent.destroy();
  });

  it('lists a series’ instances with their Instance Number for a consumer box (QIDO-RS over the source’s C-FIND)', async () => {
    // What the consumer orders its first slice by: asked of a source over DIMSE, answered from an image-level C-FIND.
    const tls = sourceTlsOf({ ca: readFileSync(pki.ca.certPem), cert: readFileSync(pki.authClient.certPem), key: readFileSync(pki.authClient.keyPem) });
    const client = createSourceClient({ get: nodeSourceGet(tls) });
    const [series] = synthSeries;
    const url = new URL(`https://127.0.0.1:${box.httpPort}/dicom-web/studies/${study}/series/${series!.seriesInstanceUid}`);
    const kos = box.archive.activeForStudy(study)!.sopInstanceUid;
    const items = (await client.seriesInstances!({ url, accessToken: token, kosSopInstanceUid: kos, signal: new AbortController().signal }, 1 << 20)) as Record<string, { Value?: unknown[] }>[];
    const numbered = items.map((i) => [i['00080018']?.Value?.[0], Number(i['00200013']?.Value?.[0])]);
    // The synthesizer numbers each series' instances from 1 in the order it writes them.
    expect(numbered).toEqual(expect.arrayContaining(series!.instances.map((i, k) => [i.sopInstanceUid, k + 1])));
    expect(numbered).toHaveLength(series!.instances.length);
    // Over its bound, the list is refused, not kept.
    await expect(client.seriesInstances!({ url, accessToken: token, kosSopInstanceUid: kos, signal: new AbortController().signal }, 64)).rejects.toMatchObject({ kind: 'protocol' });
    tls.agent.destroy();
  });
});
