import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../appliance/src/config/schema.js';
import { synthesizeStudy, type SynthResult } from '../../appliance/src/dicom/synth/index.js';
import { createDimseUpstream } from '../../appliance/src/dicomweb/index.js';
import { boundaryOf, readMultipart } from '../../appliance/src/dicomweb/multipart-reader.js';
import { instanceToDicomJson } from '../../appliance/src/dicomweb/dicom-json.js';
import { scanPart10 } from '../../appliance/src/dicom/dataset/part10-scan.js';
import { createPacsBridge } from '../../appliance/src/dimse/index.js';
import type { PacsBridge, RetrieveOptions } from '../../appliance/src/dimse/types.js';
import type { RetrieveTarget } from '../../appliance/src/dicom/model.js';
import { reservedPort } from '../peers/ports.js';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { startBox, TEST_TOKEN, type TestBox } from './dicomweb-box.js';

/**
 * The DICOMweb service with DIMSE as upstream: the real PACS bridge (C-FIND, C-GET) against Orthanc. The bridge
 * has a single association slot, so a retrieval abandoned by its client must release it for the next request.
 */

const AUTH = { authorization: `Bearer ${TEST_TOKEN}` };
const sha = (b: Buffer | Uint8Array | string) => createHash('sha256').update(b).digest('hex');

let dir: string;
let pacs: OrthancPeer;
let box: TestBox;
let study: SynthResult;
let big: SynthResult;
let tempDir: string;
let smallBudgetBox: TestBox;
let smallBudgetTempDir: string;
const retrievals: { target: RetrieveTarget; signal?: AbortSignal; outcome?: string; handedOn: ('memory' | 'disk')[] }[] = [];

async function parts(res: Response): Promise<{ contentType: string; body: Buffer }[]> {
  const boundary = boundaryOf(res.headers.get('content-type'));
  if (!boundary) throw new Error(`not multipart: ${res.status} ${await res.text()}`);
  const out: { contentType: string; body: Buffer }[] = [];
  for await (const part of readMultipart(res.body as unknown as AsyncIterable<Uint8Array>, boundary)) {
    const chunks: Buffer[] = [];
    for await (const c of part.body) chunks.push(c);
    out.push({ contentType: part.headers.get('content-type') ?? '', body: Buffer.concat(chunks) });
  }
  return out;
}

async function layoutOf(bytes: Buffer) {
  const path = join(dir, `file-${sha(bytes)}.dcm`);
  writeFileSync(path, bytes);
  return scanPart10(path);
}

/**
 * What an instance says, whatever its encoding: its attributes as DICOM JSON and its pixel bytes. Over DIMSE the
 * PACS re-encodes (Orthanc writes sequences with explicit lengths, and the bridge its own file meta), so bytes
 * differ from the stored file while the content is the same.
 */
async function content(bytes: Buffer): Promise<string> {
  const layout = await layoutOf(bytes);
  const json = await instanceToDicomJson(layout, { inlineLimit: Number.MAX_SAFE_INTEGER });
  const px = bytes.subarray(layout.pixelData!.valueOffset, layout.pixelData!.valueOffset + layout.pixelData!.length!);
  return sha(JSON.stringify(json)) + ':' + sha(px);
}

async function orthancFile(sopInstanceUid: string): Promise<Buffer> {
  const [hit] = (await pacs.rest<{ ID: string }[]>('/tools/lookup', { method: 'POST', body: sopInstanceUid })) as { ID: string }[];
  return Buffer.from(await (await fetch(`${pacs.httpUrl}/instances/${hit!.ID}/file`)).arrayBuffer());
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dicomweb-dimse-'));
  pacs = await startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: await reservedPort() } } });
  study = await synthesizeStudy({ modality: 'CT', instances: 8, seriesCount: 2, outDir: join(dir, 'ct'), rows: 64, columns: 64, charset: 'ISO_IR 100', patient: { name: 'NUÑEZ^Hélène', id: 'DIMSE-1' }, seed: 31 });
  big = await synthesizeStudy({ modality: 'CT', instances: 80, outDir: join(dir, 'big'), rows: 256, columns: 256, patient: { id: 'DIMSE-2' }, seed: 32 });
  for (const f of [...study.files, ...big.files]) await pacs.upload(readFileSync(f));
  const config = configSchema.parse({ pacs: { aeTitle: pacs.aeTitle, host: '127.0.0.1', port: pacs.dicomPort, retrieve: 'C-GET', maxAssociations: 1 } });
  const real = createPacsBridge(config.pacs, { aeTitle: 'DRIMBOX' }, config.dimse);
  const spy: PacsBridge = {
    ...real,
    find: (q, s) => real.find(q, s),
    async retrieve(target: RetrieveTarget, options: RetrieveOptions) {
      const record: (typeof retrievals)[number] = { target, signal: options.signal, handedOn: [] };
      retrievals.push(record);
      const onInstance = options.onInstance;
      try {
        const r = await real.retrieve(target, {
          ...options,
          ...(onInstance
            ? {
                onInstance: (i) => {
                  record.handedOn.push(i.held ? 'memory' : 'disk');
                  return onInstance(i);
                },
              }
            : {}),
        });
        record.outcome = 'done';
        return r;
      } catch (err) {
        record.outcome = (err as { kind?: string }).kind ?? 'error';
        throw err;
      }
    },
  };
  box = await startBox((t) => {
    tempDir = t;
    return createDimseUpstream({ bridge: spy, tempDir: t });
  });
  smallBudgetBox = await startBox((t) => {
    smallBudgetTempDir = t;
    return createDimseUpstream({ bridge: spy, tempDir: t, memoryPerRetrievalBytes: 400_000 });
  });
});

