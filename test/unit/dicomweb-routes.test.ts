import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccessDecision as AuthDecision } from '../../appliance/src/auth/access/types.js';
import { exportAudit, parseWhen, runAudit } from '../../appliance/src/cli/commands/audit.js';
import { synthesizeStudy, type SynthResult } from '../../appliance/src/dicom/synth/index.js';
import { PacsError } from '../../appliance/src/dimse/types.js';
import { createDicomwebService, createDimseUpstream } from '../../appliance/src/dicomweb/index.js';
import { boundaryOf, readMultipart } from '../../appliance/src/dicomweb/multipart-reader.js';
import { createDicomwebRoutes, type AccessDecision, type Authorize, type DicomwebResource } from '../../appliance/src/http/dicomweb-routes.js';
import { createLogger } from '../../appliance/src/log/logger.js';
import { AuditLog } from '../../appliance/src/store/audit.js';
import { openDatabase, type Db } from '../../appliance/src/store/database.js';
import { m001Meta } from '../../appliance/src/store/migrations/001-meta.js';
import { m003Audit } from '../../appliance/src/store/migrations/003-audit.js';
import { SHARED, ansRequestFiles, parseHttpFixture } from './dicomweb-fixtures.js';
import { FakeBridge, rowsFor, type FakeInstance } from './dicomweb-fake-bridge.js';

// The routes accept auth/access decide()'s verdict as is (a compile-time contract with the auth helper).
const _contract = (d: AuthDecision): AccessDecision => d;
void _contract;

const EXPLICIT = '1.2.840.10008.1.2.1';

let root: string;
let study: SynthResult;
let bridge: FakeBridge;
let db: Db;
let audit: AuditLog;
let app: Hono;
const asked: DicomwebResource[] = [];

/** PSC and the archive, faked: tokens name their fate. */
const authorize: Authorize = async (request, resource) => {
  asked.push(resource);
  const token = /^Bearer (\S+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
  const deny = (status: 401 | 403, reason: string, message: string): AccessDecision => ({ outcome: 'deny', status, reason, message, wwwAuthenticate: status === 401 ? 'Bearer error="invalid_token"' : undefined });
  if (!token) return deny(401, 'token-missing', 'no bearer token');
  if (token === 'expired') return deny(401, 'token-expired', 'token expired at introspection');
  if (token === 'other-patient') return deny(403, 'study-not-published', 'no KOS of this box covers the study');
  if (token === 'boom') throw new Error('PSC down');
  return { outcome: 'allow', subjectNameId: 'ANS20230001', callerDomain: { identifiant: '12', db: 'db2.test.mesimagesmedicales.fr' }, kosSopInstanceUid: '2.25.77' };
};

function fixtureInstances(s: SynthResult): FakeInstance[] {
  const own = s.series.flatMap((se) => se.instances.map((i) => ({ studyInstanceUid: s.studyInstanceUid, seriesInstanceUid: se.seriesInstanceUid, sopInstanceUid: i.sopInstanceUid, transferSyntaxUid: EXPLICIT, path: i.path })));
  // The UIDs the ANS requests name, served from our synthetic files (the fake PACS does not read the files' UIDs).
  const ans = [
    ['1.2.840.113745.101000.108000.38425.5599.7073835', '1.3.12.2.1107.5.1.4.54023.30000005041115305593700013463', '1.2.3.4.5.6.7'],
    ['1.2.840.113745.101000.108000.38425.5599.7073835', '1.3.12.2.1107.5.1.4.54023.30000005041115305593700013463', '1.2.3.4.5.6.8'],
    ['1.2.3.4.5.6.7.8.9', '1.2.3.4.5.6.7.8.9', '1.2.3.4.5.6.7.8.9'],
  ].map(([st, se, sop], i) => ({ studyInstanceUid: st!, seriesInstanceUid: se!, sopInstanceUid: sop!, transferSyntaxUid: EXPLICIT, path: s.files[i]! }));
  return [...own, ...ans];
}

async function multipartParts(res: Response): Promise<{ contentType: string; bytes: number }[]> {
  const boundary = boundaryOf(res.headers.get('content-type'));
  expect(boundary).toBeDefined();
  const out: { contentType: string; bytes: number }[] = [];
  for await (const part of readMultipart(res.body as unknown as AsyncIterable<Uint8Array>, boundary!)) {
    let bytes = 0;
    for await (const c of part.body) bytes += c.length;
    out.push({ contentType: part.headers.get('content-type') ?? '', bytes });
  }
  return out;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'dicomweb-routes-'));
  study = await synthesizeStudy({ modality: 'CT', instances: 4, outDir: join(root, 'ct'), rows: 32, columns: 32, seed: 5 });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeEach(async () => {
  asked.length = 0;
  const instances = fixtureInstances(study);
  bridge = new FakeBridge(instances);
  bridge.rows = rowsFor(instances);
  db = openDatabase(':memory:', [m001Meta, { ...m003Audit, version: 2 }]);
  audit = new AuditLog(db);
  const tempDir = mkdtempSync(join(root, 'tmp-'));
  const service = await createDicomwebService({ upstream: createDimseUpstream({ bridge, tempDir }), publicBaseUrl: 'https://db1.test/dicom-web', tempDir, log: createLogger() });
  app = new Hono();
  app.route('/dicom-web', createDicomwebRoutes({ service, authorize, audit, log: createLogger({ test: 'routes' }) }));
});

