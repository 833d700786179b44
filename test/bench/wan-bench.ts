/**
 * The consumer hundreds of km from the source box: the KOS names the source through a relay on loopback that plays a
 * WAN link (wan-relay.ts: 50 Mbit/s each way, 20 ms one way). A professional opens the exam in the portal; we time
 *   - the first image: until the slice the viewer opens on (the middle of the first series, in the viewer's own
 *     order, ui/viewer/study-model.ts) is in the cache, then the viewer's requests to the portal for it (series
 *     search, series metadata, that frame);
 *   - the thumbnails: until the middle slice of every series is in the cache;
 *   - the whole study, against the floor of its raw bytes at link rate;
 * and count the bytes the link carried against the raw Part-10 bytes (and what gzip would make of them).
 * `--series=N`: the study in N series (default 2; an MR has ten or more, each a thumbnail to fetch first).
 * `--tls`: the source box serves HTTPS on the box's own listener, as its public port does (default: plain HTTP).
 * By default the study is a 1,300-image CT (684 MB), and the source box reaches its PACS over DIMSE alone (C-FIND,
 * C-GET), as over most small practices' PACS: where the first image is slowest to come. `--dicomweb`: over the
 * PACS's DICOMweb instead (the box has then built the exam's series metadata when it published the manifest).
 *   npx tsx test/bench/wan-bench.ts [instances] [rows] [Mbit/s] [one-way ms] [--no-gzip] [--series=N] [--tls] [--dicomweb]
 */
import { readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { JobProgress } from '../../appliance/src/consumer/index.js';
import { consumerConfigSchema } from '../../appliance/src/consumer/config-schema.js';
import { readFile as readDicomFile } from '../../appliance/src/dicom/dataset/dcmjs.js';
import { initialIndex, seriesSummaries, stackFrames } from '../../ui/viewer/study-model.js';
import type { DicomJsonDataset } from '../../ui/viewer/dicom-json.js';
import { bernardContextCall } from '../fixtures/patients.js';
import { HttpBrowser, startConsumerBed } from '../integration/consumer-bed.js';
import { loginWithPassword } from '../peers/psc-sim/login-driver.js';
import { printGoal } from './goal.js';
import { startWanRelay, type WanRelay } from './wan-relay.js';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const INSTANCES = Number(positional[0] ?? 1300);
const ROWS = Number(positional[1] ?? 512);
const MBITS = Number(positional[2] ?? 50);
const DELAY_MS = Number(positional[3] ?? 20);
const SERIES = Number(process.argv.find((a) => a.startsWith('--series='))?.slice('--series='.length) ?? 2);
/** `--no-gzip`: the source box sends identity, for comparison. */
const GZIP = !process.argv.includes('--no-gzip');
const TLS = process.argv.includes('--tls');
const DIMSE = !process.argv.includes('--dicomweb');
const t = () => performance.now();

console.log(`setting up: ${INSTANCES} instances of ${ROWS}×${ROWS} behind a ${MBITS} Mbit/s, ${DELAY_MS} ms one-way link, ${TLS ? 'HTTPS' : 'plain HTTP'}…`);
let relay: WanRelay | undefined;
const bed = await startConsumerBed({
  examSizes: [INSTANCES],
  seriesCount: SERIES,
  rows: ROWS,
  // As the box ships (the test beds' default is 2 requests at once).
  settings: { cacheMaxBytes: 8 * 1024 ** 3, sourceConcurrency: consumerConfigSchema.parse({}).sourceConcurrency },
  sourceLink: async (port) => (relay = await startWanRelay(port, { bitsPerSecond: MBITS * 1e6, delayMs: DELAY_MS })),
  // The box's default (`wan`) gzips for callers outside the private networks; on loopback that takes `always`.
  sourceCompressImages: GZIP ? 'always' : 'never',
  sourceTls: TLS,
  sourceUpstream: DIMSE ? 'dimse' : 'dicomweb',
});
try {
  const exam = bed.exams[0]!;
  const study = exam.study.studyInstanceUid;
  const rawBytes = exam.study.files.reduce((n, f) => n + statSync(f).size, 0);
  // gzip -1 of a sample of the files: what a gzip content-coding of WADO-RS would carry.
  const sample = exam.study.files.filter((_, i) => i % Math.max(1, Math.floor(exam.study.files.length / 10)) === 0);
  const sampleRaw = sample.reduce((n, f) => n + statSync(f).size, 0);
  const sampleGz = sample.reduce((n, f) => n + gzipSync(readFileSync(f), { level: 1 }).length, 0);

  // The slice the viewer opens on, and each series' thumbnail slice, in the viewer's order, from the study's own files:
  // asking the source box would build its series metadata before the click, and the first professional to open an
  // exam finds it not built.
  const datasets = new Map<string, DicomJsonDataset[]>();
  for (const file of exam.study.files) {
    const bytes = readFileSync(file);
    const ds = readDicomFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), { untilTag: '7FE00010' }).dict as DicomJsonDataset;
    const series = ds['0020000E']?.Value?.[0];
    if (typeof series !== 'string') continue;
    const list = datasets.get(series) ?? [];
    list.push(ds);
    datasets.set(series, list);
  }
  const allSeries = seriesSummaries([...datasets.values()].map((instances) => instances[0]!));
  const middles: { series: string; sop: string }[] = [];
  for (const s of allSeries) {
    const frames = stackFrames(datasets.get(s.seriesInstanceUid)!);
    middles.push({ series: s.seriesInstanceUid, sop: frames[initialIndex(frames.length)]!.sopInstanceUid });
  }
  const first = middles[0]!;

  const browser = new HttpBrowser(bed.portal);
  const posted = await browser.post('/portal/contexte', bernardContextCall());
  const toPsc = await browser.go(posted.headers.get('location')!);
  const { callbackUrl } = await loginWithPassword(new URL(toPsc.headers.get('location')!), { user: 'claire.martin', password: 'psc-sim-2026' });
  const patientUrl = (await browser.go(callbackUrl)).headers.get('location')!;
  await (await browser.go(patientUrl)).text();

  // The viewer's requests for its first image, to the portal (the cache), made as soon as that slice is cached
  // (while the rest streams in): series search, series metadata, the frame.
  const local = `/portal/dicom-web/studies/${study}`;
  let frameBytes = 0;
  const viewerRequests = async (): Promise<number> => {
    const start = t();
    const series = await browser.json<DicomJsonDataset[]>(`${local}/series`);
    await browser.json<DicomJsonDataset[]>(`${local}/series/${first.series}/metadata`);
    const frame = await browser.go(`${local}/series/${first.series}/instances/${first.sop}/frames/1`, { headers: { accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' } });
    frameBytes = (await frame.arrayBuffer()).byteLength;
    if (frame.status !== 200 || series.length === 0) throw new Error(`viewer requests failed: frame HTTP ${frame.status}`);
    return t() - start;
  };
  let viewer: Promise<number> | undefined;
  const cached = (sop: string, series: string) => bed.consumer.cache.cachedSops(study).get(series)?.has(sop) ?? false;
  const downBefore = relay!.downBytes();
  const clicked = t();
  const opened = await browser.post(`${patientUrl}/ouvrir`, { document: exam.documentUniqueId });
  const jobId = opened.headers.get('location')!.split('/').pop()!;
  let firstCachedMs = 0;
  let thumbsMs = 0;
  let p: JobProgress;
  for (;;) {
    if (!firstCachedMs && cached(first.sop, first.series)) {
      firstCachedMs = t() - clicked;
      viewer = viewerRequests();
    }
    if (!thumbsMs && middles.every((m) => cached(m.sop, m.series))) thumbsMs = t() - clicked;
    p = await browser.json<JobProgress>(`/portal/api/jobs/${jobId}`);
    if (p.state !== 'running' && p.state !== 'waiting') break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const wholeMs = t() - clicked;
  if (p.state !== 'done') throw new Error(`retrieve ended ${p.state}: ${p.message}`);
  const wire = relay!.downBytes() - downBefore;
  const viewerMs = await viewer!;

  const floorMs = (rawBytes * 8 * 1000) / (MBITS * 1e6);
  const firstImageMs = firstCachedMs + viewerMs;
  console.log(`\nWAN bench — ${INSTANCES} instances of ${ROWS}×${ROWS} in ${allSeries.length} series, ${(rawBytes / 1e6).toFixed(1)} MB raw, link ${MBITS} Mbit/s each way, ${DELAY_MS} ms one way, ${TLS ? 'HTTPS' : 'plain HTTP'}, source box over its PACS's ${DIMSE ? 'DIMSE' : 'DICOMweb'}`);
  console.log(`  click → viewer's first slice in the cache                ${firstCachedMs.toFixed(0)} ms`);
  console.log(`  viewer's requests for it (series, metadata, frame of ${(frameBytes / 1024).toFixed(0)} KiB)  ${viewerMs.toFixed(0)} ms`);
  console.log(`  first image (sum)                                      ${firstImageMs.toFixed(0)} ms`);
  console.log(`  click → every series' thumbnail slice in the cache     ${thumbsMs.toFixed(0)} ms`);
  console.log(`  click → whole study in the cache                       ${(wholeMs / 1000).toFixed(2)} s   (raw bytes at link rate: ${(floorMs / 1000).toFixed(2)} s, ${(wholeMs / floorMs).toFixed(2)}×)`);
  console.log(`  bytes on the link towards the consumer                 ${(wire / 1e6).toFixed(1)} MB = ${(wire / rawBytes).toFixed(3)}× the raw Part-10 bytes`);
  console.log(`  gzip -1 of a sample of the files                       ${(sampleGz / sampleRaw).toFixed(3)}× (the source box ${GZIP ? 'gzips' : 'was told not to gzip'} its WADO-RS answers)`);
  printGoal('wan-first-image', firstImageMs / 1000, 1, ' s', false);
  printGoal('wan-whole-study', wholeMs / floorMs, 1.2, '×', false);
} finally {
  await bed.stop();
}
