import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBoxChild } from './crash/spawn-box.js';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { reservedPorts, waitFor } from '../peers/ports.js';
import { startDmpForBox } from '../peers/dmp-for-box.js';
import type { DmpSimulator } from '../peers/dmp-sim/simulator.js';
import { startPscSimulator, type PscSimulator } from '../peers/psc-sim/server.js';
import { loginWithPassword } from '../peers/psc-sim/login-driver.js';
import { HttpBrowser } from '../peers/http-browser.js';
import { loopbackBoxConfig } from '../peers/box-config.js';
import { loadConfig } from '../../appliance/src/config/load.js';
import { startBox, type RunningBox } from '../../appliance/src/start-box.js';
import { synthesizeStudy } from '../../appliance/src/dicom/synth/index.js';
import { sendMllp } from '../../appliance/src/hl7/index.js';
import { oruForStudy } from '../fixtures/hl7/report-message.js';
import { BERNARD, bernardContextCall } from '../fixtures/patients.js';

// The consumer box in its own process, killed with SIGKILL at random moments while it pulls a study from the source
// box; restarted on the same data, the professional opens the exam again: the pull resumes from the cache — only
// the instances not yet cached are fetched — and every instance it then serves is whole.
const INSTANCES = 60;
const KILLS = 3;

let work: string;
let orthanc: OrthancPeer;
let dmp: { sim: DmpSimulator; xds: Record<string, unknown> };
let psc: PscSimulator;
let source: RunningBox;
let study: string;
let kosUid: string;
let consumerPort: number;

function startConsumer(): Promise<ChildProcess> {
  const origin = `http://127.0.0.1:${consumerPort}`;
  const config = loopbackBoxConfig({
    dataDir: join(work, 'consumer'), pacsPort: 9, dimsePort: 0, httpPort: consumerPort, xds: dmp.xds,
    psc: { issuer: psc.issuer, clientId: 'consumer', clientSecret: 'consumer-secret' },
    extra: {
      box: { aeTitle: 'DRIMBOX_ST', publicBaseUrl: `${origin}/dicom-web` },
      consumer: { publicBaseUrl: origin, allowInsecureSourceHosts: true, secureCookies: false },
      device: { updateLockFile: join(work, 'consumer-updates.lock') },
    },
  });
  return spawnBoxChild('consumer box', config).then(({ child }) => child);
}

type Progress = { state: string; total: number; alreadyCached: number; transferred: number; failed: number; message?: string };

/** Dr Martin opens the exam: contextual call, PSC login, the exam from the DMP, then "ouvrir" — a retrieve job. */
async function openExam(): Promise<{ browser: HttpBrowser; job: string }> {
  const browser = new HttpBrowser(`http://127.0.0.1:${consumerPort}`);
  const posted = await browser.post('/portal/contexte', bernardContextCall());
  const toPsc = await browser.go(posted.headers.get('location')!);
  const { callbackUrl } = await loginWithPassword(new URL(toPsc.headers.get('location')!), { user: 'claire.martin', password: psc.testPassword });
  const patientUrl = (await browser.go(callbackUrl)).headers.get('location')!;
  const opened = await browser.post(`${patientUrl}/ouvrir`, { document: kosUid });
  expect(opened.status).toBe(303);
  return { browser, job: opened.headers.get('location')!.split('/').pop()! };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'drimbox-consumer-crash-'));
  // Known to peers in advance (Orthanc's modality, PSC redirect URIs) and bound later, the consumer's again after each
  // kill: below the ephemeral range, where no outgoing connection of a parallel test takes them in between.
  const [dimsePort, sourcePort, consumer] = (await reservedPorts(3)) as [number, number, number];
  consumerPort = consumer;
  orthanc = await startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: dimsePort } } });
  const s = await synthesizeStudy({
    modality: 'CT', instances: INSTANCES, rows: 512, columns: 512, outDir: join(work, 'ct'),
    patient: { name: 'BERNARD^JEAN', id: BERNARD.ins, issuer: 'ASIP-SANTE-INS-NIR', insOid: '1.2.250.1.213.1.4.10', birthDate: BERNARD.birthDate, sex: 'M' },
  });
  for (const f of s.files) await orthanc.upload(readFileSync(f));
  study = s.studyInstanceUid;
  dmp = await startDmpForBox(join(work, 'dmp'));
  psc = await startPscSimulator({
    clients: [
      { clientId: 'source', clientSecret: 'source-secret', redirectUris: [`http://127.0.0.1:${sourcePort}/portal/callback`] },
      { clientId: 'consumer', clientSecret: 'consumer-secret', redirectUris: [`http://127.0.0.1:${consumerPort}/portal/callback`] },
    ],
  });
  source = await startBox(
    loadConfig({
      env: {},
      overrides: loopbackBoxConfig({
        dataDir: join(work, 'source'), pacsPort: orthanc.dicomPort, dimsePort, httpPort: sourcePort, xds: dmp.xds,
        psc: { issuer: psc.issuer, clientId: 'source', clientSecret: 'source-secret' },
        extra: { box: { publicBaseUrl: `http://127.0.0.1:${sourcePort}/dicom-web` }, device: { updateLockFile: join(work, 'source-updates.lock') } },
      }) as never,
    }),
  );
  await sendMllp('127.0.0.1', source.hl7Port, oruForStudy({ studyUid: study, patient: BERNARD, accession: 'KILL-1', controlId: 'KILL-1' }));
  await waitFor(async () => source.outbox.counts().done === 1, 30_000, 'KOS published to the DMP');
  kosUid = source.archive.activeForStudy(study)!.sopInstanceUid;
}, 300_000);

