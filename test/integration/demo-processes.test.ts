import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DmpSimulator } from '../peers/dmp-sim/simulator.js';
import type { OrthancPeer } from '../peers/orthanc.js';
import { boxProcess, type BoxProcess } from '../demo/box-process.js';
import { queueList, type QueueRow } from '../demo/box-cli.js';
import { consumerBoxConfig, demoPorts, sourceBoxConfig, type BoxPorts } from '../demo/box-configs.js';
import { kioskStatus, publicHealth } from '../demo/box-http.js';
import { kosEntriesAtDmp, publishedAtDmp, pushHeadCt, sendReport } from '../demo/demo-bed.js';
import { restartDmp, startDmp, startPacs, startPsc } from '../demo/demo-peers.js';
import { pollFor } from '../demo/poll.js';
import { Cleanups } from '../demo/steps.js';

/**
 * The demo's boxes are processes of their own, as on a device: one can be killed (power cut) and started again on
 * its data, and a peer (the DMP) can go down while the boxes stay up. Everything is seen from outside the boxes:
 * the DMP simulator's registry, the box's CLI (`drimbox queue list`), its HTTP routes.
 */
describe('the demo boxes as processes', () => {
  const cleanups = new Cleanups();
  let work: string;
  let ports: { source: BoxPorts; consumer: BoxPorts };
  let pacsSp: OrthancPeer;
  let dmp: DmpSimulator;
  let source: BoxProcess;
  let consumer: BoxProcess;
  let lastRows: QueueRow[] = [];
  const rowsOfSource = async () => (lastRows = await queueList(source.configFile));
  const seen = () => JSON.stringify(lastRows.map(({ id, state, attempts, lastError }) => ({ id, state, attempts, lastError })));
  const alive = (pid: number | undefined) => {
    if (pid === undefined) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'drimbox-demo-processes-'));
    cleanups.add(() => rmSync(work, { recursive: true, force: true }));
    ports = await demoPorts({ wellKnown: false });
    pacsSp = await startPacs('ORTHANC_SP', { aeTitle: 'DRIMBOX_SP', dimsePort: ports.source.dimse });
    cleanups.add(() => pacsSp.stop());
    const started = await startDmp(work);
    dmp = started.sim;
    // The current simulator, whichever instance it is after a restart.
    cleanups.add(() => dmp.stop());
    const psc = await startPsc(ports);
    cleanups.add(() => psc.stop());
    const pacsSt = await startPacs('ORTHANC_ST', { aeTitle: 'DRIMBOX_ST', dimsePort: ports.consumer.dimse });
    cleanups.add(() => pacsSt.stop());
    source = boxProcess({ name: 'saint-pierre', dataDir: join(work, 'saint-pierre'), logDir: work, config: sourceBoxConfig(ports.source, { pacs: pacsSp, xds: started.xds, pscIssuer: psc.issuer }, join(work, 'source/updates.lock')) });
    cleanups.add(() => source.stop());
    consumer = boxProcess({ name: 'strasbourg', dataDir: join(work, 'strasbourg'), logDir: work, config: consumerBoxConfig(ports.consumer, { pacs: pacsSt, xds: started.xds, pscIssuer: psc.issuer }, work) });
    cleanups.add(() => consumer.stop());
    await Promise.all([source.start(), consumer.start()]);
  }, 120_000);

  afterAll(() => cleanups.run(), 60_000);

  it('publishes a report exactly once when the source box is killed while it publishes, then restarted on its data', async () => {
    const study = await pushHeadCt(pacsSp, join(work, 'ct-killed'), 2);
    // The DMP records the submission, then never answers: the box is in the middle of publishing when it dies.
    dmp.setFaults({ rules: [{ kind: 'hang', count: 1, endpoint: 'repository', phase: 'after' }] });
    await sendReport(ports.source.hl7, study.studyInstanceUid, 'SP-KILL-1');
    const { sopInstanceUid } = await publishedAtDmp(() => dmp, study.studyInstanceUid, 60_000);
    const sending = await pollFor('the source box to show its submission in flight (drimbox queue list)', 30_000, async () => (await rowsOfSource()).find((r) => r.uniqueId === sopInstanceUid && r.state === 'sending'), seen);
    expect(sending.attempts).toBe(1);

    const killedPid = source.pid();
    await source.kill();
    expect(alive(killedPid)).toBe(false);
    await expect(publicHealth(ports.source.http)).rejects.toThrow();

    await source.start();
    expect(source.pid()).not.toBe(killedPid);
    const done = await pollFor('the restarted source box to finish the interrupted publication', 60_000, async () => (await rowsOfSource()).find((r) => r.uniqueId === sopInstanceUid && r.state === 'done'), seen);
    // Sent again after the restart (the box could not know the DMP had it), recognised as already there.
    expect(done.attempts).toBeGreaterThanOrEqual(2);
    expect(lastRows.filter((r) => r.uniqueId === sopInstanceUid)).toHaveLength(1);
    const atDmp = kosEntriesAtDmp(dmp, study.studyInstanceUid);
    expect(atDmp.map((e) => ({ uniqueId: e.unique_id, status: e.status }))).toEqual([{ uniqueId: sopInstanceUid, status: 'Approved' }]);
  }, 150_000);

  it('keeps both boxes up while the DMP is down, and delivers the queued submission once the DMP is back', async () => {
    const study = await pushHeadCt(pacsSp, join(work, 'ct-outage'), 2);
    const pids = [source.pid(), consumer.pid()];
    const dmpPort = dmp.port;
    await dmp.stop();

    await sendReport(ports.source.hl7, study.studyInstanceUid, 'SP-OUTAGE-2');
    const waiting = await pollFor(
      'the source box to queue the submission after failing to reach the DMP (drimbox queue list)',
      60_000,
      async () => (await rowsOfSource()).find((r) => r.state === 'waiting-retry' && r.lastError !== null),
      seen,
    );
    expect(waiting.lastError).toMatch(/ECONNREFUSED/);

    // Both boxes still answer on HTTP, and the source's status screen shows the publication waiting for the DMP.
    for (const box of [source, consumer]) expect([200, 503]).toContain((await publicHealth(box.httpPort)).status);
    const status = await kioskStatus(ports.source.kiosk);
    const dmpTile = status.tiles.find((t) => t.id === 'dmp');
    expect(dmpTile?.facts.queued).toBe(1);
    expect(dmpTile).toMatchObject({ level: 'warn', code: 'dmp-retrying', facts: { detail: expect.stringContaining('ECONNREFUSED') } });
    expect(status.publications.find((p) => p.studyInstanceUid === study.studyInstanceUid)?.delivery).toBe('queued');
    expect([source.pid(), consumer.pid()]).toEqual(pids);
    expect(pids.every(alive)).toBe(true);

    dmp = await restartDmp(work, dmpPort);
    const { sopInstanceUid } = await publishedAtDmp(() => dmp, study.studyInstanceUid, 90_000);
    expect(sopInstanceUid).toBe(waiting.uniqueId);
    await pollFor('the source box to record the delivery', 30_000, async () => (await rowsOfSource()).find((r) => r.id === waiting.id && r.state === 'done'), seen);
    expect(kosEntriesAtDmp(dmp, study.studyInstanceUid)).toHaveLength(1);
    expect((await kioskStatus(ports.source.kiosk)).publications.find((p) => p.studyInstanceUid === study.studyInstanceUid)?.delivery).toBe('delivered');
    expect([source.pid(), consumer.pid()]).toEqual(pids);
  }, 150_000);
});
