import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeStudy, type SynthResult } from '../../appliance/src/dicom/synth/index.js';
import { createDicomwebUpstream } from '../../appliance/src/dicomweb/index.js';
import { boundaryOf, readMultipart } from '../../appliance/src/dicomweb/multipart-reader.js';
import { scanPart10 } from '../../appliance/src/dicom/dataset/part10-scan.js';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { startBox, TEST_TOKEN, type TestBox } from './dicomweb-box.js';

/**
 * The DICOMweb service against a real PACS (Orthanc, with its own DICOMweb as upstream) and real clients no one
 * here wrote: the dicomweb-client library and Orthanc's DICOMweb plugin using the box as a remote server.
 */

const AUTH = { authorization: `Bearer ${TEST_TOKEN}` };
const sha = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

let dir: string;
let pacs: OrthancPeer;
let box: TestBox;
let study: SynthResult;
let big: SynthResult;
/** Every upstream request the box made, with its abort signal. */
const upstreamCalls: { url: string; signal: AbortSignal }[] = [];

async function parts(res: Response): Promise<{ contentType: string; body: Buffer }[]> {
  const boundary = boundaryOf(res.headers.get('content-type'));
  if (!boundary) throw new Error(`not multipart: ${res.status} ${res.headers.get('content-type')} ${await res.text()}`);
  const out: { contentType: string; body: Buffer }[] = [];
  for await (const part of readMultipart(res.body as unknown as AsyncIterable<Uint8Array>, boundary)) {
    const chunks: Buffer[] = [];
    for await (const c of part.body) chunks.push(c);
    out.push({ contentType: part.headers.get('content-type') ?? '', body: Buffer.concat(chunks) });
  }
  return out;
}

const uidsOf = (rows: Record<string, { Value?: unknown[] }>[], tag: string) => rows.map((r) => r[tag]!.Value![0] as string).sort();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dicomweb-orthanc-'));
  pacs = await startOrthanc();
  study = await synthesizeStudy({ modality: 'CT', instances: 8, seriesCount: 2, outDir: join(dir, 'ct'), rows: 64, columns: 64, charset: 'ISO_IR 100', patient: { name: 'NUÑEZ^Hélène', id: 'DWB-1' }, seed: 21 });
  big = await synthesizeStudy({ modality: 'CT', instances: 60, outDir: join(dir, 'big'), rows: 256, columns: 256, patient: { id: 'DWB-2' }, seed: 22 });
  for (const f of [...study.files, ...big.files]) await pacs.upload(readFileSync(f));
  const spyFetch: typeof fetch = (input, init) => {
    upstreamCalls.push({ url: String(input), signal: init!.signal! });
    return fetch(input, init);
  };
  box = await startBox(() => createDicomwebUpstream({ baseUrl: pacs.dicomwebUrl, fetch: spyFetch }));
});

