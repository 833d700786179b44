import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { synthesizeStudy, type SynthResult } from '../../appliance/src/dicom/synth/index.js';
import { createDicomwebService, createDimseUpstream, DicomwebError, type DicomwebService } from '../../appliance/src/dicomweb/index.js';
import { boundaryOf, readMultipart } from '../../appliance/src/dicomweb/multipart-reader.js';
import type { DicomwebResponse, RequestContext } from '../../appliance/src/dicomweb/response.js';
import { scanPart10 } from '../../appliance/src/dicom/dataset/part10-scan.js';
import { createLogger } from '../../appliance/src/log/logger.js';
import { openDatabase, type Db } from '../../appliance/src/store/database.js';
import { DicomwebMetadataCache } from '../../appliance/src/store/dicomweb-cache.js';
import { m001Meta } from '../../appliance/src/store/migrations/001-meta.js';
import { m004DicomwebCache } from '../../appliance/src/store/migrations/004-dicomweb-cache.js';
import { FakeBridge, rowsFor, type FakeInstance } from './dicomweb-fake-bridge.js';

const EXPLICIT = '1.2.840.10008.1.2.1';
const IMPLICIT = '1.2.840.10008.1.2';
const BASE = 'https://db1.test.example/dicom-web';
const ANS_ACCEPT =
  'multipart/related; type="application/dicom";transfer-syntax=1.2.840.10008.1.2.4.70;q=0.9;boundary=**,multipart/related; type="application/dicom";transfer-syntax=1.2.840.10008.1.2.4.80;q=0.8;boundary=**,multipart/related; type="application/dicom";transfer-syntax=1.2.840.10008.1.2.1;q=0.4;boundary=**,';

let root: string;
let study: SynthResult;
let implicitStudy: SynthResult;
let instances: FakeInstance[];
let bridge: FakeBridge;
let service: DicomwebService;
let tempDir: string;
let db: Db;
let cache: DicomwebMetadataCache;

function fakeInstances(s: SynthResult, ts: string): FakeInstance[] {
  return s.series.flatMap((se) => se.instances.map((i) => ({ studyInstanceUid: s.studyInstanceUid, seriesInstanceUid: se.seriesInstanceUid, sopInstanceUid: i.sopInstanceUid, transferSyntaxUid: ts, path: i.path })));
}

const ctx = (accept?: string, extra: Partial<RequestContext> = {}): RequestContext => ({ accept, signal: new AbortController().signal, ...extra });

