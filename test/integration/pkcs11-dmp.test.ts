import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { freePort, waitFor } from '../peers/ports.js';
import { DEMO_STRUCTURE_ID, startDmpForBox } from '../peers/dmp-for-box.js';
import { makeKeyToken } from '../peers/cps-token.js';
import type { DmpSimulator } from '../peers/dmp-sim/simulator.js';
import { loadConfig } from '../../appliance/src/config/load.js';
import { startBox, type RunningBox } from '../../appliance/src/start-box.js';
import { synthesizeStudy } from '../../appliance/src/dicom/synth/index.js';
import { sendMllp, readAck } from '../../appliance/src/hl7/index.js';
import { oruForStudy, testNir } from '../fixtures/hl7/report-message.js';
import { helene } from '../fixtures/hl7/generate.js';

/**
 * The structure's two keys (ORG AUTH_CLI for the DMP's mutual TLS, signature for the VIHF and XAdES) on a PKCS#11
 * token, and nowhere else: their files are deleted before the box starts. A validated report then goes the whole
 * way — Orthanc, KOS, outbox — to the DMP simulator, which checks the client certificate and the signatures.
 */
let work: string;
let orthanc: OrthancPeer;
let dmp: DmpSimulator;
let box: RunningBox | undefined;
let studyUid: string;
let ins: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'drimbox-p11-dmp-'));
  const dimsePort = await freePort();
  orthanc = await startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: dimsePort } } });
  ins = testNir('2851275112240');
  const s = await synthesizeStudy({ modality: 'CT', instances: 2, rows: 32, columns: 32, outDir: join(work, 'study'), patient: { name: 'LEFÈVRE-NOËL^HÉLÈNE', id: ins } });
  for (const f of s.files) await orthanc.upload(readFileSync(f));
  studyUid = s.studyInstanceUid;

  const started = await startDmpForBox(join(work, 'dmp'));
  dmp = started.sim;
  const subject = `/C=FR/O=Cabinet de radiologie de test/OU=${DEMO_STRUCTURE_ID}/CN=DRIMbox HSM`;
  const auth = dmp.issueCertificate({ name: 'hsm-auth', usage: 'client', subject, p12Password: 'unused-pass' });
  const sign = dmp.issueCertificate({ name: 'hsm-sign', usage: 'signature', subject, p12Password: 'unused-pass' });
  const token = makeKeyToken(join(work, 'hsm'), 'DRIMBOX STRUCTURE', '246810', [
    { keyPath: auth.keyPath, certPath: auth.certPath, keyLabel: 'ORG_AUTH_CLI', id: 'a1' },
    { keyPath: sign.keyPath, certPath: sign.certPath, keyLabel: 'ORG_SIGN', id: 'a2' },
  ]);
  for (const file of [auth.keyPath, auth.p12Path, sign.keyPath, sign.p12Path]) if (file) rmSync(file);
  process.env.SOFTHSM2_CONF = token.env.SOFTHSM2_CONF;

  const { tlsP12File: _t, tlsP12Password: _tp, signatureP12File: _s, signatureP12Password: _sp, ...xds } = started.xds;
  const config = loadConfig({
    env: { DRIMBOX_PKCS11_STRUCTURE_PIN: token.pin },
    overrides: {
      dataDir: join(work, 'box'),
      pacs: { port: orthanc.dicomPort },
      dimse: { port: dimsePort, listenHost: '127.0.0.1' },
      http: { port: 0, host: '127.0.0.1', tls: { enabled: false } },
      lan: { port: 0, host: '127.0.0.1' },
      kiosk: { port: 0 },
      hl7: { port: 0, host: '127.0.0.1' },
      source: { stableAfterMs: 0, recheckMs: 200 },
      xds: xds as never,
      pkcs11: { structure: { module: token.module, tokenLabel: token.tokenLabel, tlsKeyLabel: 'ORG_AUTH_CLI', signatureKeyLabel: 'ORG_SIGN' } },
      log: { level: 'error' },
    },
  });
  expect(config.pkcs11.structure.pin).toBe(token.pin); // from the environment, as a balena device variable
  box = await startBox(config);
});

afterAll(async () => {
  await box?.stop();
  await dmp?.stop();
  await orthanc?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('structure keys on a PKCS#11 token (SoftHSM2), files gone', () => {
  it('the outbox drains to the DMP simulator over mutual TLS with the token key; the VIHF and XAdES signed on the token are accepted', async () => {
    const message = oruForStudy({ studyUid, patient: { ...helene, ins }, accession: 'ACC-HSM1', controlId: 'HSM-1' });
    expect(readAck(await sendMllp('127.0.0.1', box!.hl7Port, message, { timeoutMs: 10_000 })).code).toBe('AA');
    await waitFor(async () => box!.outbox.counts().done === 1, 60_000, 'publication accepted by the DMP');
    const kos = box!.archive.activeForStudy(studyUid)!;
    expect(dmp.db.entryByUniqueId(kos.sopInstanceUid)!.status).toMatch(/Approved/);
    const accepted = dmp.requests().filter((r) => r.path === '/repository' && r.httpStatus === 200);
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    // The simulator read the structure id from the client certificate the token's key proved.
    expect(accepted.every((r) => r.structureId === DEMO_STRUCTURE_ID)).toBe(true);
    expect(box!.outbox.counts().dead).toBe(0);
  });
});
