import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeStudy, type SynthResult } from '../../appliance/src/dicom/synth/index.js';
import { createDicomwebUpstream } from '../../appliance/src/dicomweb/index.js';
import { boundaryOf, readMultipart } from '../../appliance/src/dicomweb/multipart-reader.js';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { CuttingProxy } from './consumer-bed.js';
import { startBox, TEST_TOKEN, type TestBox } from './dicomweb-box.js';

/**
 * WADO-RS relayed as stored over the bare HTTP/1.1 connection to the PACS (the path a caller taking any transfer
 * syntax gets): against a real Orthanc, the same bytes as the path that handles instances one by one, the coverage
 * applied, the PACS connection released when the client leaves.
 */

const AUTH = { authorization: `Bearer ${TEST_TOKEN}` };
const ANY = 'multipart/related; type="application/dicom"; transfer-syntax=*';
const EXPLICIT_LE = 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let dir: string;
let pacs: OrthancPeer;
let box: TestBox;
let covered: TestBox;
let study: SynthResult;
let big: SynthResult;

async function parts(res: Response): Promise<{ contentType: string; sha: string }[]> {
  const boundary = boundaryOf(res.headers.get('content-type'));
  if (!boundary) throw new Error(`not multipart: ${res.status} ${await res.text()}`);
  const out: { contentType: string; sha: string }[] = [];
  for await (const part of readMultipart(res.body as unknown as AsyncIterable<Uint8Array>, boundary)) {
    const chunks: Buffer[] = [];
    for await (const c of part.body) chunks.push(c);
    out.push({ contentType: part.headers.get('content-type') ?? '', sha: sha(Buffer.concat(chunks)) });
  }
  return out;
}

async function orthancShas(): Promise<string[]> {
  const ids = await pacs.rest<string[]>(`/studies/${(await pacs.rest<{ ID: string }[]>('/tools/lookup', { method: 'POST', body: study.studyInstanceUid }))[0]!.ID}/instances`).then((r) => (r as unknown as { ID: string }[]).map((i) => i.ID));
  return Promise.all(ids.map(async (id) => sha(Buffer.from(await (await fetch(`${pacs.httpUrl}/instances/${id}/file`)).arrayBuffer()))));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dicomweb-relay-'));
  pacs = await startOrthanc();
  study = await synthesizeStudy({ modality: 'CT', instances: 6, seriesCount: 2, outDir: join(dir, 'ct'), rows: 64, columns: 64, patient: { id: 'RELAY-1' }, seed: 31 });
  big = await synthesizeStudy({ modality: 'CT', instances: 40, outDir: join(dir, 'big'), rows: 256, columns: 256, patient: { id: 'RELAY-2' }, seed: 32 });
  for (const f of [...study.files, ...big.files]) await pacs.upload(readFileSync(f));
  // No fetch given: the PACS is read over the bare HTTP/1.1 connection.
  box = await startBox(() => createDicomwebUpstream({ baseUrl: pacs.dicomwebUrl }));
  const [first, second] = study.series;
  const coverage = new Map([
    [first!.seriesInstanceUid, new Set([first!.instances[0]!.sopInstanceUid])],
    [second!.seriesInstanceUid, new Set(second!.instances.slice(0, 2).map((i) => i.sopInstanceUid))],
  ]);
  covered = await startBox(() => createDicomwebUpstream({ baseUrl: pacs.dicomwebUrl }), { authorize: async () => ({ outcome: 'allow', subjectNameId: 'ANS-TEST-0002', coverage }) });
});

