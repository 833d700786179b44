import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { freePort, reservedPort } from '../peers/ports.js';
import { runDcmtk, startStorescp, type StoreScpPeer } from '../peers/dcmtk.js';
import { startDmpForBox } from '../peers/dmp-for-box.js';
import { startPscSimulator, type PscSimulator } from '../peers/psc-sim/server.js';
import { loadOrCreateTestCa, issueCertificate } from '../peers/dmp-sim/test-ca.js';
import type { DmpSimulator } from '../peers/dmp-sim/simulator.js';
import { makeMiniStudy, type MiniStudy } from '../fixtures/mini-instances.js';
import { startStoreScp, type StoreScp } from '../../appliance/src/dimse/index.js';
import { AddressList } from '../../appliance/src/auth/address-list.js';
import { MoveRouter, type MoveExpectation } from '../../appliance/src/dimse/move-router.js';
import { xdsConfigSchema, type XdsConfig } from '../../appliance/src/xds/config-schema.js';
import { boxDeclaration, echoPacs, reverseTest } from '../../appliance/src/setup/probes/pacs-probe.js';
import { qidoProbe } from '../../appliance/src/setup/probes/dicomweb-probe.js';
import { pscDiscovery } from '../../appliance/src/setup/probes/psc-probe.js';
import { dmpConnectionTest } from '../../appliance/src/setup/probes/dmp-probe.js';
import { inspectPkcs12, listCertificateFiles } from '../../appliance/src/setup/probes/pkcs12-inspect.js';

// The wizard's live tests against real peers: Orthanc, dcmtk, the box's own SCP, the DMP and PSC simulators.
// The box's SCP runs with ANOTHER PACS's settings (RUNBOX, OTHERPACS from 192.0.2.10): the draft (DRAFTBOX, Orthanc on
// loopback) gets in only through a temporary admission.

const dir = mkdtempSync(join(tmpdir(), 'setup-probes-'));
const dataDir = join(dir, 'data');
const dimse = { connectTimeoutMs: 5_000, responseTimeoutMs: 10_000, maxPduLength: 262_144 };
const PASSWORD = 'p12-secret';

let orthanc: OrthancPeer; // knows DRAFTBOX (the box SCP) and STRAYBOX (a dcmtk storescp): the box declared
let open: OrthancPeer; // knows no modality, lets anyone C-FIND and C-MOVE, refuses C-GET
let strict: OrthancPeer; // knows no modality, lets nobody in
let stray: StoreScpPeer;
let scp: StoreScp;
let study: MiniStudy;
let dmp: { sim: DmpSimulator; xds: Record<string, unknown> };
let psc: PscSimulator;

const pacsOf = (peer: OrthancPeer, host = '127.0.0.1') => ({ aeTitle: peer.aeTitle, host, port: peer.dicomPort });
const echoscu = (aeTitle: string, calledAeTitle: string) => runDcmtk('echoscu', ['-aet', aeTitle, '-aec', calledAeTitle, '127.0.0.1', String(scp.port)], 30_000);
const tmpEntries = () => readdirSync(join(dataDir, 'tmp'));

beforeAll(async () => {
  const scpPort = await reservedPort();
  stray = await startStorescp({ port: await freePort(), aeTitle: 'STRAYBOX', outDir: join(dir, 'stray') });
  const modalities = {
    draft: { aeTitle: 'DRAFTBOX', host: '127.0.0.1', port: scpPort },
    stray: { aeTitle: 'STRAYBOX', host: '127.0.0.1', port: stray.port },
  };
  [orthanc, open, strict, dmp, psc] = await Promise.all([
    startOrthanc({ modalities }),
    startOrthanc({ aeTitle: 'OPENPACS', extra: { DicomAlwaysAllowFind: true, DicomAlwaysAllowMove: true, DicomAlwaysAllowGet: false } }),
    startOrthanc({ aeTitle: 'STRICTPACS', extra: { DicomAlwaysAllowEcho: false, DicomAlwaysAllowStore: false } }),
    startDmpForBox(join(dir, 'dmp')),
    startPscSimulator(),
  ]);
  scp = await startStoreScp({
    aeTitle: 'RUNBOX',
    host: '127.0.0.1',
    port: scpPort,
    allowedCallingAeTitles: ['OTHERPACS'],
    allowedAddresses: new AddressList(['192.0.2.10'], 'dimse.allowedPeerAddresses'),
    storageDir: join(dir, 'scp-incoming'),
  });
  study = await makeMiniStudy({ outDir: join(dir, 'study'), instances: 2, patientName: 'SONDE^Test', patientId: 'PROBE-1' });
  for (const f of study.files) await orthanc.upload(readFileSync(f));
});

