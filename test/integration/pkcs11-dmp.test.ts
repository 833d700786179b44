import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { reservedPort, waitFor } from '../peers/ports.js';
import { DEMO_STRUCTURE_ID, startDmpForBox } from '../peers/dmp-for-box.js';
import { makeKeyToken, SOFTHSM_MODULE } from '../peers/cps-token.js';
import { buildKos, studyFromFiles } from '../../appliance/src/dicom/kos/index.js';
import { reportFromHl7 } from '../../appliance/src/report/parse.js';
import { parseHl7Message } from '../../appliance/src/hl7/index.js';
import type { DmpSimulator } from '../peers/dmp-sim/simulator.js';
import { loadConfig } from '../../appliance/src/config/load.js';
import { loopbackBoxConfig } from '../peers/box-config.js';
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
const REPO = join(import.meta.dirname, '../..');
let work: string;
let orthanc: OrthancPeer;
let dmp: DmpSimulator;
let box: RunningBox | undefined;
let studyUid: string;
let ins: string;
let xdsSection: Record<string, unknown>;
let tokenEnv: Record<string, string>;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'drimbox-p11-dmp-'));
  const dimsePort = await reservedPort();
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
  xdsSection = xds;
  tokenEnv = token.env;
  const config = loadConfig({
    env: { DRIMBOX_PKCS11_STRUCTURE_PIN: token.pin },
    overrides: loopbackBoxConfig({ dataDir: join(work, 'box'), pacsPort: orthanc.dicomPort, dimsePort, xds: xds as Record<string, unknown>, extra: { pkcs11: { structure: { module: token.module, tokenLabel: token.tokenLabel, tlsKeyLabel: 'ORG_AUTH_CLI', signatureKeyLabel: 'ORG_SIGN' } } } }) as never,
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

  it('drimbox xds send --pkcs11: the command line builds, signs and sends with both keys on the token; a wrong PIN exits 1 with the reason', async () => {
    const dir = join(work, 'cli');
    mkdirSync(dir, { recursive: true });
    const exam = await synthesizeStudy({ modality: 'CT', instances: 1, rows: 16, columns: 16, outDir: join(dir, 'study'), patient: { name: 'CLI^TOKEN', id: ins } });
    const report = reportFromHl7(parseHl7Message(oruForStudy({ studyUid: exam.studyInstanceUid, patient: { ...helene, ins }, accession: 'ACC-HSM-CLI', controlId: 'HSM-CLI' })));
    const found = await studyFromFiles(join(dir, 'study'));
    const kos = buildKos({ report, study: found.studies[0]!, retrieveBaseUrl: 'https://drimbox.test/dicom-web', uidRoot: '1.2.826.0.1.3680043.10.1558.77', institutionName: 'Cabinet de test' });
    writeFileSync(join(dir, 'kos.dcm'), kos.part10);
    writeFileSync(join(dir, 'report.json'), JSON.stringify(report));
    writeFileSync(join(dir, 'xds.json'), JSON.stringify(xdsSection));
    const args = [join(REPO, 'bin/drimbox.js'), 'xds', 'send', '--kos', join(dir, 'kos.dcm'), '--report', join(dir, 'report.json'), '--xds-config', join(dir, 'xds.json'),
      '--pkcs11', SOFTHSM_MODULE, '--token-label', 'DRIMBOX STRUCTURE', '--pin-env', 'HSM_PIN', '--key-label', 'ORG_SIGN', '--tls-key-label', 'ORG_AUTH_CLI'];
    const run = (pin: string) => new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, args, { env: { ...process.env, ...tokenEnv, HSM_PIN: pin } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => (stdout += c));
      child.stderr.on('data', (c) => (stderr += c));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    const ok = await run('246810');
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).outcome.kind).toBe('success');
    expect(dmp.db.entryByUniqueId(kos.sopInstanceUid)!.status).toMatch(/Approved/);
    const wrong = await run('000000');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/wrong PIN/);
  });
});
