import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FileSigner, tlsCredentialFromPkcs12 } from '../../appliance/src/auth/signer/file-signer.js';
import { DmpClient, prepareProvideAndRegister } from '../../appliance/src/xds/client.js';
import { NS } from '../../appliance/src/xds/codes.js';
import { documentEntryXml } from '../../appliance/src/xds/metadata.js';
import { buildMtom, readAll } from '../../appliance/src/xds/mtom.js';
import { parseProvideAndRegister } from '../../appliance/src/xds/provide-parse.js';
import { buildProvideAndRegister, type BuiltSubmission } from '../../appliance/src/xds/submission.js';
import { vihfSubjectFromReport, type VihfSubject } from '../../appliance/src/xds/vihf.js';
import { makeTestPki, type TestPki } from '../fixtures/pki/make-test-pki.js';
import { pocKos, sampleContext, sampleReport } from '../unit/xds-helpers.js';

/**
 * The DMP client over real mTLS HTTPS, against a minimal answering peer written here (the strict DMP simulator is
 * test/peers/dmp-sim; this one only plays back answers). Each test sets what the peer does with the next request.
 */

const REPO = join(import.meta.dirname, '../..');

interface Received {
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  clientSubject?: string;
}

type Behaviour = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

let dir: string;
let pki: TestPki;
let signer: FileSigner;
let server: Server;
let base: string;
let behaviour: Behaviour;
const received: Received[] = [];
const sockets = new Set<Socket>();
let built: BuiltSubmission;
let vihf: VihfSubject;
let client: DmpClient;

const SUCCESS = 'urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success';

function soap(body: string): string {
  return `<soap:Envelope xmlns:soap="${NS.soap}"><soap:Header><Action xmlns="${NS.wsa}">urn:x:Response</Action></soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`;
}

function registryResponse(status: string, error?: { code: string; text: string }): string {
  const errors = error
    ? `<rs:RegistryErrorList><rs:RegistryError errorCode="${error.code}" codeContext="${error.text}" severity="urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"/></rs:RegistryErrorList>`
    : '';
  return soap(`<rs:RegistryResponse xmlns:rs="${NS.rs}" status="${status}">${errors}</rs:RegistryResponse>`);
}

/** Answers as CXF does: an MTOM package whose root part is the SOAP envelope. */
function answerMtom(res: ServerResponse, xml: string, attachments: { contentId: string; body: Buffer }[] = [], status = 200): void {
  const m = buildMtom(xml, attachments.map((a) => ({ ...a, contentType: 'application/octet-stream' })), 'urn:x:Response');
  res.writeHead(status, { 'Content-Type': m.contentType, 'Content-Length': m.length });
  for (const c of m.chunks) res.write(c);
  res.end();
}

function answerSoap(res: ServerResponse, xml: string, status = 200): void {
  res.writeHead(status, { 'Content-Type': 'application/soap+xml; charset=UTF-8' });
  res.end(xml);
}

function clientFor(options: { idleMs?: number; credential?: { key: string; cert: string }; base?: string } = {}): DmpClient {
  const b = options.base ?? base;
  return new DmpClient({
    endpoints: { registryUrl: `${b}/registry`, repositoryUrl: `${b}/repository` },
    tls: { ca: readFileSync(pki.ca.certPem), credential: options.credential ?? tlsCredentialFromPkcs12(readFileSync(pki.authClient.p12), pki.authClient.p12Password) },
    timeouts: { connectMs: 2000, idleMs: options.idleMs ?? 5000 },
    context: sampleContext(),
    signer,
  });
}

async function listen(key: string, cert: string, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const s = createServer({ key: readFileSync(key), cert: readFileSync(cert), ca: readFileSync(pki.ca.certPem), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, handler);
  s.on('connection', (sock: Socket) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return { server: s, url: `https://127.0.0.1:${(s.address() as AddressInfo).port}/si-dmp-server/v2/services` };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drimbox-xds-transport-'));
  pki = makeTestPki(join(dir, 'pki'));
  signer = FileSigner.fromPkcs12(readFileSync(pki.signature.p12), pki.signature.p12Password);
  const started = await listen(pki.server.keyPem, pki.server.certPem, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
      received.push({ url: req.url ?? '', headers: req.headers, body, clientSubject: peer?.subject?.OU as string | undefined });
      behaviour(req, res, body);
    });
  });
  server = started.server;
  base = started.url;
  const report = sampleReport();
  built = await buildProvideAndRegister({ report, kos: pocKos(), context: sampleContext(), signer });
  vihf = vihfSubjectFromReport(report, sampleContext());
  client = clientFor();
});

beforeEach(() => {
  received.length = 0;
});