afterAll(async () => {
  await scp?.close();
  await Promise.all([orthanc?.stop(), open?.stop(), strict?.stop(), stray?.stop(), dmp?.sim.stop(), psc?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('C-ECHO box → PACS', () => {
  it('echoes with the draft AE title', async () => {
    const r = await echoPacs(pacsOf(orthanc), 'DRAFTBOX', dimse);
    expect(r).toMatchObject({ ok: true, facts: { elapsedMs: expect.any(Number) } });
  });

  it('wrong PACS AE title: pacs-refused-called-ae, with the A-ASSOCIATE-RJ fields', async () => {
    const r = await echoPacs({ ...pacsOf(orthanc), aeTitle: 'NOTORTHANC' }, 'DRAFTBOX', dimse);
    expect(r).toMatchObject({ ok: false, reason: 'pacs-refused-called-ae' });
    expect(!r.ok && r.detail).toMatch(/source 1, reason 7/);
  });

  it('a PACS that does not know the box: pacs-refused-calling-ae', async () => {
    const r = await echoPacs(pacsOf(strict), 'DRAFTBOX', dimse);
    expect(r).toMatchObject({ ok: false, reason: 'pacs-refused-calling-ae' });
    expect(!r.ok && r.detail).toMatch(/source 1, reason 3/);
  });

  it('closed port and unknown host: unreachable, saying which', async () => {
    const closed = await echoPacs({ ...pacsOf(orthanc), port: await freePort() }, 'DRAFTBOX', dimse);
    expect(closed).toMatchObject({ ok: false, reason: 'unreachable' });
    expect(!closed.ok && closed.detail).toMatch(/connection refused.*errno ECONNREFUSED/);
    const unknown = await echoPacs({ ...pacsOf(orthanc), host: 'pacs.invalid' }, 'DRAFTBOX', dimse);
    expect(unknown).toMatchObject({ ok: false, reason: 'unreachable' });
    expect(!unknown.ok && unknown.detail).toMatch(/does not resolve|ENOTFOUND|EAI_AGAIN/);
  });

  it('a peer that accepts and never answers: timeout', async () => {
    const silent = await silentPeer();
    try {
      const r = await echoPacs({ aeTitle: 'SILENT', host: '127.0.0.1', port: silent.port }, 'DRAFTBOX', { ...dimse, responseTimeoutMs: 300 });
      expect(r).toMatchObject({ ok: false, reason: 'timeout' });
    } finally {
      await silent.close();
    }
  });

  it('says what to declare in the PACS: AE title, the address facing the PACS, the port', async () => {
    expect(await boxDeclaration({ boxAeTitle: 'DRAFTBOX', dimsePort: 11112, pacsHost: '127.0.0.1' })).toEqual({ aeTitle: 'DRAFTBOX', address: '127.0.0.1', port: 11112 });
    expect(await boxDeclaration({ boxAeTitle: 'DRAFTBOX', dimsePort: 11112, pacsHost: 'pacs.invalid' })).toMatchObject({ address: 'unknown', addressDetail: expect.stringMatching(/pacs.invalid/) });
  });
});

describe('the SCP\'s temporary admission', () => {
  it('lets the draft peer in until revoked, and no longer than its lifetime', async () => {
    expect((await echoscu('ORTHANC', 'DRAFTBOX')).code).not.toBe(0);
    expect(scp.lastRefusal()).toMatchObject({ address: '127.0.0.1', reason: 'address-not-allowed' });

    const revoke = scp.admitTemporarily({ callingAeTitle: 'ORTHANC', addresses: ['127.0.0.1'], calledAeTitle: 'DRAFTBOX', ttlMs: 60_000 });
    expect((await echoscu('ORTHANC', 'DRAFTBOX')).code).toBe(0);
    // The admission is for that pair of AE titles only.
    expect((await echoscu('INTRUDER', 'DRAFTBOX')).code).not.toBe(0);
    expect(scp.lastRefusal()).toMatchObject({ callingAeTitle: 'INTRUDER', calledAeTitle: 'DRAFTBOX', reason: 'calling-ae-not-recognised' });
    expect((await echoscu('ORTHANC', 'RUNBOX')).code).not.toBe(0);
    expect(scp.lastRefusal()).toMatchObject({ callingAeTitle: 'ORTHANC', calledAeTitle: 'RUNBOX', reason: 'calling-ae-not-recognised' });
    // Admitted to answer a C-MOVE, not to push: an unsolicited instance is refused, nothing kept.
    const pushed = await runDcmtk('storescu', ['-v', '-aet', 'ORTHANC', '-aec', 'DRAFTBOX', '127.0.0.1', String(scp.port), study.files[0]!], 30_000);
    expect(`${pushed.stdout}${pushed.stderr}`).toMatch(/Store Response \(.*0x0?124\)/i);
    expect(readdirSync(join(dir, 'scp-incoming'))).toEqual([]);
    revoke();
    expect((await echoscu('ORTHANC', 'DRAFTBOX')).code).not.toBe(0);

    scp.admitTemporarily({ callingAeTitle: 'ORTHANC', addresses: ['127.0.0.1'], calledAeTitle: 'DRAFTBOX', ttlMs: 1 });
    await new Promise((r) => setTimeout(r, 50));
    expect((await echoscu('ORTHANC', 'DRAFTBOX')).code).not.toBe(0);
    expect(scp.lastRefusal()).toMatchObject({ address: '127.0.0.1', reason: 'address-not-allowed' });
    expect(() => scp.admitTemporarily({ callingAeTitle: 'X', addresses: [], calledAeTitle: 'Y', ttlMs: 24 * 3_600_000 })).toThrow(RangeError);
  });
});

describe('move routing under the draft AE title', () => {
  it('a C-STORE naming the draft AE title as move originator goes to its move, while the alias holds', () => {
    const router = new MoveRouter('RUNBOX');
    const move = (messageId: number, studyInstanceUid: string): MoveExpectation => ({
      messageId, pacsAeTitle: 'ORTHANC', studyInstanceUid, outDir: join(dir, `m${messageId}`), touch: () => {}, stored: () => Promise.resolve(0),
    });
    const second = move(8, '1.2.2');
    router.expect(move(7, '1.2.1'));
    router.expect(second);
    const origin = { callingAeTitle: 'ORTHANC', originatorMessageId: 8, originatorAeTitle: 'DRAFTBOX' };
    expect(router.route(origin)).toBe('by-study');
    const unalias = router.alsoKnownAs('DRAFTBOX');
    expect(router.route(origin)).toBe(second);
    unalias();
    unalias();
    expect(router.route(origin)).toBe('by-study');
  });
});

describe('PACS → box', () => {
  it('finds a study, gets one instance by C-GET and by C-MOVE to the draft AE title, chooses C-GET, cleans up', async () => {
    const r = await reverseTest({ pacs: pacsOf(orthanc), boxAeTitle: 'DRAFTBOX', scp, dimse, dataDir });
    expect(r.ok, JSON.stringify(r)).toBe(true);
    if (!r.ok) return;
    expect(r.facts.study).toMatchObject({ studyInstanceUid: study.studyInstanceUid, studyDate: '20260115', patientName: 'SONDE^Test', patientId: 'PROBE-1', modalities: ['CT'] });
    expect(study.series[0]!.instances.map((i) => i.sopInstanceUid)).toContain(r.facts.instance.sopInstanceUid);
    expect(r.facts.get).toMatchObject({ ok: true });
    expect(r.facts.move).toMatchObject({ ok: true });
    expect(r.facts).toMatchObject({ chosen: 'C-GET', choice: 'get-works' });
    expect(r.warnings).toBeUndefined();
    expect(tmpEntries()).toEqual([]);
    // The admission ended with the test.
    expect((await echoscu('ORTHANC', 'DRAFTBOX')).code).not.toBe(0);
  });

  it('the PACS sends the instance elsewhere (an old address declared for the box): move-nothing-arrived', async () => {
    const r = await reverseTest({ pacs: pacsOf(orthanc), boxAeTitle: 'STRAYBOX', scp, dimse, dataDir });
    expect(r).toMatchObject({ ok: true, facts: { chosen: 'C-GET', move: { ok: false, reason: 'move-nothing-arrived' } } });
    expect(r.ok && r.warnings?.map((w) => w.reason)).toEqual(['move-nothing-arrived']);
    expect(readdirSync(join(dir, 'stray')).length).toBeGreaterThan(0);
  });

  it('the PACS connects from an address the box does not expect: move-refused-by-box, saying which', async () => {
    // Orthanc answers on 127.0.0.2 too, but opens its C-STORE association from 127.0.0.1.
    const r = await reverseTest({ pacs: pacsOf(orthanc, '127.0.0.2'), boxAeTitle: 'DRAFTBOX', scp, dimse, dataDir });
    expect(r).toMatchObject({ ok: true, facts: { chosen: 'C-GET', move: { ok: false, reason: 'move-refused-by-box' } } });
    expect(r.ok && r.facts.move.detail).toMatch(/refused 127\.0\.0\.1.*address-not-allowed.*expected "ORTHANC" from 127\.0\.0\.2/);
    expect(tmpEntries()).toEqual([]);
  });

  it('an empty PACS: no-study; with a study but the box undeclared: get-refused and unknown-move-destination', async () => {
    const empty = await reverseTest({ pacs: pacsOf(open), boxAeTitle: 'DRAFTBOX', scp, dimse, dataDir });
    expect(empty).toMatchObject({ ok: false, reason: 'no-study' });
    for (const f of study.files) await open.upload(readFileSync(f));
    const r = await reverseTest({ pacs: pacsOf(open), boxAeTitle: 'DRAFTBOX', scp, dimse, dataDir });
    expect(r).toMatchObject({
      ok: false,
      reason: 'unknown-move-destination',
      facts: { chosen: 'none', choice: 'nothing-works', get: { ok: false, reason: 'get-refused' }, move: { ok: false, reason: 'unknown-move-destination' } },
    });
    expect(!r.ok && r.detail).toMatch(/DIMSE status 0x[AC]/);
  });

  it('a PACS that refuses the box: the reason of the association', async () => {
    expect(await reverseTest({ pacs: pacsOf(strict), boxAeTitle: 'DRAFTBOX', scp, dimse, dataDir })).toMatchObject({ ok: false, reason: 'pacs-refused-calling-ae' });
  });
});

describe('QIDO-RS', () => {
  it('Orthanc\'s DICOMweb answers DICOM JSON', async () => {
    const r = await qidoProbe(orthanc.dicomwebUrl, { timeoutMs: 10_000 });
    expect(r).toMatchObject({ ok: true, facts: { studies: 1, httpStatus: 200, url: `${orthanc.dicomwebUrl}/studies?limit=1` } });
  });

  it('refuses what is not DICOMweb, and says why', async () => {
    // A web page (the PACS's administration site, a NAS...) and a JSON API that is not DICOMweb.
    const web = await webServer();
    try {
      expect(await qidoProbe(`${web.url}/admin`, { timeoutMs: 10_000 })).toMatchObject({ ok: false, reason: 'not-dicomweb', detail: expect.stringMatching(/text\/html/) });
      expect(await qidoProbe(`${web.url}/api`, { timeoutMs: 10_000 })).toMatchObject({ ok: false, reason: 'not-dicomweb', detail: expect.stringMatching(/not DICOM JSON/) });
    } finally {
      await web.close();
    }
    expect(await qidoProbe(`${orthanc.httpUrl}/nowhere`, { timeoutMs: 10_000 })).toMatchObject({ ok: false, reason: 'http-status', detail: expect.stringMatching(/HTTP 404/) });
    expect(await qidoProbe(`http://127.0.0.1:${await freePort()}/dicom-web`, { timeoutMs: 10_000 })).toMatchObject({ ok: false, reason: 'unreachable' });
    expect(await qidoProbe('ftp://pacs/dicom-web', { timeoutMs: 10_000 })).toMatchObject({ ok: false, reason: 'invalid-url' });
    // The DMP simulator's certificate comes from a CA the box's default trust does not hold.
    expect(await qidoProbe(dmp.sim.url, { timeoutMs: 10_000 })).toMatchObject({ ok: false, reason: 'tls-untrusted' });
  });
});

describe('Pro Santé Connect discovery', () => {
  it('reads the endpoints and the clock skew', async () => {
    const r = await pscDiscovery(psc.issuer, { timeoutMs: 10_000 });
    expect(r.ok, JSON.stringify(r)).toBe(true);
    if (!r.ok) return;
    expect(r.facts).toMatchObject({ issuer: psc.issuer, httpStatus: 200, clockSkewSeconds: expect.any(Number) });
    for (const url of [r.facts.authorizationEndpoint, r.facts.tokenEndpoint, r.facts.userinfoEndpoint, r.facts.jwksUri, r.facts.introspectionEndpoint]) {
      expect(url?.startsWith(psc.issuer)).toBe(true);
    }
  });

  it('an issuer typed otherwise than the provider names itself: issuer-mismatch, with the right value', async () => {
    const r = await pscDiscovery(`${psc.issuer}/`, { timeoutMs: 10_000 });
    expect(r).toMatchObject({ ok: false, reason: 'issuer-mismatch', facts: { issuer: psc.issuer } });
    expect(await pscDiscovery(`${psc.issuer}-other`, { timeoutMs: 10_000 })).toMatchObject({ ok: false, reason: 'http-status' });
    expect(await pscDiscovery('not a url', { timeoutMs: 10_000 })).toMatchObject({ ok: false, reason: 'invalid-url' });
  });
});

describe('DMP connection', () => {
  const xds = (overrides: Partial<XdsConfig> = {}): XdsConfig => xdsConfigSchema.parse({ ...dmp.xds, ...overrides });

  it('mutual TLS with the structure certificate, then an HTTP answer', async () => {
    const r = await dmpConnectionTest(xds());
    expect(r.ok, JSON.stringify(r)).toBe(true);
    if (!r.ok) return;
    expect(r.facts).toMatchObject({ httpStatus: 405, tlsVersion: expect.stringMatching(/^TLSv1\.[23]$/), clockSkewSeconds: expect.any(Number) });
    expect(r.facts.serverSubject).toMatch(/CN=localhost/);
    expect(r.facts.clientSubject).toMatch(/OU=499700367909006/);
    expect(r.warnings).toBeUndefined();
  });

  it('a certificate from another CA is refused by the DMP; another CA file does not trust the DMP', async () => {
    const foreign = foreignCertificate('foreign-client');
    expect(await dmpConnectionTest(xds({ tlsP12File: foreign.p12Path!, tlsP12Password: PASSWORD }))).toMatchObject({ ok: false, reason: 'client-certificate-refused' });
    expect(await dmpConnectionTest(xds({ caFile: foreign.caPath }))).toMatchObject({ ok: false, reason: 'server-untrusted' });
  });

  it('settings missing or unreadable, DMP down', async () => {
    expect(await dmpConnectionTest(xds({ tlsP12File: '' }))).toMatchObject({ ok: false, reason: 'not-configured', detail: expect.stringMatching(/xds.tlsP12File/) });
    expect(await dmpConnectionTest(xds({ baseUrl: '' }))).toMatchObject({ ok: false, reason: 'not-configured' });
    expect(await dmpConnectionTest(xds({ tlsP12Password: 'wrong' }))).toMatchObject({ ok: false, reason: 'certificate-unreadable' });
    expect(await dmpConnectionTest(xds({ baseUrl: `https://127.0.0.1:${await freePort()}` }))).toMatchObject({ ok: false, reason: 'unreachable' });
    expect(await dmpConnectionTest(xds({ baseUrl: dmp.sim.url.replace('https:', 'http:') }))).toMatchObject({ ok: false, reason: 'invalid-url' });
  });
});

describe('structure certificate (PKCS#12)', () => {
  const clientP12 = () => String(dmp.xds.tlsP12File);
  const simPassword = () => String(dmp.xds.tlsP12Password);

  it('reads the simulator\'s client certificate: subject, structure id, key, chain to the CA', async () => {
    const r = await inspectPkcs12({ file: clientP12(), password: simPassword(), caFile: dmp.sim.caCertPath });
    expect(r.ok, JSON.stringify(r)).toBe(true);
    if (!r.ok) return;
    expect(r.facts).toMatchObject({ structureId: '499700367909006', hasPrivateKey: true, chain: 'trusted', otherCertificates: 1, legacyEncryption: false });
    expect(r.facts.subject).toMatch(/CN=DRIMbox/);
    expect(r.facts.issuer).toMatch(/CN=DMP Simulator Test CA/);
    expect(r.facts.extendedKeyUsage).toMatch(/TLS Web Client Authentication/);
    expect(r.facts.daysLeft).toBeGreaterThan(300);
  });

  it('wrong password, not a PKCS#12, no such file', async () => {
    expect(await inspectPkcs12({ file: clientP12(), password: 'wrong' })).toMatchObject({ ok: false, reason: 'wrong-password' });
    expect(await inspectPkcs12({ file: dmp.sim.caCertPath, password: '' })).toMatchObject({ ok: false, reason: 'not-pkcs12' });
    expect(await inspectPkcs12({ file: join(dir, 'absent.p12'), password: '' })).toMatchObject({ ok: false, reason: 'unreadable-file' });
  });

  it('expired, about to expire, certificates only, another CA, legacy encryption', async () => {
    const expired = simCertificate('expired', ['-days', '-1']);
    expect(await inspectPkcs12({ file: expired, password: PASSWORD })).toMatchObject({ ok: false, reason: 'expired' });
    const soon = await inspectPkcs12({ file: simCertificate('soon', ['-days', '10']), password: PASSWORD });
    expect(soon.ok && soon.warnings?.map((w) => w.reason)).toEqual(['expires-soon']);
    expect(await inspectPkcs12({ file: simCertificate('certs-only', ['-days', '10'], ['-nokeys']), password: PASSWORD })).toMatchObject({ ok: false, reason: 'no-private-key' });
    const foreign = foreignCertificate('foreign-p12');
    expect(await inspectPkcs12({ file: foreign.p12Path!, password: PASSWORD, caFile: dmp.sim.caCertPath })).toMatchObject({ ok: false, reason: 'chain-untrusted' });
    const legacy = await inspectPkcs12({ file: simCertificate('legacy', ['-days', '100'], ['-legacy']), password: PASSWORD, caFile: dmp.sim.caCertPath });
    expect(legacy).toMatchObject({ ok: true, facts: { legacyEncryption: true, chain: 'trusted' } });
  });

  it('lists the certificate files of a folder, never a link or a sub-folder', async () => {
    const usb = join(dir, 'usb');
    mkdirSync(join(usb, 'sub.p12'), { recursive: true });
    writeFileSync(join(usb, 'structure.p12'), Buffer.alloc(1234));
    writeFileSync(join(usb, 'OLD.PFX'), Buffer.alloc(10));
    writeFileSync(join(usb, 'ca.pem'), 'x');
    writeFileSync(join(usb, 'notes.txt'), 'x');
    symlinkSync('/etc/passwd', join(usb, 'link.pem'));
    expect(await listCertificateFiles(usb)).toEqual([
      { name: 'ca.pem', size: 1, kind: 'certificate' },
      { name: 'OLD.PFX', size: 10, kind: 'pkcs12' },
      { name: 'structure.p12', size: 1234, kind: 'pkcs12' },
    ]);
    expect(await listCertificateFiles(join(dir, 'no-stick'))).toEqual([]);
  });
});

/** A client certificate (PKCS#12) issued by a CA the DMP simulator does not know. */
function foreignCertificate(name: string): { p12Path?: string; caPath: string } {
  const ca = loadOrCreateTestCa(join(dir, 'foreign-ca'), '/C=FR/O=Elsewhere/CN=Foreign CA');
  const cert = issueCertificate(ca, { name, usage: 'client', subject: '/C=FR/O=Elsewhere/OU=499700367909006/CN=DRIMbox', p12Password: PASSWORD });
  return { p12Path: cert.p12Path, caPath: ca.certPath };
}

/** A PKCS#12 from the simulator's CA, with openssl options the simulator's helper does not offer (a past expiry...). */
function simCertificate(name: string, x509Args: string[], pkcs12Args: string[] = []): string {
  const caDir = dirname(dmp.sim.caCertPath);
  const out = join(dir, 'made', name);
  mkdirSync(out, { recursive: true });
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, P12: PASSWORD } });
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', '/C=FR/OU=499700367909006/CN=DRIMbox', '-keyout', join(out, 'key.pem'), '-out', join(out, 'csr.pem')]);
  openssl(['x509', '-req', '-in', join(out, 'csr.pem'), '-CA', dmp.sim.caCertPath, '-CAkey', join(caDir, 'ca.key'), '-set_serial', '7', ...x509Args, '-out', join(out, 'cert.pem')]);
  const p12 = join(out, 'cert.p12');
  const key = pkcs12Args.includes('-nokeys') ? [] : ['-inkey', join(out, 'key.pem')];
  openssl(['pkcs12', '-export', ...pkcs12Args, ...key, '-in', join(out, 'cert.pem'), '-certfile', dmp.sim.caCertPath, '-passout', 'env:P12', '-out', p12]);
  return p12;
}

/** An HTTP server that is no DICOMweb service: an HTML page under /admin, a JSON array of names under /api. */
async function webServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createHttpServer((req, res) => {
    if (req.url?.startsWith('/api/')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(['study-1', 'study-2']));
    } else {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>Administration</title><form>Mot de passe</form>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A TCP peer that accepts and never answers. */
async function silentPeer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
