import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../appliance/src/config/schema.js';
import { createDicomwebUpstream, createDimseUpstream } from '../../appliance/src/dicomweb/index.js';
import { boundaryOf, readMultipart } from '../../appliance/src/dicomweb/multipart-reader.js';
import { createPacsBridge, startStoreScp, type StoreScp } from '../../appliance/src/dimse/index.js';
import { buildRealWorldStudy, REAL_WORLD_SERIES, type RealWorldStudy } from '../fixtures/real-world.js';
import { reservedPort } from '../peers/ports.js';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { startBox, TEST_TOKEN, type TestBox } from './dicomweb-box.js';

// Frames of instances a PACS's own DICOMweb cannot cut (Orthanc answers 500 for big endian and deflate, 400 for
// uncompressed YBR_FULL_422): the box cuts them itself from the instance, as it does over DIMSE, the PACS
// transcoding big endian and deflate to Explicit VR Little Endian first. Both upstreams must give the same bytes.

const AUTH = { authorization: `Bearer ${TEST_TOKEN}` };
const ACCEPT = { accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' };
const CASES = ['MR_small_bigendian.dcm', 'image_dfl.dcm', 'SC_ybr_full_422_uncompressed.dcm', 'CT_small.dcm'];
/** The same MR picture stored JPEG-LS and JPEG 2000 lossless, and uncompressed (the reference pixels). */
const COMPRESSED = ['MR_small_jpeg_ls_lossless.dcm', 'MR_small_jp2klossless.dcm', 'MR_small_implicit.dcm'];

let dir: string;
let pacs: OrthancPeer;
let study: RealWorldStudy;
let overDicomweb: TestBox;
let overDimse: TestBox;
let overMove: TestBox;
let moveScp: StoreScp;

async function frame(box: TestBox, series: string, sop: string, accept = ACCEPT.accept): Promise<{ status: number; bytes?: Buffer; contentType?: string }> {
  const res = await fetch(`${box.baseUrl}/studies/${study.studyInstanceUid}/series/${series}/instances/${sop}/frames/1`, { headers: { ...AUTH, accept } });
  const boundary = boundaryOf(res.headers.get('content-type'));
  if (res.status !== 200 || !boundary) return { status: res.status };
  for await (const part of readMultipart(res.body as unknown as AsyncIterable<Uint8Array>, boundary)) {
    const chunks: Buffer[] = [];
    for await (const c of part.body) chunks.push(c);
    return { status: 200, bytes: Buffer.concat(chunks), contentType: part.headers.get('content-type') ?? '' };
  }
  return { status: 502 };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'frames-fallback-'));
  study = buildRealWorldStudy(join(dir, 'study'));
  const scpPort = await reservedPort();
  pacs = await startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: scpPort } } });
  for (const name of [...CASES, ...COMPRESSED]) await pacs.upload(readFileSync(study.files[REAL_WORLD_SERIES.findIndex((s) => s.file === name)]!));
  overDicomweb = await startBox(() => createDicomwebUpstream({ baseUrl: pacs.dicomwebUrl }));
  const config = configSchema.parse({ pacs: { aeTitle: pacs.aeTitle, host: '127.0.0.1', port: pacs.dicomPort, retrieve: 'C-GET' } });
  const bridge = createPacsBridge(config.pacs, { aeTitle: 'DRIMBOX' }, config.dimse);
  overDimse = await startBox((tempDir) => createDimseUpstream({ bridge, tempDir, decompress: true }));
  // A PACS reached by C-MOVE (to the box's own SCP): it cannot be asked for a transfer syntax, the box decompresses.
  moveScp = await startStoreScp({ aeTitle: 'DRIMBOX', host: '127.0.0.1', port: scpPort, allowedCallingAeTitles: [pacs.aeTitle], storageDir: join(dir, 'scp') });
  const moveConfig = configSchema.parse({ pacs: { aeTitle: pacs.aeTitle, host: '127.0.0.1', port: pacs.dicomPort, retrieve: 'C-MOVE' } });
  const moveBridge = createPacsBridge(moveConfig.pacs, { aeTitle: 'DRIMBOX', scp: moveScp }, moveConfig.dimse);
  overMove = await startBox((tempDir) => createDimseUpstream({ bridge: moveBridge, tempDir }));
}, 120_000);

