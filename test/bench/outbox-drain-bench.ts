/**
 * Queue drain: signed ITI-41 submissions per second, from the outbox to the DMP simulator on loopback
 * (mTLS, VIHF and XAdES signed per submission, simulator validating everything). Prints figures only.
 * The CPU figure is the box's process alone: the simulator runs in a child process, whose CPU is not counted.
 *   npx tsx test/bench/outbox-drain-bench.ts [N] [concurrency]
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { DEMO_STRUCTURE_ID } from '../peers/dmp-for-box.js';
import { loadConfig } from '../../appliance/src/config/load.js';
import { openDatabase } from '../../appliance/src/store/database.js';
import { Outbox } from '../../appliance/src/store/outbox.js';
import { KosArchive } from '../../appliance/src/store/kos-archive.js';
import { OutboxDrainer } from '../../appliance/src/source/outbox-drainer.js';
import { dmpSenderFromConfig } from '../../appliance/src/dmp-connection.js';
import { buildKos } from '../../appliance/src/dicom/kos/index.js';
import { createUid } from '../../appliance/src/dicom/uid.js';
import { reportFromHl7 } from '../../appliance/src/report/parse.js';
import { parseHl7Message } from '../../appliance/src/hl7/index.js';
import { oruForStudy, testNir } from '../fixtures/hl7/report-message.js';
import { helene } from '../fixtures/hl7/generate.js';
import { printGoal } from './goal.js';

const N = Number(process.argv[2] ?? 200);
const work = mkdtempSync(join(tmpdir(), 'drimbox-drain-bench-'));
// The simulator in its own process, as the DMP is another machine: the box's drain rate is not bounded by the
// simulator's checks sharing its event loop.
const sim = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../peers/dmp-sim/main.ts'), '--data', join(work, 'dmp'), '--structure-id', DEMO_STRUCTURE_ID], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const ready = await new Promise<Record<string, any>>((resolve, reject) => {
  createInterface({ input: sim.stdout! }).once('line', (l) => resolve(JSON.parse(l)));
  sim.once('exit', (code) => reject(new Error(`DMP simulator exited with ${code}`)));
});
const password = readFileSync(ready.box.p12PasswordFile, 'utf8').trim();
const xds = {
  baseUrl: ready.url,
  caFile: ready.caCertPath,
  tlsP12File: ready.box.clientP12Path,
  tlsP12Password: password,
  signatureP12File: ready.box.signatureP12Path,
  signatureP12Password: password,
  sourceIdOid: '1.2.250.1.999.1.1.8121',
  lps: { id: 'DRIMBOX-TEST', homologationId: 'HOMOLOGATION-TEST' },
  structure: { id: DEMO_STRUCTURE_ID, name: 'Cabinet de radiologie de test' },
};
const config = loadConfig({ env: {}, overrides: { dataDir: join(work, 'box'), xds: xds as never, log: { level: 'error' } } });
const db = openDatabase(join(work, 'box', 'drimbox.sqlite'));
const archive = new KosArchive(db);
const outbox = new Outbox(db);
mkdirSync(join(work, 'box', 'kos'), { recursive: true });

const root = '1.2.826.0.1.3680043.10.1558.77';
for (let i = 0; i < N; i++) {
  const studyUid = createUid(root);
  const ins = testNir(`1850775${String(100000 + i)}`);
  const report = reportFromHl7(parseHl7Message(oruForStudy({ studyUid, patient: { ...helene, ins }, accession: `B${i}`, controlId: `B${i}` })));
  const series = createUid(root);
  const kos = buildKos({
    report,
    study: { studyInstanceUid: studyUid, series: [{ seriesInstanceUid: series, modality: 'CT', instances: Array.from({ length: 20 }, () => ({ sopClassUid: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUid: createUid(root) })) }] },
    retrieveBaseUrl: 'https://db1.test/dicom-web',
    uidRoot: root,
  });
  const file = join('kos', `${kos.sopInstanceUid}.dcm`);
  writeFileSync(join(work, 'box', file), kos.part10);
  const { record } = archive.add({
    sopInstanceUid: kos.sopInstanceUid, studyInstanceUid: studyUid, file, bytes: kos.part10.length,
    sha1: createHash('sha1').update(kos.part10).digest('hex'), report, refs: [],
  });
  outbox.enqueue({ op: 'publish', examKey: studyUid, uniqueId: kos.sopInstanceUid, kosId: record.id, payload: {} });
}

const concurrency = Number(process.argv[3] ?? 4);
const drainer = new OutboxDrainer(outbox, dmpSenderFromConfig(config, archive)!, { concurrency });
const t0 = performance.now();
const cpu0 = process.cpuUsage();
await drainer.drainOnce();
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const c = outbox.counts();
console.log(`outbox → DMP simulator, concurrency ${concurrency}: ${N} signed ITI-41 in ${seconds.toFixed(2)} s = ${(N / seconds).toFixed(1)} submissions/s (done ${c.done}, dead ${c.dead}, waiting ${c['waiting-retry']})`);
console.log(
  `box CPU (this process only, the simulator's process not counted): ${cpuSeconds.toFixed(2)} s ` +
    `(user ${(cpu.user / 1e6).toFixed(2)}, system ${(cpu.system / 1e6).toFixed(2)}) for ${N} submissions = ${(N / cpuSeconds).toFixed(0)} submissions per CPU-second`,
);
printGoal('outbox-per-cpu-s', N / cpuSeconds, 100, '/CPU-s');
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
sim.kill('SIGTERM');
await new Promise((r) => sim.once('exit', r));
rmSync(work, { recursive: true, force: true });