afterAll(async () => {
  await box?.stop();
  await covered?.stop();
  await pacs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('WADO-RS relayed as stored (PACS DICOMweb over HTTP/1.1)', () => {
  it('sends the PACS files byte for byte, as the instance-by-instance path does, with the transfer syntax of each', async () => {
    const url = `${box.baseUrl}/studies/${study.studyInstanceUid}`;
    const before = box.service.stats();
    const relayed = await fetch(url, { headers: { ...AUTH, accept: ANY } });
    expect(relayed.headers.get('content-type')).toMatch(/transfer-syntax=1\.2\.840\.10008\.1\.2\.1/);
    const viaRelay = await parts(relayed);
    expect(box.service.stats().relayedRetrievals).toBe(before.relayedRetrievals + 1);
    const oneByOne = await parts(await fetch(url, { headers: { ...AUTH, accept: EXPLICIT_LE } }));
    expect(box.service.stats()).toMatchObject({ relayedRetrievals: before.relayedRetrievals + 1, completedRetrievals: before.completedRetrievals + 2 });
    expect(viaRelay.map((p) => p.sha).sort()).toEqual((await orthancShas()).sort());
    expect(viaRelay.map((p) => p.sha).sort()).toEqual(oneByOne.map((p) => p.sha).sort());
    expect(new Set(viaRelay.map((p) => p.contentType))).toEqual(new Set(['application/dicom; transfer-syntax=1.2.840.10008.1.2.1']));
    await expect.poll(() => box.audit.list({ limit: 1 })[0]).toMatchObject({ outcome: 'complete', instances: 6 });
  });

  it('narrows a study to the coverage of the granting KOS, series by series', async () => {
    const got = await parts(await fetch(`${covered.baseUrl}/studies/${study.studyInstanceUid}`, { headers: { ...AUTH, accept: ANY } }));
    // One PACS request per covered series, each relayed.
    expect(covered.service.stats()).toMatchObject({ relayedRetrievals: 2, completedRetrievals: 2 });
    const allowed = [study.series[0]!.instances[0]!, ...study.series[1]!.instances.slice(0, 2)].map((i) => i.sopInstanceUid);
    const expected = await Promise.all(
      allowed.map(async (sop) => {
        const [found] = await pacs.rest<{ ID: string }[]>('/tools/lookup', { method: 'POST', body: sop });
        return sha(Buffer.from(await (await fetch(`${pacs.httpUrl}/instances/${found!.ID}/file`)).arrayBuffer()));
      }),
    );
    expect(got.map((p) => p.sha).sort()).toEqual(expected.sort());
    await expect.poll(() => covered.audit.list({ limit: 1 })[0]).toMatchObject({ outcome: 'complete', instances: 3 });
    const outside = study.series[0]!.instances[1]!;
    const refused = await fetch(`${covered.baseUrl}/studies/${study.studyInstanceUid}/series/${study.series[0]!.seriesInstanceUid}/instances/${outside.sopInstanceUid}`, { headers: { ...AUTH, accept: ANY } });
    expect(refused.status).toBe(404);
  });

  it('gzips the relayed study for a caller the policy compresses for: the same files once decoded, fewer bytes sent', async () => {
    const zipped = await startBox(() => createDicomwebUpstream({ baseUrl: pacs.dicomwebUrl }), { compressImages: 'always' });
    try {
      const url = `${zipped.baseUrl}/studies/${study.studyInstanceUid}`;
      const res = await fetch(url, { headers: { ...AUTH, accept: ANY, 'accept-encoding': 'gzip' } });
      expect(res.headers.get('content-encoding')).toBe('gzip');
      // fetch decodes the content coding: what the parts hold is the PACS's files.
      expect((await parts(res)).map((p) => p.sha).sort()).toEqual((await orthancShas()).sort());
      expect(zipped.service.stats().relayedRetrievals).toBe(1);
      await expect.poll(() => zipped.audit.list({ limit: 1 })[0]).toMatchObject({ outcome: 'complete', instances: 6 });
      const sent = zipped.audit.list({ limit: 1 })[0]!.bytesSent;
      const plain = box.audit.list({ limit: 10 }).find((e) => e.outcome === 'complete' && e.instances === 6)!.bytesSent;
      expect(sent).toBeLessThan(plain);
    } finally {
      await zipped.stop();
    }
  });

  it('releases the PACS retrieval when the client leaves mid-study, and serves the next request', async () => {
    // The PACS behind a link that passes a chunk every 20 ms: the study takes seconds to come, so the client leaves in
    // its middle. Straight from Orthanc, the box could relay the whole 5 MB into the loopback socket buffers before
    // the client's abort, and the retrieval was then complete, not abandoned (CI saw it once).
    const link = new CuttingProxy(pacs.httpPort);
    link.delayMs = 20;
    await link.start();
    const slow = await startBox(() => createDicomwebUpstream({ baseUrl: `http://127.0.0.1:${link.port}/dicom-web` }));
    try {
      const client = new AbortController();
      const res = await fetch(`${slow.baseUrl}/studies/${big.studyInstanceUid}`, { headers: { ...AUTH, accept: ANY }, signal: client.signal });
      const reader = res.body!.getReader();
      let received = 0;
      while (received < 300_000) received += (await reader.read()).value!.byteLength;
      client.abort();
      await expect.poll(() => slow.service.stats().abandonedRetrievals, { timeout: 5000 }).toBe(1);
      expect(slow.service.stats().activeRetrievals).toBe(0);
      await expect.poll(() => slow.audit.list({ limit: 1 })[0]?.outcome, { timeout: 5000 }).toBe('interrupted');
      expect(await parts(await fetch(`${slow.baseUrl}/studies/${study.studyInstanceUid}`, { headers: { ...AUTH, accept: ANY } }))).toHaveLength(6);
    } finally {
      await slow.stop();
      await link.stop();
    }
  });
});