afterAll(async () => {
  await overDicomweb?.stop();
  await overDimse?.stop();
  await overMove?.stop();
  await moveScp?.close();
  await pacs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('frames the PACS cannot cut are cut by the box', () => {
  it.each(CASES)('%s: the same frame over DICOMweb and over DIMSE', async (name) => {
    const index = REAL_WORLD_SERIES.findIndex((s) => s.file === name);
    const [seriesId] = await pacs.rest<string[]>('/tools/find', { method: 'POST', body: JSON.stringify({ Level: 'Series', Query: { SeriesNumber: String(index + 1) } }) });
    const info = await pacs.rest<{ MainDicomTags: { SeriesInstanceUID: string }; Instances: string[] }>(`/series/${seriesId}`);
    const instance = await pacs.rest<{ MainDicomTags: { SOPInstanceUID: string } }>(`/instances/${info.Instances[0]}`);
    const seriesUid = info.MainDicomTags.SeriesInstanceUID;
    const sop = instance.MainDicomTags.SOPInstanceUID;
    const direct = await fetch(`${pacs.dicomwebUrl}/studies/${study.studyInstanceUid}/series/${seriesUid}/instances/${sop}/frames/1`, { headers: ACCEPT });
    if (name !== 'CT_small.dcm') expect(direct.status, `Orthanc cuts ${name} itself`).toBeGreaterThanOrEqual(400); // the case this fallback is for
    await direct.arrayBuffer();

    const viaWeb = await frame(overDicomweb, seriesUid, sop);
    const viaDimse = await frame(overDimse, seriesUid, sop);
    expect(viaWeb.status, name).toBe(200);
    expect(viaDimse.status, name).toBe(200);
    expect(viaWeb.contentType).toMatch(/transfer-syntax=1\.2\.840\.10008\.1\.2\.1\b/);
    expect(viaWeb.bytes!.equals(viaDimse.bytes!), `${name}: same pixels both ways`).toBe(true);
    const tags = await pacs.rest<Record<string, string>>(`/instances/${info.Instances[0]}/tags?short`);
    const [rows, columns, bits] = ['0028,0010', '0028,0011', '0028,0100'].map((t) => Number(tags[t]));
    const samples = tags['0028,0004'] === 'YBR_FULL_422' ? 2 : Number(tags['0028,0002']);
    expect(viaWeb.bytes!.length).toBe((rows! * columns! * samples * bits!) / 8);
  });
});

describe('the ANS test platform asks for frames with its instance Accept list', () => {
  it('gets the frames the homologation expects, the same bytes, over both upstreams', async () => {
    // The Accept line of the ANS WADO-RS validator's request (test/fixtures/reference/spec/wado-rs/).
    const ans = readFileSync(join(import.meta.dirname, '../fixtures/reference/spec/wado-rs/ans-request-series.http.txt'), 'latin1')
      .split(/\r?\n/)
      .find((l) => l.startsWith('Accept:'))!
      .slice(7);
    const index = REAL_WORLD_SERIES.findIndex((s) => s.file === 'CT_small.dcm');
    const [seriesId] = await pacs.rest<string[]>('/tools/find', { method: 'POST', body: JSON.stringify({ Level: 'Series', Query: { SeriesNumber: String(index + 1) } }) });
    const info = await pacs.rest<{ MainDicomTags: { SeriesInstanceUID: string }; Instances: string[] }>(`/series/${seriesId}`);
    const sop = (await pacs.rest<{ MainDicomTags: { SOPInstanceUID: string } }>(`/instances/${info.Instances[0]}`)).MainDicomTags.SOPInstanceUID;
    for (const box of [overDicomweb, overDimse]) {
      const standard = await frame(box, info.MainDicomTags.SeriesInstanceUID, sop);
      const asAns = await frame(box, info.MainDicomTags.SeriesInstanceUID, sop, ans);
      expect(asAns.status).toBe(200);
      expect(asAns.contentType).toMatch(/^application\/octet-stream; transfer-syntax=1\.2\.840\.10008\.1\.2\.1$/);
      expect(asAns.bytes!.equals(standard.bytes!)).toBe(true);
    }
    // Still refused: a frames request that names nothing the box can send.
    expect((await frame(overDimse, info.MainDicomTags.SeriesInstanceUID, sop, 'image/png')).status).toBe(406);
  });
});

/** SOP and series of the fixture `name` in Orthanc. */
async function located(name: string): Promise<{ series: string; sop: string }> {
  const index = REAL_WORLD_SERIES.findIndex((s) => s.file === name);
  const [seriesId] = await pacs.rest<string[]>('/tools/find', { method: 'POST', body: JSON.stringify({ Level: 'Series', Query: { SeriesNumber: String(index + 1) } }) });
  const info = await pacs.rest<{ MainDicomTags: { SeriesInstanceUID: string }; Instances: string[] }>(`/series/${seriesId}`);
  const sop = (await pacs.rest<{ MainDicomTags: { SOPInstanceUID: string } }>(`/instances/${info.Instances[0]}`)).MainDicomTags.SOPInstanceUID;
  return { series: info.MainDicomTags.SeriesInstanceUID, sop };
}

describe('decompression on request over DIMSE (the PACS converts when asked by C-GET, else the box)', () => {
  it('a client asking for the default Explicit VR LE gets compressed frames and instances decompressed, pixels identical', async () => {
    const reference = await located('MR_small_implicit.dcm');
    const pixels = await frame(overDimse, reference.series, reference.sop, 'multipart/related; type="application/octet-stream"');
    expect(pixels.status).toBe(200);
    expect(pixels.bytes!.length).toBe(64 * 64 * 2);
    for (const name of ['MR_small_jpeg_ls_lossless.dcm']) {
      const { series, sop } = await located(name);
      const asStored = await frame(overDimse, series, sop);
      expect(asStored.contentType, name).toMatch(/transfer-syntax=1\.2\.840\.10008\.1\.2\.4\.(80|90)$/); // still sent as stored when taken
      const decompressed = await frame(overDimse, series, sop, 'multipart/related; type="application/octet-stream"');
      expect(decompressed.status, name).toBe(200);
      expect(decompressed.contentType).toMatch(/transfer-syntax=1\.2\.840\.10008\.1\.2\.1$/);
      expect(decompressed.bytes!.equals(pixels.bytes!), `${name}: lossless, the same pixels`).toBe(true);
      const instance = await fetch(`${overDimse.baseUrl}/studies/${study.studyInstanceUid}/series/${series}/instances/${sop}`, { headers: { ...AUTH, accept: 'multipart/related; type="application/dicom"' } });
      expect(instance.status, name).toBe(200);
      expect(instance.headers.get('content-type')).toMatch(/transfer-syntax=1\.2\.840\.10008\.1\.2\.1;/);
      await instance.arrayBuffer();
    }
    // A PACS that cannot convert (Debian's Orthanc has no JPEG 2000 decoder): the box decompresses it itself.
    const j2k = await located('MR_small_jp2klossless.dcm');
    const byTheBox = await frame(overDimse, j2k.series, j2k.sop, 'multipart/related; type="application/octet-stream"');
    expect(byTheBox.status).toBe(200);
    expect(byTheBox.bytes!.equals(pixels.bytes!), 'JPEG 2000 lossless decompressed by the box: the same pixels').toBe(true);
    expect((await frame(overDimse, j2k.series, j2k.sop)).contentType).toMatch(/transfer-syntax=1\.2\.840\.10008\.1\.2\.4\.90$/);
  });

  it('over C-MOVE, which cannot ask the PACS to convert, the box decompresses JPEG-LS and JPEG 2000 itself, pixels identical', async () => {
    const reference = await located('MR_small_implicit.dcm');
    const pixels = await frame(overMove, reference.series, reference.sop, 'multipart/related; type="application/octet-stream"');
    expect(pixels.bytes!.length).toBe(64 * 64 * 2);
    for (const name of ['MR_small_jpeg_ls_lossless.dcm', 'MR_small_jp2klossless.dcm']) {
      const { series, sop } = await located(name);
      const decompressed = await frame(overMove, series, sop, 'multipart/related; type="application/octet-stream"');
      expect(decompressed.status, name).toBe(200);
      expect(decompressed.bytes!.equals(pixels.bytes!), `${name}: the same pixels`).toBe(true);
      const instance = await fetch(`${overMove.baseUrl}/studies/${study.studyInstanceUid}/series/${series}/instances/${sop}`, { headers: { ...AUTH, accept: 'multipart/related; type="application/dicom"' } });
      expect(instance.status, name).toBe(200);
      expect(instance.headers.get('content-type')).toMatch(/transfer-syntax=1\.2\.840\.10008\.1\.2\.1;/);
      await instance.arrayBuffer();
    }
  });
});