async function bodyBytes(answer: DicomwebResponse): Promise<Buffer> {
  if (answer.body === null) return Buffer.alloc(0);
  if (answer.body instanceof Uint8Array) return Buffer.from(answer.body);
  const chunks: Buffer[] = [];
  for await (const c of answer.body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function parts(answer: DicomwebResponse): Promise<{ contentType: string; body: Buffer }[]> {
  const boundary = boundaryOf(answer.headers['content-type']);
  expect(boundary).toBeDefined();
  const out: { contentType: string; body: Buffer }[] = [];
  for await (const part of readMultipart(answer.body as AsyncIterable<Uint8Array>, boundary!)) {
    const chunks: Buffer[] = [];
    for await (const c of part.body) chunks.push(c);
    out.push({ contentType: part.headers.get('content-type') ?? '', body: Buffer.concat(chunks) });
  }
  return out;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'dicomweb-service-'));
  study = await synthesizeStudy({ modality: 'CT', instances: 6, seriesCount: 2, outDir: join(root, 'ct'), rows: 32, columns: 32, seed: 11 });
  implicitStudy = await synthesizeStudy({ modality: 'CT', instances: 2, outDir: join(root, 'implicit'), rows: 16, columns: 16, transferSyntax: 'implicit-le', seed: 12 });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeEach(async () => {
  instances = [...fakeInstances(study, EXPLICIT), ...fakeInstances(implicitStudy, IMPLICIT)];
  bridge = new FakeBridge(instances);
  bridge.rows = rowsFor(instances, { patientName: 'NUÑEZ^Hélène', charset: 'ISO_IR 100' });
  tempDir = mkdtempSync(join(root, 'tmp-'));
  db = openDatabase(':memory:', [m001Meta, { ...m004DicomwebCache, version: 2 }]);
  cache = new DicomwebMetadataCache(db);
  service = await createDicomwebService({ upstream: createDimseUpstream({ bridge, tempDir }), publicBaseUrl: BASE, tempDir, cache, log: createLogger({ test: 'dicomweb' }) });
});

describe('QIDO-RS over C-FIND', () => {
  it('asks the PACS for the default and included attributes and answers UTF-8 JSON with our RetrieveURL', async () => {
    const answer = await service.search({ level: 'STUDY' }, new URLSearchParams('PatientID=PID*&includefield=00081030,InstitutionName'), ctx('application/dicom+json'));
    expect(answer.headers['content-type']).toBe('application/dicom+json; charset=utf-8');
    const json = JSON.parse((await bodyBytes(answer)).toString('utf8'));
    expect(json).toHaveLength(2);
    expect(json[0]['00080005'].Value).toEqual(['ISO_IR 192']);
    expect(json[0]['00100010'].Value[0].Alphabetic).toBe('NUÑEZ^Hélène');
    expect(json.map((r: Record<string, { Value: string[] }>) => r['00081190']!.Value[0])).toEqual([`${BASE}/studies/${study.studyInstanceUid}`, `${BASE}/studies/${implicitStudy.studyInstanceUid}`]);
    const keys = bridge.finds[0]!.keys;
    expect(bridge.finds[0]!.level).toBe('STUDY');
    expect(keys).toMatchObject({ PatientID: 'PID*', StudyDescription: '', InstitutionName: '', ModalitiesInStudy: '', NumberOfStudyRelatedInstances: '' });
    expect(keys).not.toHaveProperty('RetrieveURL');
  });

  it('applies limit and offset itself (C-FIND has no paging) and gzips when asked', async () => {
    const answer = await service.search(
      { level: 'IMAGE', studyInstanceUid: study.studyInstanceUid, seriesInstanceUid: study.series[0]!.seriesInstanceUid },
      new URLSearchParams('limit=2&offset=1'),
      ctx(undefined, { acceptEncoding: 'gzip, deflate' }),
    );
    expect(answer.headers['content-encoding']).toBe('gzip');
    const json = JSON.parse(gunzipSync(await bodyBytes(answer)).toString('utf8'));
    const expected = study.series[0]!.instances.slice(1, 3).map((i) => i.sopInstanceUid);
    expect(json.map((r: Record<string, { Value: string[] }>) => r['00080018']!.Value[0])).toEqual(expected);
    expect(bridge.finds[0]!.keys).toMatchObject({ StudyInstanceUID: study.studyInstanceUid, SeriesInstanceUID: study.series[0]!.seriesInstanceUid });
  });

  it('refuses unknown attributes, bad limits and UID lists written with backslashes; converts comma lists', async () => {
    await expect(service.search({ level: 'STUDY' }, new URLSearchParams('Foo=1'), ctx())).rejects.toMatchObject({ status: 400 });
    await expect(service.search({ level: 'STUDY' }, new URLSearchParams('limit=-1'), ctx())).rejects.toMatchObject({ status: 400 });
    await expect(service.search({ level: 'STUDY' }, new URLSearchParams('StudyInstanceUID=1.2\\1.3'), ctx())).rejects.toMatchObject({ status: 400 });
    await expect(service.search({ level: 'STUDY' }, new URLSearchParams(), ctx('text/html'))).rejects.toMatchObject({ status: 406 });
    await bodyBytes(await service.search({ level: 'STUDY' }, new URLSearchParams('StudyInstanceUID=1.2,1.3'), ctx()));
    expect(bridge.finds.at(-1)!.keys.StudyInstanceUID).toBe('1.2\\1.3');
  });
});

describe('WADO-RS retrieval over DIMSE', () => {
  it('streams every instance of a study, byte-identical, and leaves no temp file', async () => {
    const answer = await service.retrieve({ level: 'STUDY', studyInstanceUid: study.studyInstanceUid }, ctx('multipart/related; type="application/dicom"; transfer-syntax=*'));
    expect(answer.headers['content-type']).toMatch(/^multipart\/related; type="application\/dicom"; transfer-syntax=1\.2\.840\.10008\.1\.2\.1; boundary=drimbox[0-9a-f]{32}$/);
    const got = await parts(answer);
    expect(got).toHaveLength(6);
    const expected = new Map(study.files.map((f) => [readFileSync(f).toString('base64'), f]));
    for (const p of got) {
      expect(p.contentType).toBe(`application/dicom; transfer-syntax=${EXPLICIT}`);
      expect(expected.has(p.body.toString('base64'))).toBe(true);
    }
    expect(answer.served).toEqual({ instances: 6, skipped: 0 });
    expect(readdirSync(tempDir)).toEqual([]);
    expect(service.stats()).toMatchObject({ activeRetrievals: 0, completedRetrievals: 1, abandonedRetrievals: 0 });
  });

  it('aborts the PACS retrieval when the client leaves mid-study, and cleans up', async () => {
    bridge.delayMs = 20;
    const client = new AbortController();
    const answer = await service.retrieve({ level: 'STUDY', studyInstanceUid: study.studyInstanceUid }, ctx('*/*', { signal: client.signal }));
    const iterator = (answer.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.next();
    client.abort();
    await iterator.return?.(undefined);
    expect(bridge.retrieves[0]!.signal!.aborted).toBe(true);
    await new Promise((r) => setTimeout(r, 60));
    expect(bridge.retrieves[0]!.outcome).toBe('cancelled');
    expect(readdirSync(tempDir)).toEqual([]);
    expect(service.stats()).toMatchObject({ activeRetrievals: 0, abandonedRetrievals: 1 });
  });

  it('rewrites an implicit VR LE instance as Explicit VR LE for the ANS Accept list', async () => {
    const se = implicitStudy.series[0]!;
    const answer = await service.retrieve({ level: 'IMAGE', studyInstanceUid: implicitStudy.studyInstanceUid, seriesInstanceUid: se.seriesInstanceUid, sopInstanceUid: se.instances[0]!.sopInstanceUid }, ctx(ANS_ACCEPT));
    expect(answer.headers['content-type']).toContain(`transfer-syntax=${EXPLICIT};`);
    const [part] = await parts(answer);
    expect(part!.contentType).toBe(`application/dicom; transfer-syntax=${EXPLICIT}`);
    const path = join(root, 'rewritten.dcm');
    writeFileSync(path, part!.body);
    const layout = await scanPart10(path);
    expect(layout.transferSyntaxUid).toBe(EXPLICIT);
    expect(layout.sopInstanceUid).toBe(se.instances[0]!.sopInstanceUid);
  });

  it('answers 406 when the client takes no syntax the box can make, 404 when the PACS has nothing', async () => {
    const se = implicitStudy.series[0]!;
    const target = { level: 'SERIES' as const, studyInstanceUid: implicitStudy.studyInstanceUid, seriesInstanceUid: se.seriesInstanceUid };
    await expect(service.retrieve(target, ctx('multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.80'))).rejects.toMatchObject({ status: 406 });
    await expect(service.retrieve(target, ctx('application/dicom+json'))).rejects.toMatchObject({ status: 406 });
    await expect(service.retrieve({ level: 'STUDY', studyInstanceUid: '1.2.3.4' }, ctx())).rejects.toMatchObject({ status: 404 });
    expect(readdirSync(tempDir)).toEqual([]);
  });

  it('narrows a study to the series and instances the granting KOS covers', async () => {
    const [s1, s2] = study.series as [SynthResult['series'][0], SynthResult['series'][0]];
    const coverage = new Map([[s2.seriesInstanceUid, new Set([s2.instances[0]!.sopInstanceUid, s2.instances[2]!.sopInstanceUid])]]);
    const answer = await service.retrieve({ level: 'STUDY', studyInstanceUid: study.studyInstanceUid }, ctx(undefined, { coverage }));
    const got = await parts(answer);
    expect(got.map((p) => p.body.equals(readFileSync(s2.instances[0]!.path)) || p.body.equals(readFileSync(s2.instances[2]!.path)))).toEqual([true, true]);
    expect(bridge.retrieves.map((r) => r.target.seriesInstanceUid)).toEqual([s2.seriesInstanceUid]);
    await expect(service.frames({ studyInstanceUid: study.studyInstanceUid, seriesInstanceUid: s1.seriesInstanceUid, sopInstanceUid: s1.instances[0]!.sopInstanceUid }, [1], ctx(undefined, { coverage }))).rejects.toMatchObject({ status: 404 });
  });
});

describe('frames and bulk data from the stored file', () => {
  it('serves an uncompressed frame as the exact Pixel Data bytes', async () => {
    const i = study.series[0]!.instances[1]!;
    const ref = { studyInstanceUid: study.studyInstanceUid, seriesInstanceUid: study.series[0]!.seriesInstanceUid, sopInstanceUid: i.sopInstanceUid };
    const answer = await service.frames(ref, [1], ctx('multipart/related; type="application/octet-stream"; transfer-syntax=*'));
    const [part] = await parts(answer);
    const layout = await scanPart10(i.path);
    const pixels = readFileSync(i.path).subarray(layout.pixelData!.valueOffset, layout.pixelData!.valueOffset + layout.pixelData!.length!);
    expect(part!.contentType).toBe(`application/octet-stream; transfer-syntax=${EXPLICIT}`);
    expect(part!.body.equals(pixels)).toBe(true);
    await expect(service.frames(ref, [2], ctx())).rejects.toMatchObject({ status: 404 });
    await expect(service.frames(ref, [1], ctx('multipart/related; type="image/jpeg"'))).rejects.toMatchObject({ status: 406 });
    const bulk = await parts(await service.bulk(ref, '7FE00010', ctx()));
    expect(bulk[0]!.body.equals(pixels)).toBe(true);
    const name = await parts(await service.bulk(ref, '00100010', ctx()));
    expect(name[0]!.body.toString('utf8').trim()).toBe(study.patient.name); // raw value bytes (ISO_IR 192 file)
    expect(readdirSync(tempDir)).toEqual([]);
  });
});

describe('metadata, cached per series', () => {
  const seriesOf = () => ({ st: study.studyInstanceUid, se: study.series[0]!.seriesInstanceUid });

  it('builds series metadata once, serves it gzipped from the cache, and rebuilds when the series changes', async () => {
    const { st, se } = seriesOf();
    const first = await service.seriesMetadata(st, se, ctx(undefined, { acceptEncoding: 'gzip' }));
    expect(first.headers['content-encoding']).toBe('gzip');
    const items = JSON.parse(gunzipSync(await bodyBytes(first)).toString('utf8'));
    expect(items).toHaveLength(3);
    const sop = items[0]['00080018'].Value[0];
    expect(items[0]['7FE00010']).toEqual({ vr: 'OW', BulkDataURI: `${BASE}/studies/${st}/series/${se}/instances/${sop}/bulk/7FE00010` });
    expect(bridge.retrieves).toHaveLength(1);

    const second = JSON.parse((await bodyBytes(await service.seriesMetadata(st, se, ctx()))).toString('utf8'));
    expect(second).toEqual(items);
    expect(bridge.retrieves).toHaveLength(1); // from the cache

    // Late image: the PACS now counts 4 instances in the series.
    bridge.rows.SERIES!.find((r) => r['0020000E']!.Value![0] === se)!['00201209'] = { vr: 'IS', Value: [4] };
    await bodyBytes(await service.seriesMetadata(st, se, ctx()));
    expect(bridge.retrieves).toHaveLength(2);

    expect(service.invalidateStudy(st)).toBe(1);
    await bodyBytes(await service.seriesMetadata(st, se, ctx()));
    expect(bridge.retrieves).toHaveLength(3);
    expect(readdirSync(tempDir)).toEqual([]);
  });

  it('shares one build between concurrent requests, and serves study metadata as all its series', async () => {
    const { st, se } = seriesOf();
    await Promise.all([1, 2, 3].map(async () => bodyBytes(await service.seriesMetadata(st, se, ctx()))));
    expect(bridge.retrieves).toHaveLength(1);
    const all = JSON.parse((await bodyBytes(await service.studyMetadata(st, ctx()))).toString('utf8'));
    expect(all).toHaveLength(6);
    expect(new Set(all.map((i: Record<string, { Value: string[] }>) => i['0020000E']!.Value[0])).size).toBe(2);
    await expect(service.studyMetadata('1.2.3.9', ctx())).rejects.toMatchObject({ status: 404 });
    await expect(service.seriesMetadata(st, se, ctx('multipart/related; type="application/dicom"'))).rejects.toBeInstanceOf(DicomwebError);
  });
});
