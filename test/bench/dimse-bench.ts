/**
 * The PACS bridge (the project's own DICOM association layer, appliance/src/dimse) against DCMTK, side by side, on one Orthanc. Prints figures, asserts nothing.
 *   npx tsx test/bench/dimse-bench.ts [runs]
 * Loads a 2,000-instance study (small images) and the 1,300-instance CT study (512×512, the ANS homologation
 * set's shape), then times: C-FIND at IMAGE level of the 2,000 (ours vs findscu), C-GET of the 1,300 (ours vs
 * getscu, both writing files), C-STORE of the 1,300 files (ours vs storescu). Each of our runs is its own Node process, so its peak RSS is its own; a
 * baseline process (modules loaded, one C-ECHO) shows what tsx + dcmjs cost before any work.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOrthanc } from '../peers/orthanc.js';
import { runDcmtk } from '../peers/dcmtk.js';
import { freePort } from '../peers/ports.js';
import { synthesizeStudy } from '../../appliance/src/dicom/synth/index.js';
import { createPacsBridge } from '../../appliance/src/dimse/index.js';

interface Job {
  op: 'baseline' | 'find' | 'get' | 'store';
  port: number;
  studyInstanceUid: string;
  outDir?: string;
  files?: string;
}

interface Measure {
  ms: number;
  cpuMs: number;
  peakRssMb: number;
  count: number;
}

async function child(job: Job): Promise<Measure> {
  const bridge = createPacsBridge(
    { aeTitle: 'ORTHANC', host: '127.0.0.1', port: job.port, retrieve: 'C-GET', dicomwebUrl: '', maxAssociations: 4 },
    { aeTitle: 'DRIMBOX' },
    { connectTimeoutMs: 10_000, responseTimeoutMs: 60_000, maxPduLength: 262_144 },
  );
  await bridge.echo();
  const cpu = process.cpuUsage();
  const started = performance.now();
  let count = 0;
  if (job.op === 'find') {
    for await (const match of bridge.find({ level: 'IMAGE', keys: { StudyInstanceUID: job.studyInstanceUid, SOPClassUID: '', InstanceNumber: '' } })) {
      if (match['00080018']) count++;
    }
  } else if (job.op === 'get') {
    count = (await bridge.retrieve({ level: 'STUDY', studyInstanceUid: job.studyInstanceUid }, { outDir: job.outDir! })).instances;
  } else if (job.op === 'store') {
    const files = readdirSync(job.files!).map((f) => join(job.files!, f));
    count = (await bridge.store(files)).filter((o) => o.status === 'stored').length;
  }
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1000, peakRssMb: process.resourceUsage().maxRSS / 1024, count };
}

const self = fileURLToPath(import.meta.url);
const jobArg = process.argv.indexOf('--job');

function ours(job: Job): Measure {
  const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--job', JSON.stringify(job)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, DRIMBOX_LOG_LEVEL: 'warn' },
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Measure;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 3);
  const work = mkdtempSync(join(tmpdir(), 'dimse-bench-'));
  // The box must be declared in Orthanc to query and retrieve (its port is unused here: no C-MOVE).
  const orthanc = await startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: await freePort() } } });
  try {
    const storescu = async (dir: string) => {
      const r = await runDcmtk('storescu', ['-aet', 'DRIMBOX', '-aec', 'ORTHANC', '+sd', '+r', '127.0.0.1', String(orthanc.dicomPort), dir], 900_000);
      if (r.code !== 0) throw new Error(`storescu failed: ${r.stderr}`);
      return r.ms;
    };
    const t0 = performance.now();
    const many = await synthesizeStudy({ modality: 'CT', instances: 2000, seriesCount: 4, rows: 64, columns: 64, outDir: join(work, 'many'), seed: 2000 });
    await storescu(join(work, 'many'));
    rmSync(join(work, 'many'), { recursive: true, force: true });
    const ct = await synthesizeStudy({ modality: 'CT', instances: 1300, outDir: join(work, 'ct'), seed: 1300 });
    const ctFiles = join(work, 'ct', 'series-01');
    if (readdirSync(ctFiles).length !== 1300) throw new Error(`expected the 1,300 files in ${ctFiles}`);
    await storescu(ctFiles);
    console.log(`dimse bench — node ${process.version}, Orthanc ${await orthanc.rest<{ Version: string }>('/system').then((s) => s.Version)}, TCP_NODELAY=1 for DCMTK`);
    console.log(`loaded 2,000 instances (64×64) and 1,300 CT (512×512, ${(1300 * 512 * 512 * 2) / 1e6} MB of pixels) in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${runs} run(s) each, median shown\n`);

    const base = ours({ op: 'baseline', port: orthanc.dicomPort, studyInstanceUid: '' });
    const rows: string[][] = [];

    const findOurs: Measure[] = [];
    const findDcmtk: number[] = [];
    for (let i = 0; i < runs; i++) {
      findOurs.push(ours({ op: 'find', port: orthanc.dicomPort, studyInstanceUid: many.studyInstanceUid }));
      const r = await runDcmtk('findscu', ['-S', '-aet', 'DRIMBOX', '-aec', 'ORTHANC', '-k', 'QueryRetrieveLevel=IMAGE', '-k', `StudyInstanceUID=${many.studyInstanceUid}`, '-k', 'SOPInstanceUID', '-k', 'SOPClassUID', '-k', 'InstanceNumber', '127.0.0.1', String(orthanc.dicomPort)]);
      if (r.code !== 0) throw new Error(`findscu failed: ${r.stderr.slice(0, 500)}`);
      findDcmtk.push(r.ms);
    }
    if (findOurs.some((m) => m.count !== 2000)) throw new Error(`C-FIND returned ${findOurs.map((m) => m.count)} matches, expected 2000`);
    rows.push(row('C-FIND IMAGE, 2,000 matches', findOurs, findDcmtk));

    const getOurs: Measure[] = [];
    const getDcmtk: number[] = [];
    for (let i = 0; i < runs; i++) {
      const outDir = join(work, `get-ours-${i}`);
      getOurs.push(ours({ op: 'get', port: orthanc.dicomPort, studyInstanceUid: ct.studyInstanceUid, outDir }));
      rmSync(outDir, { recursive: true, force: true });
      const dcmtkDir = join(work, `get-dcmtk-${i}`);
      execFileSync('mkdir', ['-p', dcmtkDir]);
      const r = await runDcmtk('getscu', ['-S', '-aet', 'DRIMBOX', '-aec', 'ORTHANC', '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${ct.studyInstanceUid}`, '-od', dcmtkDir, '127.0.0.1', String(orthanc.dicomPort)], 600_000);
      const received = readdirSync(dcmtkDir).length;
      if (r.code !== 0 || received !== 1300) throw new Error(`getscu failed (${received} files): ${r.stderr.slice(0, 500)}`);
      getDcmtk.push(r.ms);
      rmSync(dcmtkDir, { recursive: true, force: true });
    }
    if (getOurs.some((m) => m.count !== 1300)) throw new Error(`C-GET received ${getOurs.map((m) => m.count)} instances, expected 1300`);
    rows.push(row('C-GET study, 1,300 × 512 KB', getOurs, getDcmtk));

    // Orthanc overwrites instances it already has: each run stores the whole study again.
    const storeOurs: Measure[] = [];
    const storeDcmtk: number[] = [];
    for (let i = 0; i < runs; i++) {
      storeOurs.push(ours({ op: 'store', port: orthanc.dicomPort, studyInstanceUid: ct.studyInstanceUid, files: ctFiles }));
      storeDcmtk.push(await storescu(ctFiles));
    }
    if (storeOurs.some((m) => m.count !== 1300)) throw new Error(`C-STORE stored ${storeOurs.map((m) => m.count)} instances, expected 1300`);
    rows.push(row('C-STORE 1,300 files × 512 KB', storeOurs, storeDcmtk));

    console.log('operation                     | ours ms | dcmtk ms | ours/dcmtk speed | ours CPU ms | ours peak RSS MB');
    for (const r of rows) console.log(r.join(' | '));
    console.log(`\nbaseline process (tsx + the bridge + dcmjs loaded, one C-ECHO): peak RSS ${base.peakRssMb.toFixed(0)} MB`);
    console.log('dcmtk times are whole processes (findscu, getscu -od, storescu); ours exclude Node start-up. C-GET and C-STORE write to disk: Orthanc and the page cache weigh in.');
  } finally {
    await orthanc.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function row(label: string, oursRuns: Measure[], dcmtkMs: number[]): string[] {
  const ms = median(oursRuns.map((m) => m.ms));
  const dcmtk = median(dcmtkMs);
  return [
    label.padEnd(29),
    ms.toFixed(0).padStart(7),
    dcmtk.toFixed(0).padStart(8),
    `${(dcmtk / ms).toFixed(2)}×`.padStart(16),
    median(oursRuns.map((m) => m.cpuMs)).toFixed(0).padStart(11),
    Math.max(...oursRuns.map((m) => m.peakRssMb)).toFixed(0).padStart(16),
  ];
}

if (jobArg >= 0) {
  process.stdout.write(JSON.stringify(await child(JSON.parse(process.argv[jobArg + 1]!) as Job)) + '\n');
} else {
  await main();
}