afterAll(async () => {
  client?.close();
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

describe('ITI-41 over mTLS', () => {
  it('delivers the MTOM request with the AUTH_CLI certificate; the peer reads back the same KOS bytes', async () => {
    behaviour = (_req, res) => answerMtom(res, registryResponse(SUCCESS));
    const outcome = await client.provideAndRegister(built, vihf);
    expect(outcome).toEqual({ kind: 'success' });
    const [r] = received;
    expect(r!.url).toBe('/si-dmp-server/v2/services/repository');
    expect(r!.clientSubject).toBe(pki.structureId);
    expect(r!.headers['content-type']).toMatch(/^multipart\/related; boundary="[^"]+"; type="application\/xop\+xml"; start="<[^>]+>"; start-info="application\/soap\+xml"; action="urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"$/);
    expect(Number(r!.headers['content-length'])).toBe(r!.body.length);
    const parsed = await parseProvideAndRegister(r!.headers['content-type']!, once(r!.body));
    expect(parsed.action).toBe('urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b');
    expect(parsed.to).toBe(`${base}/repository`);
    expect(parsed.documents.get(built.ids.kosEntryUUID)!.equals(pocKos().bytes)).toBe(true);
  });

  it('a registry Failure is permanent with the registry\'s code and text', async () => {
    behaviour = (_req, res) => answerMtom(res, registryResponse('urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure', { code: 'XDSDuplicateUniqueIdInRegistry', text: 'uniqueId deja present' }));
    expect(await client.provideAndRegister(built, vihf)).toEqual({ kind: 'permanent', code: 'XDSDuplicateUniqueIdInRegistry', text: 'uniqueId deja present' });
  });

  it('registry busy, HTTP 503, a reset connection and a silent peer are all retryable', async () => {
    behaviour = (_req, res) => answerMtom(res, registryResponse('urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure', { code: 'XDSRegistryBusy', text: 'retry' }));
    expect((await client.provideAndRegister(built, vihf)).kind).toBe('retryable');
    behaviour = (_req, res) => {
      res.writeHead(503, { 'Content-Type': 'text/html' });
      res.end('<html>maintenance</html>');
    };
    expect(await client.provideAndRegister(built, vihf)).toEqual({ kind: 'retryable', reason: 'HTTP 503: <html>maintenance</html>' });
    behaviour = (req) => req.socket.destroy();
    const reset = await client.provideAndRegister(built, vihf);
    expect(reset.kind).toBe('retryable');
    expect(reset.kind === 'retryable' && reset.reason).toMatch(/^transport:/);
    behaviour = () => undefined;
    const quick = clientFor({ idleMs: 300 });
    const silent = await quick.provideAndRegister(built, vihf);
    quick.close();
    expect(silent.kind === 'retryable' && silent.reason).toMatch(/ETIMEDOUT|no activity/);
  });

  it('a SOAP Sender fault (HTTP 500) is permanent', async () => {
    behaviour = (_req, res) =>
      answerSoap(res, soap(`<soap:Fault><soap:Code><soap:Value>soap:Sender</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang="fr">VIHF invalide</soap:Text></soap:Reason></soap:Fault>`), 500);
    expect(await client.provideAndRegister(built, vihf)).toEqual({ kind: 'permanent', code: 'SOAP:Sender', text: 'VIHF invalide' });
  });

  it('an answer with a DOCTYPE is refused, never expanded', async () => {
    behaviour = (_req, res) => answerSoap(res, `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${registryResponse(SUCCESS)}`);
    const o = await client.provideAndRegister(built, vihf);
    expect(o.kind).toBe('retryable');
    expect(o.kind === 'retryable' && o.reason).toMatch(/DOCTYPE/);
  });

  it('refuses a server whose certificate is not from the configured CA, and the server refuses a foreign client certificate', async () => {
    const rogue = await listen(pki.untrusted.keyPem, pki.untrusted.certPem, (_req, res) => answerSoap(res, registryResponse(SUCCESS)));
    try {
      const c = clientFor({ base: rogue.url });
      const o = await c.provideAndRegister(built, vihf);
      c.close();
      expect(o.kind === 'retryable' && o.reason).toMatch(/certificate/i);
    } finally {
      await new Promise<void>((resolve) => rogue.server.close(() => resolve()));
    }
    behaviour = (_req, res) => answerSoap(res, registryResponse(SUCCESS));
    const foreign = clientFor({ credential: tlsCredentialFromPkcs12(readFileSync(pki.untrusted.p12), pki.untrusted.p12Password) });
    const refused = await foreign.provideAndRegister(built, vihf);
    foreign.close();
    expect(refused.kind).toBe('retryable');
    expect(received).toHaveLength(0);
  });
});

describe('ITI-18, ITI-43, ITI-57 over mTLS', () => {
  const entryXml = () =>
    documentEntryXml({
      entryUUID: 'urn:uuid:11111111-2222-4333-8444-555555555555',
      mimeType: 'application/dicom',
      uniqueId: pocKos().facts.sopInstanceUid,
      patientId: '279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH',
      title: 'KOS',
      creationTime: '20240115100000',
      languageCode: 'fr-FR',
      hash: '00',
      size: 1,
      sourcePatientId: 'x^^^&1.2.3&ISO^PI',
      sourcePatientInfo: [],
      referenceIds: [],
      author: { institutions: ['X^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1'] },
      classCode: { code: '31', scheme: '1.2.250.1.213.1.1.4.1', display: '' },
      typeCode: { code: 'IMG-KOS', scheme: '1.2.250.1.213.1.1.4.12', display: '' },
      formatCode: { code: '1.2.840.10008.5.1.4.1.1.88.59', scheme: '1.2.840.10008.2.6.1', display: '' },
      confidentialityCodes: [],
      eventCodes: [],
      healthcareFacilityTypeCode: { code: 'SA08', scheme: '1.2.250.1.71.4.2.4', display: '' },
      practiceSettingCode: { code: 'AMBULATOIRE', scheme: '1.2.250.1.213.1.1.4.9', display: '' },
    }).replace('<ExtrinsicObject ', '<ExtrinsicObject status="urn:oasis:names:tc:ebxml-regrep:StatusType:Approved" ');

  it('FindDocuments: plain SOAP to /registry, typed entries back', async () => {
    behaviour = (_req, res) =>
      answerSoap(res, soap(`<query:AdhocQueryResponse xmlns:query="${NS.query}" xmlns="${NS.rim}" status="${SUCCESS}"><RegistryObjectList>${entryXml()}</RegistryObjectList></query:AdhocQueryResponse>`));
    const r = await client.findDocuments({ patientId: vihf.patientId }, vihf);
    expect(r.kind).toBe('success');
    if (r.kind !== 'success') return;
    expect(r.value.documentEntries.map((e) => [e.uniqueId, e.status])).toEqual([[pocKos().facts.sopInstanceUid, 'Approved']]);
    expect(received[0]!.url).toBe('/si-dmp-server/v2/services/registry');
    expect(received[0]!.headers['content-type']).toBe('application/soap+xml; charset=UTF-8; action="urn:ihe:iti:2007:RegistryStoredQuery"');
    expect(received[0]!.body.toString()).toContain('urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d');
  });

  it('entryUuidOf: GetDocuments by uniqueId, ObjectRef', async () => {
    behaviour = (_req, res) =>
      answerSoap(res, soap(`<query:AdhocQueryResponse xmlns:query="${NS.query}" xmlns="${NS.rim}" status="${SUCCESS}"><RegistryObjectList><ObjectRef id="urn:uuid:feedface-0000-4000-8000-000000000001"/></RegistryObjectList></query:AdhocQueryResponse>`));
    expect(await client.entryUuidOf('1.2.3', vihf)).toEqual({ kind: 'success', value: 'urn:uuid:feedface-0000-4000-8000-000000000001' });
    expect(received[0]!.body.toString()).toContain('returnType="ObjectRef"');
  });

  it('RetrieveDocumentSet: the document streams back byte-identical from the MTOM answer', async () => {
    const big = Buffer.concat([pocKos().bytes, randomBytes(2 * 1024 * 1024)]);
    behaviour = (_req, res) =>
      answerMtom(res, soap(
        `<xdsb:RetrieveDocumentSetResponse xmlns:xdsb="${NS.xdsb}"><rs:RegistryResponse xmlns:rs="${NS.rs}" status="${SUCCESS}"/>` +
          `<xdsb:DocumentResponse><xdsb:RepositoryUniqueId>1.2.250.1.213.4.1</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>1.2.3</xdsb:DocumentUniqueId>` +
          `<xdsb:mimeType>application/dicom</xdsb:mimeType><xdsb:Document><xop:Include xmlns:xop="${NS.xop}" href="cid:kos@dmp"/></xdsb:Document></xdsb:DocumentResponse>` +
          `</xdsb:RetrieveDocumentSetResponse>`,
      ), [{ contentId: 'kos@dmp', body: big }]);
    const r = await client.retrieve([{ repositoryUniqueId: '1.2.250.1.213.4.1', documentUniqueId: '1.2.3' }], vihf);
    expect(r.kind).toBe('success');
    if (r.kind !== 'success') return;
    const docs: Buffer[] = [];
    for await (const d of r.value.documents()) docs.push(await readAll(d.body, 1 << 26, 'doc'));
    expect(docs).toHaveLength(1);
    expect(docs[0]!.equals(big)).toBe(true);
    expect(received[0]!.headers['content-type']).toContain('action="urn:ihe:iti:2007:RetrieveDocumentSet"');
  });

  it('RetrieveDocumentSet: a peer that stalls mid-document makes the stream fail after the idle time, not hang', async () => {
    behaviour = (_req, res) => {
      const m = buildMtom(soap(
        `<xdsb:RetrieveDocumentSetResponse xmlns:xdsb="${NS.xdsb}"><rs:RegistryResponse xmlns:rs="${NS.rs}" status="${SUCCESS}"/>` +
          `<xdsb:DocumentResponse><xdsb:RepositoryUniqueId>1</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>1.2.3</xdsb:DocumentUniqueId>` +
          `<xdsb:mimeType>application/dicom</xdsb:mimeType><xdsb:Document><xop:Include xmlns:xop="${NS.xop}" href="cid:kos@dmp"/></xdsb:Document></xdsb:DocumentResponse>` +
          `</xdsb:RetrieveDocumentSetResponse>`,
      ), [{ contentId: 'kos@dmp', contentType: 'application/octet-stream', body: randomBytes(100_000) }], 'x');
      const whole = Buffer.concat(m.chunks);
      res.writeHead(200, { 'Content-Type': m.contentType, 'Content-Length': whole.length });
      res.write(whole.subarray(0, whole.length - 50_000));
    };
    const quick = clientFor({ idleMs: 300 });
    try {
      const r = await quick.retrieve([{ repositoryUniqueId: '1', documentUniqueId: '1.2.3' }], vihf);
      expect(r.kind).toBe('success');
      if (r.kind !== 'success') return;
      await expect((async () => { for await (const d of r.value.documents()) await readAll(d.body, 1 << 26, 'doc'); })()).rejects.toThrow();
    } finally {
      quick.close();
    }
  });

  it('UpdateDocumentSet (withdrawal) goes to /registry and reads the RegistryResponse', async () => {
    behaviour = (_req, res) => answerSoap(res, registryResponse(SUCCESS));
    const o = await client.updateAvailability(
      { entryUUID: 'urn:uuid:11111111-2222-4333-8444-555555555555', patientId: vihf.patientId, newStatus: 'Deprecated', author: { institutions: ['X^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1'] }, context: sampleContext() },
      vihf,
    );
    expect(o).toEqual({ kind: 'success' });
    expect(received[0]!.headers['content-type']).toContain('action="urn:ihe:iti:2010:UpdateDocumentSet"');
    expect(received[0]!.body.toString()).toContain('urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus');
  });
});

describe('drimbox xds send (CLI)', () => {
  it('posts a request written by "provide" and exits 0 on success, 75 when to be retried', async () => {
    const out = join(dir, 'send');
    const prepared = await prepareProvideAndRegister(built, vihf, sampleContext(), signer, `${base}/repository`);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'body.bin'), Buffer.concat(prepared.chunks));
    writeFileSync(join(out, 'request.json'), JSON.stringify({ url: prepared.url, action: prepared.action, messageId: prepared.messageId, headers: { 'Content-Type': prepared.contentType } }));
    const args = [join(REPO, 'bin/drimbox.js'), 'xds', 'send', out, '--ca', pki.ca.certPem, '--tls-p12', pki.authClient.p12, '--tls-p12-pass', pki.authClient.p12Password, '--xds-config', writeConfig()];
    const run = () =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.resume(); // an unread pipe could stall the child
        child.on('close', (code) => resolve({ code, stdout }));
      });
    behaviour = (_req, res) => answerMtom(res, registryResponse(SUCCESS));
    const ok = await run();
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).outcome).toEqual({ kind: 'success' });
    expect(received.at(-1)!.body.equals(Buffer.concat(prepared.chunks))).toBe(true);
    behaviour = (_req, res) => answerSoap(res, 'unavailable', 503);
    expect((await run()).code).toBe(75);
  });

  it('refuses to send without a CA bundle', () => {
    const r = spawnSync(process.execPath, [join(REPO, 'bin/drimbox.js'), 'xds', 'send', join(dir, 'send'), '--xds-config', writeConfig()], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--ca FILE/);
  });
});

function writeConfig(): string {
  const file = join(dir, 'xds.json');
  writeFileSync(file, JSON.stringify({ baseUrl: base, connectTimeoutMs: 2000, idleTimeoutMs: 5000 }));
  return file;
}