const studyUrl = () => `/dicom-web/studies/${study.studyInstanceUid}`;

describe('access control hook', () => {
  it.each([
    [undefined, 401, 'token-missing'],
    ['Bearer expired', 401, 'token-expired'],
    ['Bearer other-patient', 403, 'study-not-published'],
  ])('Authorization %s → %i, nothing asked of the PACS, refusal in the audit trail', async (authorization, status, reason) => {
    const res = await app.request(studyUrl(), { headers: authorization ? { authorization } : {} });
    expect(res.status).toBe(status);
    if (status === 401) expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const body = await res.json();
    expect(JSON.stringify(body)).not.toContain(reason); // generic body, the reason stays in the trail
    expect(bridge.retrieves).toHaveLength(0);
    const [row] = audit.list();
    expect(row).toMatchObject({ status, outcome: 'refused', action: 'retrieve', studyUid: study.studyInstanceUid, bytesSent: 0 });
    expect(row!.reason).toContain(reason);
  });

  it('fails closed with 503 when the access check itself fails', async () => {
    const res = await app.request(studyUrl(), { headers: { authorization: 'Bearer boom' } });
    expect(res.status).toBe(503);
    expect(bridge.retrieves).toHaveLength(0);
    expect(audit.list()[0]).toMatchObject({ status: 503, outcome: 'failed' });
  });

  it('passes the resource and the KOS-SOPInstanceUID header to the check', async () => {
    const se = study.series[0]!;
    await app.request(`${studyUrl()}/series/${se.seriesInstanceUid}/instances/${se.instances[0]!.sopInstanceUid}/frames/1`, { headers: { 'KOS-SOPInstanceUID': '2.25.9' } });
    expect(asked[0]).toEqual({ action: 'frames', level: 'instance', studyInstanceUid: study.studyInstanceUid, seriesInstanceUid: se.seriesInstanceUid, sopInstanceUid: se.instances[0]!.sopInstanceUid, kosSopInstanceUid: '2.25.9' });
  });
});