afterAll(async () => {
  await smallBudgetBox?.stop();
  await box?.stop();
  await pacs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('DICOMweb over DIMSE (C-FIND, C-GET) against Orthanc', () => {
  it('QIDO: same UIDs as the PACS, names decoded from ISO_IR 100 to UTF-8', async () => {
    for (const [path, tag] of [
      ['/studies?PatientID=DIMSE-1', '0020000D'],
      [`/studies/${study.studyInstanceUid}/series`, '0020000E'],
      [`/studies/${study.studyInstanceUid}/series/${study.series[0]!.seriesInstanceUid}/instances`, '00080018'],
    ] as const) {
      const rows = (await (await fetch(box.baseUrl + path, { headers: AUTH })).json()) as Record<string, { Value?: unknown[] }>[];
      const theirs = (await (await fetch(pacs.dicomwebUrl + path)).json()) as Record<string, { Value?: unknown[] }>[];
      const uids = (r: typeof rows) => r.map((x) => x[tag]!.Value![0]).sort();
      expect(rows.length).toBeGreaterThan(0);
      expect(uids(rows)).toEqual(uids(theirs));
      if (tag === '0020000D') {
        expect(rows[0]!['00100010']!.Value).toEqual([{ Alphabetic: 'NUÑEZ^Hélène' }]);
        expect(rows[0]!['00081190']!.Value).toEqual([`${box.baseUrl}/studies/${study.studyInstanceUid}`]);
      }
    }
  });

  it('WADO: an instance with the content the PACS stores, and a whole study, one part per instance', async () => {
    const se = study.series[1]!;
    const sop = se.instances[0]!.sopInstanceUid;
    const [one] = await parts(await fetch(`${box.baseUrl}/studies/${study.studyInstanceUid}/series/${se.seriesInstanceUid}/instances/${sop}`, { headers: AUTH }));
    expect(await content(one!.body)).toBe(await content(await orthancFile(sop)));

    const all = await parts(await fetch(`${box.baseUrl}/studies/${study.studyInstanceUid}`, { headers: AUTH }));
    expect(all).toHaveLength(8);
    const ours = await Promise.all(all.map(async (p) => content(p.body)));
    const theirs = await Promise.all(study.series.flatMap((s) => s.instances).map(async (i) => content(await orthancFile(i.sopInstanceUid))));
    expect(ours.sort()).toEqual(theirs.sort());
    expect(readdirSync(tempDir)).toEqual([]);
  });

  it('WADO: instances go from the association to the client in memory within the budget, on disk past it (slow client), same content', async () => {
    const res = await fetch(`${smallBudgetBox.baseUrl}/studies/${big.studyInstanceUid}`, { headers: AUTH });
    const reader = res.body!.getReader();
    const chunks: Buffer[] = [];
    let first = true;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value));
      // A client that stalls once, long enough for the PACS to send more than the budget holds.
      if (first) await new Promise((r) => setTimeout(r, 1500));
      first = false;
    }
    const record = retrievals.findLast((r) => r.target.studyInstanceUid === big.studyInstanceUid)!;
    expect(record.handedOn).toHaveLength(80);
    expect(record.handedOn).toContain('memory');
    expect(record.handedOn).toContain('disk');
    const body = Buffer.concat(chunks);
    const served = await parts(new Response(body, { headers: { 'content-type': res.headers.get('content-type')! } }));
    expect(served).toHaveLength(80);
    const ours = await Promise.all(served.map(async (p) => content(p.body)));
    const theirs = await Promise.all(big.series.flatMap((s) => s.instances).map(async (i) => content(await orthancFile(i.sopInstanceUid))));
    expect(ours.sort()).toEqual(theirs.sort());
    await expect.poll(() => readdirSync(smallBudgetTempDir).length, { timeout: 5000 }).toBe(0);
  });

  it('metadata built from the retrieved headers, BulkDataURIs on the box, frames cut from the files', async () => {
    const se = study.series[0]!;
    const items = (await (await fetch(`${box.baseUrl}/studies/${study.studyInstanceUid}/series/${se.seriesInstanceUid}/metadata`, { headers: AUTH })).json()) as Record<string, { Value?: unknown[]; BulkDataURI?: string }>[];
    expect(items).toHaveLength(se.instances.length);
    expect(items[0]!['00100010']!.Value).toEqual([{ Alphabetic: 'NUÑEZ^Hélène' }]);
    expect(items[0]!['00080005']!.Value).toEqual(['ISO_IR 192']);
    const sop = items[0]!['00080018']!.Value![0] as string;
    expect(items[0]!['7FE00010']!.BulkDataURI).toBe(`${box.baseUrl}/studies/${study.studyInstanceUid}/series/${se.seriesInstanceUid}/instances/${sop}/bulk/7FE00010`);
    const file = await orthancFile(sop);
    const layout = await layoutOf(file);
    const pixels = file.subarray(layout.pixelData!.valueOffset, layout.pixelData!.valueOffset + layout.pixelData!.length!);
    const [frame] = await parts(await fetch(`${box.baseUrl}/studies/${study.studyInstanceUid}/series/${se.seriesInstanceUid}/instances/${sop}/frames/1`, { headers: AUTH }));
    expect(frame!.body.equals(pixels)).toBe(true);
    const again = retrievals.length;
    await (await fetch(`${box.baseUrl}/studies/${study.studyInstanceUid}/series/${se.seriesInstanceUid}/metadata`, { headers: AUTH })).arrayBuffer();
    expect(retrievals.length).toBe(again); // from the SQLite cache
  });

  it('a client leaving mid-study cancels the C-GET and frees the association for the next request', async () => {
    const client = new AbortController();
    const res = await fetch(`${box.baseUrl}/studies/${big.studyInstanceUid}`, { headers: AUTH, signal: client.signal });
    const reader = res.body!.getReader();
    let received = 0;
    while (received < 400_000) received += (await reader.read()).value!.byteLength;
    client.abort();
    const record = retrievals.findLast((r) => r.target.studyInstanceUid === big.studyInstanceUid)!;
    await expect.poll(() => record.signal?.aborted, { timeout: 5000 }).toBe(true);
    await expect.poll(() => record.outcome, { timeout: 15_000 }).toBe('cancelled');
    await expect.poll(() => readdirSync(tempDir).length, { timeout: 5000 }).toBe(0);
    // One association slot: this C-FIND only runs if the cancelled C-GET gave its association back.
    const after = await fetch(`${box.baseUrl}/studies?PatientID=DIMSE-2`, { headers: AUTH });
    expect(after.status).toBe(200);
    expect(await after.json()).toHaveLength(1);
    expect(box.service.stats().activeRetrievals).toBe(0);
  });

  it("Orthanc's DICOMweb plugin retrieves a study through the DIMSE-backed box", async () => {
    const consumer = await startOrthanc({ aeTitle: 'CONSUMER', dicomwebServers: { drimbox: { Url: `${box.baseUrl}/`, HttpHeaders: AUTH } } });
    try {
      await consumer.rest('/dicom-web/servers/drimbox/retrieve', { method: 'POST', body: JSON.stringify({ Resources: [{ Study: study.studyInstanceUid }] }) });
      const ids = await consumer.rest<string[]>('/instances');
      expect(ids).toHaveLength(8);
      const theirs = await Promise.all(ids.map(async (id) => content(Buffer.from(await (await fetch(`${consumer.httpUrl}/instances/${id}/file`)).arrayBuffer()))));
      const ours = await Promise.all(study.series.flatMap((s) => s.instances).map(async (i) => content(await orthancFile(i.sopInstanceUid))));
      expect(theirs.sort()).toEqual(ours.sort());
    } finally {
      await consumer.stop();
    }
  });
});
