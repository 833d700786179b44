/**
 * Source side, one run on one Orthanc:
 *  - report → KOS queued for a 2,000-instance study, next to a dcmtk image-level findscu of the same study;
 *  - HL7 intake rate: messages/s acknowledged (stored in SQLite before each ACK), one connection and four.
 * Prints figures only.  npx tsx test/bench/source-bench.ts [instances]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startOrthanc } from '../peers/orthanc.js';
import { freePort, waitFor } from '../peers/ports.js';
import { loadConfig } from '../../appliance/src/config/load.js';
import { startBox } from '../../appliance/src/start-box.js';
import { synthesizeStudy } from '../../appliance/src/dicom/synth/index.js';
import { sendMllp } from '../../appliance/src/hl7/index.js';
import { oruForStudy, testNir } from '../fixtures/hl7/report-message.js';
import { helene } from '../fixtures/hl7/generate.js';
import { printGoal } from './goal.js';

const run = promisify(execFile);
const INSTANCES = Number(process.argv[2] ?? 2000);
const env = { ...process.env, TCP_NODELAY: '1' };
const work = mkdtempSync(join(tmpdir(), 'drimbox-source-bench-'));
const dimsePort = await freePort();
const orthanc = await startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: dimsePort } } });
const ins = testNir('1850775112299');
const study = await synthesizeStudy({ modality: 'CT', instances: INSTANCES, seriesCount: 4, rows: 32, columns: 32, outDir: join(work, 'study'), patient: { name: 'BERNARD^Jean', id: ins } });
await run('storescu', ['-aet', 'DRIMBOX', '-aec', 'ORTHANC', '+sd', '+r', '127.0.0.1', String(orthanc.dicomPort), join(work, 'study')], { env, maxBuffer: 1 << 26 });

async function findscu(): Promise<{ ms: number; matches: number }> {
  const t0 = performance.now();
  const { stderr } = await run('findscu', ['-v', '-S', '-aet', 'DRIMBOX', '-aec', 'ORTHANC', '-k', 'QueryRetrieveLevel=IMAGE', '-k', `StudyInstanceUID=${study.studyInstanceUid}`,
    '-k', 'SeriesInstanceUID', '-k', 'SOPInstanceUID', '-k', 'SOPClassUID', '-k', 'InstanceNumber', '127.0.0.1', String(orthanc.dicomPort)], { env, maxBuffer: 1 << 28 });
  return { ms: performance.now() - t0, matches: (stderr.match(/Find Response:/g) ?? []).length };
}

const config = loadConfig({
  env: {},
  overrides: {
    dataDir: join(work, 'box'), pacs: { port: orthanc.dicomPort }, dimse: { port: dimsePort, listenHost: '127.0.0.1' },
    http: { port: 0, host: '127.0.0.1', tls: { enabled: false } }, lan: { port: 0, host: '127.0.0.1' }, kiosk: { port: 0 }, hl7: { port: 0, host: '127.0.0.1' }, source: { stableAfterMs: 0, recheckMs: 100 }, log: { level: 'error' },
  },
});
const box = await startBox(config, { dmpSender: { send: async () => ({ kind: 'success' }) } });

const find = await findscu();
const t0 = performance.now();
await sendMllp('127.0.0.1', box.hl7Port, oruForStudy({ studyUid: study.studyInstanceUid, patient: { ...helene, ins }, accession: 'BENCH-1', controlId: 'BENCH-1' }));
await waitFor(async () => box.outbox.list().length === 1, 120_000, 'KOS queued');
const reportToKos = performance.now() - t0;
const find2 = await findscu();
const findMs = Math.min(find.ms, find2.ms);
const kos = box.archive.list(1)[0]!;
console.log(`report → KOS queued (${kos.instanceCount} instances): ${reportToKos.toFixed(0)} ms; dcmtk findscu image level (${find.matches} matches): ${findMs.toFixed(0)} ms; ratio ${(reportToKos / findMs).toFixed(2)}× (target ≤ 1.3×)`);

// Intake: reports for exams the PACS does not have (they wait in the inbox), so only intake is measured.
async function intake(connections: number, perConnection: number): Promise<number> {
  const t = performance.now();
  await Promise.all(Array.from({ length: connections }, async (_, c) => {
    for (let i = 0; i < perConnection; i++) {
      const id = `IN-${connections}-${c}-${i}`;
      await sendMllp('127.0.0.1', box.hl7Port, oruForStudy({ studyUid: `1.2.826.0.1.3680043.10.1558.66.${connections}.${c}.${i + 1}`, patient: { ...helene, ins }, accession: id, controlId: id }));
    }
  }));
  return (connections * perConnection) / ((performance.now() - t) / 1000);
}
const one = await intake(1, 200);
const four = await intake(4, 100);
console.log(`HL7 intake (ORU with base64 CDA, stored before ACK, a new connection per message): ${one.toFixed(0)} msg/s on 1 client, ${four.toFixed(0)} msg/s on 4 clients`);
printGoal('hl7-msgs-per-s', Math.max(one, four), 500, ' msg/s');
console.log(`peak RSS of the process (box + bench) ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
await box.stop();
await orthanc.stop();
rmSync(work, { recursive: true, force: true });
