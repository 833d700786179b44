import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { reservedPorts, waitFor } from '../peers/ports.js';
import { startDmpForBox } from '../peers/dmp-for-box.js';
import type { DmpSimulator } from '../peers/dmp-sim/simulator.js';
import { startPscSimulator, type PscSimulator } from '../peers/psc-sim/server.js';
import { startSupervisorSim, type SupervisorSim } from '../peers/supervisor-sim.js';
import { loopbackBoxConfig } from '../peers/box-config.js';
import { loadConfig } from '../../appliance/src/config/load.js';
import { startBox, type RunningBox } from '../../appliance/src/start-box.js';
import { synthesizeStudy } from '../../appliance/src/dicom/synth/index.js';
import { sendMllp } from '../../appliance/src/hl7/index.js';
import { tlsCredentialFromPkcs12 } from '../../appliance/src/auth/signer/file-signer.js';
import { oruForStudy } from '../fixtures/hl7/report-message.js';
import { BERNARD } from '../fixtures/patients.js';

// The box on balena: it holds the update lock while it streams a study (and only then), tells the status screen an
// update waits for the transfer, reports its health to the fleet as device tags through the supervisor, and on
// stop lets the transfer in flight finish while refusing anything new.
let work: string;
let orthanc: OrthancPeer;
let dmp: DmpSimulator;
let psc: PscSimulator;
let supervisor: SupervisorSim;
let box: RunningBox;
let lockFile: string;
let study: string;
let kosUid: string;
let token: string;
let xds: Record<string, string>;
let httpPort: number;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'drimbox-appliance-'));
  lockFile = join(work, 'balena/updates.lock');
  // Known to Orthanc and the PSC before the box binds them: below the ephemeral range.
  const [dimsePort, http] = (await reservedPorts(2)) as [number, number];
  httpPort = http;
  orthanc = await startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: dimsePort } } });
  const s = await synthesizeStudy({
    modality: 'CT', instances: 48, rows: 512, columns: 512, outDir: join(work, 'ct'),
    patient: { name: 'BERNARD^JEAN', id: BERNARD.ins, issuer: 'ASIP-SANTE-INS-NIR', insOid: '1.2.250.1.213.1.4.10', birthDate: BERNARD.birthDate, sex: 'M' },
  });
  for (const f of s.files) await orthanc.upload(readFileSync(f));
  study = s.studyInstanceUid;
  const started = await startDmpForBox(join(work, 'dmp'));
  dmp = started.sim;
  xds = started.xds as Record<string, string>;
  psc = await startPscSimulator({ clients: [{ clientId: 'source', clientSecret: 'source-secret', redirectUris: [`http://127.0.0.1:${httpPort}/portal/callback`] }] });
  supervisor = await startSupervisorSim();
  box = await startBox(
    loadConfig({
      env: {},
      overrides: loopbackBoxConfig({
        dataDir: join(work, 'box'), pacsPort: orthanc.dicomPort, dimsePort, httpPort, xds: started.xds,
        psc: { issuer: psc.issuer, clientId: 'source', clientSecret: 'source-secret' },
        extra: { device: { updateLockFile: lockFile, maxUpdateLockHoldMinutes: 30 } },
      }) as never,
    }),
    { env: { BALENA_SUPERVISOR_ADDRESS: supervisor.address, BALENA_SUPERVISOR_API_KEY: supervisor.apiKey, DRIMBOX_LOG_LEVEL: 'error' } },
  );
  await sendMllp('127.0.0.1', box.hl7Port, oruForStudy({ studyUid: study, patient: BERNARD, accession: 'LOCK-1', controlId: 'LOCK-1' }));
  await waitFor(async () => box.outbox.counts().done === 1, 30_000, 'KOS published to the DMP');
  kosUid = box.archive.activeForStudy(study)!.sopInstanceUid;
  token = await psc.mintToken('claire.martin', { ttlSeconds: 600, clientId: 'source' });
}, 180_000);

afterAll(async () => {
  await box?.stop();
  await supervisor?.stop();
  await psc?.stop();
  await dmp?.stop();
  await orthanc?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Opens the study's WADO-RS stream and reads nothing until told: a slow client on the other side of the country. */
function slowRetrieve(): Promise<{ status: number; finish: () => Promise<number> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: httpPort, path: `/dicom-web/studies/${study}`, headers: { authorization: `Bearer ${token}`, 'kos-sopinstanceuid': kosUid, accept: 'multipart/related; type="application/dicom"' } }, (res) => {
      res.pause();
      resolve({
        status: res.statusCode!,
        finish: () =>
          new Promise((done, fail) => {
            let bytes = 0;
            res.on('data', (d: Buffer) => (bytes += d.length)).on('end', () => done(bytes)).on('error', fail);
            res.resume();
          }),
      });
    });
    req.on('error', reject).end();
  });
}

