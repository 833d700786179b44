import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { reservedPort, waitFor } from '../peers/ports.js';
import { startDmpForBox } from '../peers/dmp-for-box.js';
import { makeCpsToken, SOFTHSM_MODULE, TEST_HOLDER, type CpsToken } from '../peers/cps-token.js';
import type { DmpSimulator } from '../peers/dmp-sim/simulator.js';
import { loadConfig } from '../../appliance/src/config/load.js';
import { loopbackBoxConfig } from '../peers/box-config.js';
import { startBox, type RunningBox } from '../../appliance/src/start-box.js';
import { synthesizeStudy } from '../../appliance/src/dicom/synth/index.js';
import { sendMllp, readAck } from '../../appliance/src/hl7/index.js';
import { oruForStudy, testNir } from '../fixtures/hl7/report-message.js';
import { helene } from '../fixtures/hl7/generate.js';

/**
 * Direct mode (pkcs11.card.directMode): the publication of a validated report waits until a professional logs in
 * with their CPS card at the box, then goes to the DMP simulator under their VIHF (Authentification_Mode DIRECTE),
 * signed by the card's CPS_PRIV_SIG — which the simulator verifies against the card's CA (here also the CA of the
 * structure's TLS certificate, as both are IGC-Santé in production).
 */
let work: string;
let token: CpsToken;
let orthanc: OrthancPeer;
let dmp: DmpSimulator;
let box: RunningBox | undefined;
let studyUid: string;
let ins: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'drimbox-direct-'));
  token = makeCpsToken(join(work, 'card'));
  process.env.SOFTHSM2_CONF = token.env.SOFTHSM2_CONF;
  const dimsePort = await reservedPort();
  orthanc = await startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: dimsePort } } });
  ins = testNir('2851275112241');
  const s = await synthesizeStudy({ modality: 'MR', instances: 2, rows: 32, columns: 32, outDir: join(work, 'study'), patient: { name: 'LEFÈVRE-NOËL^HÉLÈNE', id: ins } });
  for (const f of s.files) await orthanc.upload(readFileSync(f));
  studyUid = s.studyInstanceUid;
  const caDir = join(work, 'card', TEST_HOLDER.nationalId);
  const started = await startDmpForBox(join(work, 'dmp'), { ca: { certPem: readFileSync(join(caDir, 'ca.crt'), 'utf8'), keyPem: readFileSync(join(caDir, 'ca.key'), 'utf8') } });
  dmp = started.sim;
  const config = loadConfig({
    env: {},
    overrides: loopbackBoxConfig({ dataDir: join(work, 'box'), pacsPort: orthanc.dicomPort, dimsePort, xds: started.xds as Record<string, unknown>, extra: { pkcs11: { card: { module: SOFTHSM_MODULE, pollMs: 200, directMode: true } } } }) as never,
  });
  box = await startBox(config);
});

afterAll(async () => {
  await box?.stop();
  await dmp?.stop();
  await orthanc?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('direct authentication mode: the professional’s card signs', () => {
  it('waits for a card login, then publishes under the card holder’s VIHF (DIRECTE) signed by the card', async () => {
    const message = oruForStudy({ studyUid, patient: { ...helene, ins }, accession: 'ACC-DIR1', controlId: 'DIR-1' });
    expect(readAck(await sendMllp('127.0.0.1', box!.hl7Port, message, { timeoutMs: 10_000 })).code).toBe('AA');
    await waitFor(async () => (box!.outbox.list({ state: 'waiting-retry' })[0]?.lastError ?? '').includes('no CPS card is logged in'), 30_000, 'publication waiting for a card');
    expect(dmp.requests().filter((r) => r.path === '/repository')).toHaveLength(0);

    await waitFor(async () => box!.card!.cards().length === 1, 10_000, 'card seen by the reader');
    const login = await box!.card!.login(box!.card!.cards()[0]!.serial, token.pin);
    expect(login.ok).toBe(true);
    const waiting = box!.outbox.list({ state: 'waiting-retry' }).map((r) => r.id);
    box!.outbox.retry(waiting);
    box!.drainer.wake();
    await waitFor(async () => box!.outbox.counts().done === 1, 30_000, 'publication accepted by the DMP');

    const published = dmp.requests().filter((r) => r.path === '/repository' && r.httpStatus === 200);
    expect(published).toHaveLength(1);
    expect(published[0]!.vihf).toMatchObject({ nameId: TEST_HOLDER.nationalId, authenticationMode: 'DIRECTE' });
    expect(published[0]!.vihf!.signerSubject).toMatch(new RegExp(`CN=${TEST_HOLDER.nationalId}`));
    expect(dmp.db.entryByUniqueId(box!.archive.activeForStudy(studyUid)!.sopInstanceUid)!.status).toMatch(/Approved/);
  });
});