afterAll(async () => {
  await source?.stop();
  await psc?.stop();
  await dmp?.sim.stop();
  await orthanc?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('a consumer box killed while it pulls a study', () => {
  it(`resumes from its cache after ${KILLS} SIGKILLs: nothing fetched twice that was cached, every instance whole`, async () => {
    let cachedAtLastKill = 0;
    for (let round = 0; round < KILLS; round++) {
      const child = await startConsumer();
      const { browser, job } = await openExam();
      // Kill once the pull has made progress since the last round, at a random point of the transfer.
      const target = cachedAtLastKill + 1 + Math.floor(Math.random() * ((INSTANCES - cachedAtLastKill) / 2));
      await waitFor(async () => {
        const p = await browser.json<Progress>(`/portal/api/jobs/${job}`);
        return p.alreadyCached + p.transferred >= target || p.state === 'done';
      }, 60_000, `the pull to reach ${target} instances`);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      cachedAtLastKill = target;
    }
    const child = await startConsumer();
    try {
      const { browser, job } = await openExam();
      let final: Progress | undefined;
      await waitFor(async () => {
        final = await browser.json<Progress>(`/portal/api/jobs/${job}`);
        return final.state === 'done' || final.state === 'failed';
      }, 120_000, 'the resumed pull to end');
      expect(final).toMatchObject({ state: 'done', total: INSTANCES, failed: 0 });
      // Resumed: what earlier runs reported as pulled was durably cached, and is not fetched again.
      expect(final!.alreadyCached).toBeGreaterThanOrEqual(cachedAtLastKill);
      expect(final!.alreadyCached + final!.transferred).toBe(INSTANCES);
      // Whole: the viewer gets every instance back from the cache, each with its pixel data.
      const instances = await browser.json<unknown[]>(`/portal/dicom-web/studies/${study}/instances`);
      expect(instances).toHaveLength(INSTANCES);
      const frame = await browser.go(`/portal/dicom-web/studies/${study}/series/${(instances[INSTANCES - 1] as Record<string, { Value: string[] }>)['0020000E']!.Value[0]}/instances/${(instances[INSTANCES - 1] as Record<string, { Value: string[] }>)['00080018']!.Value[0]}/frames/1`, { headers: { accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' } });
      expect(frame.status).toBe(200);
      expect((await frame.arrayBuffer()).byteLength).toBeGreaterThan(512 * 512 * 2);
      // Instances are written in their place: what a kill cut midway was removed at restart or written again whole.
      const studyDir = join(work, 'consumer', 'consumer-cache', 'studies', study);
      const files = readdirSync(studyDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
      expect(files).toHaveLength(INSTANCES);
      for (const f of files) expect(statSync(join(f.parentPath, f.name)).size).toBeGreaterThan(512 * 512 * 2);
    } finally {
      child.kill('SIGKILL');
    }
  }, 400_000);
});