const deviceStatus = async () => (await fetch(`http://127.0.0.1:${box.kioskPort}/api/device/status`)).json() as Promise<{ updateLock: { state: string }; message?: string; work: Record<string, number>; fleetVariables: { key: string; env: string }[] }>;

describe('the box under balena', () => {
  it('holds the update lock exactly while a study streams, and says an update waits for it', async () => {
    await waitFor(async () => !existsSync(lockFile), 10_000, 'the lock free once the publication is done');
    supervisor.device = { ...supervisor.device, update_pending: true, update_downloaded: true, status: 'Downloaded' };
    const stream = await slowRetrieve();
    expect(stream.status).toBe(200);
    await waitFor(async () => existsSync(lockFile), 5_000, 'the update lock taken while the study streams');
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({ holder: 'drimbox', pid: process.pid });
    await waitFor(async () => (await deviceStatus()).message === 'mise à jour téléchargée, en attente de la fin des transferts', 35_000, 'the status screen to say the update waits');
    expect((await deviceStatus()).work['wado-stream']).toBe(1);
    expect(await stream.finish()).toBeGreaterThan(48 * 512 * 512 * 2);
    await waitFor(async () => !existsSync(lockFile), 5_000, 'the lock released once the stream ended');
    expect((await deviceStatus()).updateLock.state).toBe('free');
  });

  it('reports its health to the fleet as device tags, with the device credentials, and shows which settings come from the fleet', async () => {
    const sent = await box.appliance.reportNow();
    const expiry = new X509Certificate(tlsCredentialFromPkcs12(readFileSync(xds.tlsP12File!), xds.tlsP12Password!).cert).validTo;
    expect(supervisor.tags).toMatchObject({
      'drimbox.queue': '0',
      'drimbox.dead': '0',
      'drimbox.lastPublication': new Date().toISOString().slice(0, 10),
      'drimbox.certExpiry': new Date(expiry).toISOString().slice(0, 10),
      'drimbox.version': '0.1.0',
    });
    expect(supervisor.tags['drimbox.health']).toMatch(/^(ok|warn|fail)$/);
    expect(Number(supervisor.tags['drimbox.diskFreeMb'])).toBeGreaterThan(0);
    expect(Object.keys(sent).length).toBeGreaterThan(0);
    expect(await box.appliance.reportNow()).toEqual({}); // nothing changed: nothing sent
    expect(supervisor.requests.every((r) => r.authorized)).toBe(true);
    expect(supervisor.unknown).toEqual([]);
    expect((await deviceStatus()).fleetVariables).toEqual([{ key: 'log.level', env: 'DRIMBOX_LOG_LEVEL' }]);
  });

  it('shows the computer in the device status: memory, load and uptime sampled from /proc (systeminformation), the last sample kept', async () => {
    await box.appliance.host.sample();
    const { host } = (await deviceStatus()) as unknown as { host: { at: string; memoryTotalBytes: number; memoryAvailableBytes: number; uptimeSeconds: number; cpuLoadPercent: number; cpuTemperatureC: number | null } };
    const meminfo = readFileSync('/proc/meminfo', 'utf8');
    const totalKb = Number(/MemTotal:\s+(\d+) kB/.exec(meminfo)![1]);
    expect(host.memoryTotalBytes).toBe(totalKb * 1024); // the kernel's own figure
    expect(host.memoryAvailableBytes).toBeGreaterThan(0);
    expect(host.memoryAvailableBytes).toBeLessThanOrEqual(host.memoryTotalBytes);
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    expect(Math.abs(host.uptimeSeconds - uptime)).toBeLessThan(120);
    expect(host.cpuLoadPercent).toBeGreaterThanOrEqual(0);
    expect(host.cpuLoadPercent).toBeLessThanOrEqual(100);
    expect(host.cpuTemperatureC === null || (host.cpuTemperatureC > 0 && host.cpuTemperatureC < 120)).toBe(true);
  });

  it('on stop: the transfer in flight ends, anything new is refused, then the database is checkpointed', async () => {
    const stream = await slowRetrieve();
    expect(stream.status).toBe(200);
    const draining = box.drain(30_000);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${httpPort}/health`)).status === 503, 5_000, 'new requests refused while stopping');
    let drained = false;
    void draining.then(() => (drained = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(drained).toBe(false); // the stream holds the stop
    expect(await stream.finish()).toBeGreaterThan(48 * 512 * 512 * 2);
    await draining;
    await box.stop();
    const wal = join(work, 'box/drimbox.sqlite-wal');
    expect(existsSync(wal) ? statSync(wal).size : 0).toBe(0);
    expect(existsSync(lockFile)).toBe(false);
  });
});