afterAll(async () => {
  await box?.stop();
  await pacs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Orthanc's id of an instance, and its stored file. */
async function orthancFile(sopInstanceUid: string): Promise<Buffer> {
  const [id] = await pacs.rest<string[]>('/tools/lookup', { method: 'POST', body: sopInstanceUid }).then((r) => (r as unknown as { ID: string }[]).map((x) => x.ID));
  const res = await fetch(`${pacs.httpUrl}/instances/${id}/file`);
  return Buffer.from(await res.arrayBuffer());
}

describe('QIDO-RS through the box (PACS DICOMweb upstream)', () => {
  it('returns the same study, series and instance UIDs as the PACS, in UTF-8, with our RetrieveURLs only', async () => {
    for (const path of ['/studies?PatientID=DWB-1', `/studies/${study.studyInstanceUid}/series`, `/studies/${study.studyInstanceUid}/series/${study.series[1]!.seriesInstanceUid}/instances`]) {
      const ours = await fetch(box.baseUrl + path, { headers: { ...AUTH, accept: 'application/dicom+json' } });
      expect(ours.status).toBe(200);
      const text = await ours.text();
      const theirs = (await (await fetch(pacs.dicomwebUrl + path, { headers: { accept: 'application/dicom+json' } })).json()) as Record<string, { Value?: unknown[] }>[];
      const rows = JSON.parse(text) as Record<string, { Value?: unknown[] }>[];
      const tag = path.endsWith('/series') ? '0020000E' : path.endsWith('/instances') ? '00080018' : '0020000D';
      expect(uidsOf(rows, tag)).toEqual(uidsOf(theirs, tag));
      expect(rows.length).toBeGreaterThan(0);
      expect(text).not.toContain(`:${pacs.httpPort}`);
      for (const r of rows) expect(String(r['00081190']!.Value![0])).toMatch(new RegExp(`^${box.baseUrl}/studies/`));
      if (tag === '0020000D') expect(rows[0]!['00100010']!.Value).toEqual([{ Alphabetic: 'NUÑEZ^Hélène' }]);
    }
  });

  it('refuses a request without a valid token', async () => {
    expect((await fetch(`${box.baseUrl}/studies`)).status).toBe(401);
  });
});

describe('WADO-RS through the box (PACS DICOMweb upstream)', () => {
  it('returns an instance byte-identical to the file the PACS stores', async () => {
    const se = study.series[0]!;
    const sop = se.instances[2]!.sopInstanceUid;
    const res = await fetch(`${box.baseUrl}/studies/${study.studyInstanceUid}/series/${se.seriesInstanceUid}/instances/${sop}`, { headers: { ...AUTH, accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
    expect(res.status).toBe(200);
    const [part, ...rest] = await parts(res);
    expect(rest).toHaveLength(0);
    expect(sha(part!.body)).toBe(sha(await orthancFile(sop)));
  });

  it('streams every instance of a study (ANS Accept list) with the stored syntax', async () => {
    const accept = readFileSync(join(import.meta.dirname, '../fixtures/reference/spec/wado-rs/ans-request-series.http.txt'), 'latin1').split(/\r?\n/).find((l) => l.startsWith('Accept:'))!.slice(7);
    const res = await fetch(`${box.baseUrl}/studies/${study.studyInstanceUid}`, { headers: { ...AUTH, accept } });
    expect(res.headers.get('content-type')).toMatch(/^multipart\/related; type="application\/dicom"; transfer-syntax=1\.2\.840\.10008\.1\.2\.1; boundary=/);
    const got = await parts(res);
    expect(got).toHaveLength(8);
    const expected = await Promise.all(study.series.flatMap((s) => s.instances).map(async (i) => sha(await orthancFile(i.sopInstanceUid))));
    expect(got.map((p) => sha(p.body)).sort()).toEqual(expected.sort());
    expect(got.every((p) => p.contentType === 'application/dicom; transfer-syntax=1.2.840.10008.1.2.1')).toBe(true);
  });

  it('has the PACS transcode an instance the client cannot take as stored (lossless only), else 406', async () => {
    const se = study.series[0]!;
    const url = `${box.baseUrl}/studies/${study.studyInstanceUid}/series/${se.seriesInstanceUid}`;
    const jls = await fetch(url, { headers: { ...AUTH, accept: 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.80' } });
    expect(jls.status).toBe(200);
    const got = await parts(jls);
    expect(got).toHaveLength(se.instances.length);
    expect(got.every((p) => p.contentType === 'application/dicom; transfer-syntax=1.2.840.10008.1.2.4.80')).toBe(true);
    const lossy = await fetch(url, { headers: { ...AUTH, accept: 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50' } });
    expect(lossy.status).toBe(406);
    expect((await fetch(url, { headers: { ...AUTH, accept: 'image/png' } })).status).toBe(406);
  });

  it('serves metadata with BulkDataURIs on the box, and the bulk data and frames behind them', async () => {
    const se = study.series[1]!;
    const res = await fetch(`${box.baseUrl}/studies/${study.studyInstanceUid}/series/${se.seriesInstanceUid}/metadata`, { headers: { ...AUTH, 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    const text = await res.text(); // fetch un-gzips
    expect(text).not.toContain(`:${pacs.httpPort}`);
    const items = JSON.parse(text) as Record<string, { Value?: unknown[]; BulkDataURI?: string }>[];
    expect(items).toHaveLength(se.instances.length);
    const uri = items[0]!['7FE00010']!.BulkDataURI!;
    expect(uri.startsWith(`${box.baseUrl}/studies/${study.studyInstanceUid}/series/${se.seriesInstanceUid}/instances/`)).toBe(true);
    const sop = items[0]!['00080018']!.Value![0] as string;
    const file = await orthancFile(sop);
    const path = join(dir, 'px.dcm');
    writeFileSync(path, file);
    const layout = await scanPart10(path);
    const pixels = file.subarray(layout.pixelData!.valueOffset, layout.pixelData!.valueOffset + layout.pixelData!.length!);
    const bulk = await parts(await fetch(uri, { headers: { ...AUTH, accept: 'multipart/related; type="application/octet-stream"' } }));
    expect(bulk[0]!.body.equals(pixels)).toBe(true);
    const frames = await parts(await fetch(`${box.baseUrl}/studies/${study.studyInstanceUid}/series/${se.seriesInstanceUid}/instances/${sop}/frames/1`, { headers: { ...AUTH, accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' } }));
    expect(frames[0]!.body.equals(pixels)).toBe(true);
    const studyMeta = JSON.parse(await (await fetch(`${box.baseUrl}/studies/${study.studyInstanceUid}/metadata`, { headers: AUTH })).text()) as unknown[];
    expect(studyMeta).toHaveLength(8);
  });

  it('aborts the upstream retrieval when the client disconnects mid-study', async () => {
    const before = box.service.stats();
    const client = new AbortController();
    const res = await fetch(`${box.baseUrl}/studies/${big.studyInstanceUid}`, { headers: AUTH, signal: client.signal });
    const reader = res.body!.getReader();
    let received = 0;
    while (received < 300_000) received += (await reader.read()).value!.byteLength;
    client.abort();
    const call = upstreamCalls.findLast((c) => c.url.endsWith(`/studies/${big.studyInstanceUid}`))!;
    await expect.poll(() => call.signal.aborted, { timeout: 5000 }).toBe(true);
    await expect.poll(() => box.service.stats().abandonedRetrievals, { timeout: 5000 }).toBe(before.abandonedRetrievals + 1);
    expect(box.service.stats().activeRetrievals).toBe(0);
    await expect.poll(() => box.audit.list({ limit: 1 })[0]?.outcome, { timeout: 5000 }).toBe('interrupted');
    expect(received).toBeLessThan(60 * 256 * 256 * 2);
  });
});

describe('real clients', () => {
  it('dicomweb-client runs QIDO and WADO against the box', async () => {
    // dicomweb-client is XHR-based: xhr2 gives Node one (xhr2 ships no types).
    // @ts-expect-error no declaration file for xhr2
    (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest = ((await import('xhr2')) as { default: unknown }).default;
    const { api } = (await import('dicomweb-client')) as unknown as { api: { DICOMwebClient: new (o: object) => Record<string, (o?: object) => Promise<unknown>> } };
    const client = new api.DICOMwebClient({ url: box.baseUrl, headers: AUTH });
    const studies = (await client.searchForStudies!({ queryParams: { PatientID: 'DWB-1' } })) as Record<string, { Value: string[] }>[];
    expect(studies.map((s) => s['0020000D']!.Value[0])).toEqual([study.studyInstanceUid]);
    const series = (await client.searchForSeries!({ studyInstanceUID: study.studyInstanceUid })) as unknown[];
    expect(series).toHaveLength(2);
    const se = study.series[0]!;
    const metadata = (await client.retrieveSeriesMetadata!({ studyInstanceUID: study.studyInstanceUid, seriesInstanceUID: se.seriesInstanceUid })) as unknown[];
    expect(metadata).toHaveLength(se.instances.length);
    const sop = se.instances[0]!.sopInstanceUid;
    const instance = (await client.retrieveInstance!({ studyInstanceUID: study.studyInstanceUid, seriesInstanceUID: se.seriesInstanceUid, sopInstanceUID: sop })) as ArrayBuffer;
    expect(sha(Buffer.from(instance))).toBe(sha(await orthancFile(sop)));
    const whole = (await client.retrieveStudy!({ studyInstanceUID: study.studyInstanceUid })) as ArrayBuffer[];
    expect(whole).toHaveLength(8);
    const frames = (await client.retrieveInstanceFrames!({ studyInstanceUID: study.studyInstanceUid, seriesInstanceUID: se.seriesInstanceUid, sopInstanceUID: sop, frameNumbers: [1] })) as ArrayBuffer[];
    expect(frames[0]!.byteLength).toBe(64 * 64 * 2);
  });

  it("Orthanc's DICOMweb plugin retrieves a study through the box into its own store", async () => {
    const consumer = await startOrthanc({ aeTitle: 'CONSUMER', dicomwebServers: { drimbox: { Url: `${box.baseUrl}/`, HttpHeaders: AUTH } } });
    try {
      await consumer.rest('/dicom-web/servers/drimbox/retrieve', { method: 'POST', body: JSON.stringify({ Resources: [{ Study: study.studyInstanceUid }] }) });
      const ids = await consumer.rest<string[]>('/instances');
      expect(ids).toHaveLength(8);
      const theirs = await Promise.all(ids.map(async (id) => sha(Buffer.from(await (await fetch(`${consumer.httpUrl}/instances/${id}/file`)).arrayBuffer()))));
      const ours = await Promise.all(study.series.flatMap((s) => s.instances).map(async (i) => sha(await orthancFile(i.sopInstanceUid))));
      expect(theirs.sort()).toEqual(ours.sort());
      expect(box.audit.list({ limit: 1 })[0]).toMatchObject({ action: 'retrieve', status: 200, outcome: 'complete', instances: 8, studyUid: study.studyInstanceUid });
    } finally {
      await consumer.stop();
    }
  });
});