describe('audit trail of served requests', () => {
  it('records who, what, outcome, instances and the bytes actually sent', async () => {
    const res = await app.request(studyUrl(), { headers: { authorization: 'Bearer good', 'kos-sopinstanceuid': '2.25.77' } });
    expect(res.status).toBe(200);
    const size = (await res.arrayBuffer()).byteLength;
    const [row] = audit.list();
    expect(row).toMatchObject({
      subjectNameId: 'ANS20230001',
      callingBox: 'db2.test.mesimagesmedicales.fr',
      kosSopInstanceUid: '2.25.77',
      method: 'GET',
      path: `/dicom-web/studies/${study.studyInstanceUid}`,
      action: 'retrieve',
      studyUid: study.studyInstanceUid,
      status: 200,
      outcome: 'complete',
      instances: 4,
      bytesSent: size,
    });
    expect(size).toBeGreaterThan(4 * 32 * 32 * 2);
  });

  it('records an interrupted download with the bytes sent until the client left', async () => {
    bridge.delayMs = 15;
    const res = await app.request(studyUrl(), { headers: { authorization: 'Bearer good' } });
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await new Promise((r) => setTimeout(r, 80));
    const [row] = audit.list();
    expect(row!.outcome).toBe('interrupted');
    expect(row!.bytesSent).toBeGreaterThan(0);
    expect(row!.instances).toBeLessThan(4);
    expect(bridge.retrieves[0]!.signal!.aborted).toBe(true);
  });

  it('over a real listener, streams straight to the Node response: complete, then interrupted when the client leaves', async () => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${studyUrl()}`;
    try {
      const res = await fetch(url, { headers: { authorization: 'Bearer good' } });
      expect(res.status).toBe(200);
      const parts = await multipartParts(res);
      expect(parts).toHaveLength(4);
      expect(audit.list()[0]).toMatchObject({ outcome: 'complete', instances: 4 });
      bridge.delayMs = 15;
      const client = new AbortController();
      const partial = await fetch(url, { headers: { authorization: 'Bearer good' }, signal: client.signal });
      await partial.body!.getReader().read();
      client.abort();
      // The row is finished once the box has seen the client leave (bounded wait, not a timing assertion).
      for (let i = 0; i < 100 && audit.list()[0]!.reason === undefined; i++) await new Promise((r) => setTimeout(r, 50));
      const [row] = audit.list();
      expect(row).toMatchObject({ outcome: 'interrupted', reason: 'client went away' });
      expect(row!.instances).toBeLessThan(4);
      expect(bridge.retrieves.at(-1)!.signal!.aborted).toBe(true);
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    }
  });

  it('writes the row before serving: a crash mid-transfer leaves an "interrupted" row', () => {
    const id = audit.begin({ at: new Date().toISOString(), method: 'GET', path: '/x', action: 'retrieve' });
    expect(audit.list()[0]).toMatchObject({ id, outcome: 'interrupted', status: 0 });
  });

  it('exports CSV (formula-safe) and JSON, and lists since a duration', async () => {
    audit.record({ at: '2026-01-02T10:00:00.000Z', method: 'GET', path: '=HYPERLINK("x")', action: 'retrieve', status: 200, outcome: 'complete', instances: 3, skipped: 0, bytesSent: 1234, durationMs: 5, subjectNameId: 'A,B "C"' });
    audit.record({ at: '2026-01-03T10:00:00.000Z', method: 'GET', path: '/dicom-web/studies/1.2', action: 'retrieve', status: 403, outcome: 'refused', instances: 0, skipped: 0, bytesSent: 0, durationMs: 1, reason: 'kos-mismatch' });
    const csv = new PassThrough();
    const chunks: Buffer[] = [];
    csv.on('data', (c: Buffer) => chunks.push(c));
    expect(await exportAudit(audit.iterate({ since: '2026-01-01T00:00:00Z' }), 'csv', csv)).toBe(2);
    const lines = Buffer.concat(chunks).toString('utf8').trim().split('\r\n');
    expect(lines[0]).toMatch(/^id,at,subjectNameId,/);
    expect(lines[1]).toContain(`"A,B ""C"""`);
    expect(lines[1]).toContain(`"'=HYPERLINK(""x"")"`);

    const out = new PassThrough();
    const json: Buffer[] = [];
    out.on('data', (c: Buffer) => json.push(c));
    expect(await runAudit(['export', '--since', '2026-01-03', '--format', 'json'], db, out)).toBe(0);
    expect(JSON.parse(Buffer.concat(json).toString('utf8'))).toMatchObject([{ status: 403, reason: 'kos-mismatch' }]);

    expect(parseWhen('24h', new Date('2026-01-02T00:00:00Z'))).toBe('2026-01-01T00:00:00.000Z');
    expect(() => parseWhen('yesterday')).toThrow(/not a date/);
    await expect(runAudit(['export'], db, out)).rejects.toThrow(/--since/);
  });
});

describe('every ANS WADO-RS request fixture through the routes', () => {
  const requests = ansRequestFiles()
    .map((path) => ({ path, request: parseHttpFixture(path) }))
    .filter((f): f is { path: string; request: NonNullable<typeof f.request> } => !!f.request);

  it.each(requests.map((f) => [f.path.slice(SHARED.length + 1), f.request] as const))('%s', async (_name, request) => {
    const url = new URL(request.url);
    const headers = new Headers();
    for (const [name, value] of request.headers) if (!/^(host|connection)$/i.test(name)) headers.append(name, value);
    const wantsDicom = request.headers.some(([n, v]) => /^accept$/i.test(n) && v.includes('application/dicom'));
    if (!wantsDicom) {
      // The dry-run healthcheck: GET on the service root, Accept: application/json.
      const res = await app.request('/dicom-web', { headers });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'UP' });
      return;
    }
    const path = url.pathname.slice(url.pathname.indexOf('/studies/'));
    const res = await app.request(`/dicom-web${path}`, { method: request.method, headers });
    expect(res.status).toBe(200);
    const contentType = res.headers.get('content-type')!;
    expect(contentType).toMatch(new RegExp(`^multipart/related; type="application/dicom"; transfer-syntax=${EXPLICIT.replace(/\./g, '\\.')}; boundary=drimbox[0-9a-f]{32}$`));
    const parts = await multipartParts(res);
    const level = path.includes('/instances/') ? 1 : path.includes('/series/') ? (path.includes('1.2.3.4.5.6.7.8.9') ? 1 : 2) : 1;
    expect(parts).toHaveLength(level);
    for (const p of parts) {
      expect(p.contentType).toBe(`application/dicom; transfer-syntax=${EXPLICIT}`);
      expect(p.bytes).toBeGreaterThan(132);
    }
    expect(audit.list()[0]).toMatchObject({ status: 200, outcome: 'complete', instances: level });
  });
});

describe('gzip of the instances served', () => {
  async function routesWith(compressImages: 'never' | 'wan' | 'always', clientAddress: string): Promise<Hono> {
    const tempDir = mkdtempSync(join(root, 'tmp-'));
    const service = await createDicomwebService({ upstream: createDimseUpstream({ bridge, tempDir }), publicBaseUrl: 'https://db1.test/dicom-web', tempDir, log: createLogger() });
    return new Hono().route('/dicom-web', createDicomwebRoutes({ service, authorize, audit, log: createLogger(), compressImages, clientAddress: () => clientAddress }));
  }
  const headers = (acceptEncoding?: string) => ({ authorization: 'Bearer good', ...(acceptEncoding ? { 'accept-encoding': acceptEncoding } : {}) });

  it('gzips a study for a caller across the internet that accepts it: the same multipart once decoded, fewer bytes sent', async () => {
    const plain = Buffer.from(await (await app.request(studyUrl(), { headers: headers('gzip') })).arrayBuffer());
    const wan = await routesWith('wan', '203.0.113.9');
    const res = await wan.request(studyUrl(), { headers: headers('gzip, deflate') });
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(res.headers.get('vary')).toContain('Accept-Encoding');
    const wire = Buffer.from(await res.arrayBuffer());
    const decoded = gunzipSync(wire);
    const boundaryOfPlain = boundaryOf(res.headers.get('content-type'))!;
    expect(decoded.length).toBe(plain.length);
    expect(decoded.toString('latin1')).toContain(`--${boundaryOfPlain}--`);
    expect(wire.length).toBeLessThan(decoded.length * 0.8);
    expect(audit.list()[0]).toMatchObject({ outcome: 'complete', instances: 4, bytesSent: wire.length });
  });

  it('sends identity on the LAN, to a caller that does not accept gzip, and when the policy says never', async () => {
    for (const [policy, address, acceptEncoding] of [
      ['wan', '192.168.1.20', 'gzip'],
      ['wan', '::ffff:10.0.0.7', 'gzip'],
      ['always', '203.0.113.9', 'identity'],
      ['always', '203.0.113.9', 'gzip;q=0'],
      ['never', '203.0.113.9', 'gzip'],
    ] as const) {
      const res = await (await routesWith(policy, address)).request(studyUrl(), { headers: headers(acceptEncoding) });
      expect(res.headers.get('content-encoding'), `${policy} ${address} ${acceptEncoding}`).toBeNull();
      expect(await multipartParts(res)).toHaveLength(4);
    }
  });

  it('a client leaving a gzipped answer stops the retrieval behind it', async () => {
    bridge.delayMs = 15;
    const res = await (await routesWith('always', '127.0.0.1')).request(studyUrl(), { headers: headers('gzip') });
    expect(res.headers.get('content-encoding')).toBe('gzip');
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    for (let i = 0; i < 100 && !bridge.retrieves.at(-1)!.signal!.aborted; i++) await new Promise((r) => setTimeout(r, 20));
    expect(bridge.retrieves.at(-1)!.signal!.aborted).toBe(true);
  });
});

describe('request hygiene', () => {
  it('refuses malformed UIDs, frame lists and bulk paths with 400, other methods with 405', async () => {
    const auth = { authorization: 'Bearer good' };
    expect((await app.request('/dicom-web/studies/1.2.abc', { headers: auth })).status).toBe(400);
    expect((await app.request(`${studyUrl()}/series/1.2/instances/1.3/frames/0`, { headers: auth })).status).toBe(400);
    expect((await app.request(`${studyUrl()}/series/1.2/instances/1.3/frames/1,x`, { headers: auth })).status).toBe(400);
    expect((await app.request(`${studyUrl()}/series/1.2/instances/1.3/bulk/..%2F..%2Fetc`, { headers: auth })).status).toBe(400);
    expect((await app.request(studyUrl(), { method: 'POST', headers: auth })).status).toBe(405);
    expect((await app.request(studyUrl(), { method: 'HEAD', headers: auth })).status).toBe(405);
    expect((await app.request('/dicom-web/workitems', { headers: auth })).status).toBe(404);
    expect(bridge.retrieves).toHaveLength(0);
  });

  it('never puts a PACS detail in an error body', async () => {
    bridge.retrieve = async () => {
      throw new PacsError('association-rejected', 'association rejected by ORTHANC@10.0.0.5:4242 (calling AE DRIMBOX unknown)', { pacs: 'ORTHANC@10.0.0.5:4242' });
    };
    const res = await app.request(studyUrl(), { headers: { authorization: 'Bearer good' } });
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(text).toContain('PACS');
    expect(text).not.toMatch(/ORTHANC|10\.0\.0\.5|4242|DRIMBOX/);
    expect(audit.list()[0]).toMatchObject({ status: 502, outcome: 'failed' });
  });
});
