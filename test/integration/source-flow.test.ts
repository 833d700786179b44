import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { reservedPort, waitFor } from '../peers/ports.js';
import { loadConfig } from '../../appliance/src/config/load.js';
import { startBox, type RunningBox } from '../../appliance/src/start-box.js';
import { synthesizeStudy, type SynthResult } from '../../appliance/src/dicom/synth/index.js';
import { sendMllp, readAck } from '../../appliance/src/hl7/index.js';
import { parseKos, buildRejectionNote } from '../../appliance/src/dicom/kos/index.js';
import { checkLateImages } from '../../appliance/src/source/late-images-watch.js';
import { STUDY_UID, helene } from '../fixtures/hl7/generate.js';
import { oruForStudy } from '../fixtures/hl7/report-message.js';

const run = promisify(execFile);

/** The RIS's bearer token for the HTTP intake on the LAN listener (ris.httpToken). */
const RIS_TOKEN = 'ris-token-of-the-test-practice-0123456789';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/hl7/${name}`, import.meta.url));

let orthanc: OrthancPeer;
let box: RunningBox;
let study: SynthResult;
let work: string;
/** Stands in for the DMP client (tested against the DMP simulator elsewhere): records what the outbox delivers. */
const delivered: { op: string; uniqueId: string; targetUniqueId: string | null }[] = [];

async function send(message: Buffer) {
  return readAck(await sendMllp('127.0.0.1', box.hl7Port, message, { timeoutMs: 10_000 }));
}

async function outboxHas(n: number) {
  await waitFor(async () => box.outbox.list().length >= n, 20_000, `${n} outbox operation(s)`);
  return box.outbox.list();
}

function kosOf(uniqueId: string) {
  const rec = box.archive.bySopInstanceUid(uniqueId)!;
  return { rec, file: join(box.config.dataDir, rec.file), manifest: parseKos(readFileSync(join(box.config.dataDir, rec.file))) };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'drimbox-source-'));
  const dimsePort = await reservedPort();
  orthanc = await startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: dimsePort } } });
  // The exam of the fixture report (same Study Instance UID and patient as the CDA in the ORU).
  study = await synthesizeStudy({
    modality: 'CT',
    instances: 24,
    seriesCount: 2,
    rows: 64,
    columns: 64,
    outDir: join(work, 'study'),
    studyInstanceUid: STUDY_UID,
    patient: { name: `${helene.birthName}^${helene.givens[0]}`, id: helene.ins, issuer: 'ASIP-SANTE-INS-NIR', insOid: '1.2.250.1.213.1.4.10' },
  });
  for (const f of study.files.slice(0, 20)) await orthanc.upload(readFileSync(f));
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: join(work, 'data'),
      pacs: { port: orthanc.dicomPort, aeTitle: orthanc.aeTitle },
      dimse: { port: dimsePort, listenHost: '127.0.0.1' },
      http: { port: 0, host: '127.0.0.1', tls: { enabled: false } },
      lan: { port: 0, host: '127.0.0.1' },
      kiosk: { port: 0 },
      ris: { httpToken: RIS_TOKEN, allowedAddresses: ['127.0.0.1'] },
      hl7: { port: 0, host: '127.0.0.1' },
      box: { publicBaseUrl: 'https://db1.saint-pierre.test/dicom-web' },
      source: { stableAfterMs: 0, recheckMs: 200 },
      log: { level: 'error' },
    },
  });
  box = await startBox(config, {
    dmpSender: {
      async send(row) {
        delivered.push({ op: row.op, uniqueId: row.uniqueId, targetUniqueId: row.targetUniqueId });
        return { kind: 'success' };
      },
    },
  });
});

afterAll(async () => {
  await box?.stop();
  await orthanc?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('source flow against Orthanc', () => {
  it('turns a validated report (ORU over MLLP) into an archived KOS referencing every instance, queued for the DMP', async () => {
    const ack = await send(fixture('oru-r01-v2.5-publish.hl7'));
    expect(ack.code).toBe('AA');
    const [op] = await outboxHas(1);
    expect(op).toMatchObject({ op: 'publish', examKey: STUDY_UID });
    await waitFor(async () => box.outbox.get(op!.id)!.state === 'done', 10_000, 'delivery to the DMP');
    expect(delivered[0]).toEqual({ op: 'publish', uniqueId: op!.uniqueId, targetUniqueId: null });
    const { rec, file, manifest } = kosOf(op!.uniqueId);
    expect(manifest.sopInstanceUid).toBe(op!.uniqueId);
    expect(manifest.studyInstanceUid).toBe(STUDY_UID);
    expect(manifest.patient.id).toBe(helene.ins);
    expect(manifest.accession?.value).toBe('ACC24-0115');
    const referenced = manifest.series.flatMap((s) => s.instances.map((i) => i.sopInstanceUid)).sort();
    const inPacs = study.files.slice(0, 20).length;
    expect(referenced).toHaveLength(inPacs);
    const expected = study.series.flatMap((s) => s.instances).filter((i) => study.files.slice(0, 20).includes(i.path)).map((i) => i.sopInstanceUid).sort();
    expect(referenced).toEqual(expected);
    for (const s of manifest.series) expect(s.retrieveUrl).toBe(`https://db1.saint-pierre.test/dicom-web/studies/${STUDY_UID}/series/${s.seriesInstanceUid}`);
    expect(rec.instanceCount).toBe(inPacs);
    const verdict = execFileSync('dciodvfy', [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) + '';
    expect(verdict).not.toMatch(/^Error/m);
  });

  it('answers a resend of the same message AA without processing it twice', async () => {
    const ack = await send(fixture('oru-r01-v2.5-publish.hl7'));
    expect(ack.code).toBe('AA');
    expect(ack.text ?? '').toMatch(/already received/);
    await new Promise((r) => setTimeout(r, 500));
    expect(box.outbox.list()).toHaveLength(1);
  });

  it('publishes images that arrive late as a replacement manifest', async () => {
    for (const f of study.files.slice(20)) await orthanc.upload(readFileSync(f));
    const found = await checkLateImages({ archive: box.archive, inbox: box.inbox, bridge: box.bridge, watchForMs: 3_600_000 });
    expect(found).toEqual([STUDY_UID]);
    box.processor.wake();
    const ops = await outboxHas(2);
    expect(ops[1]).toMatchObject({ op: 'replace', targetUniqueId: ops[0]!.uniqueId });
    expect(kosOf(ops[1]!.uniqueId).rec.instanceCount).toBe(24);
  });

  it('replaces the manifest when the report is corrected (MDM^T10)', async () => {
    expect((await send(fixture('mdm-t10-replace.hl7'))).code).toBe('AA');
    const ops = await outboxHas(3);
    expect(ops[2]).toMatchObject({ op: 'replace', targetUniqueId: ops[1]!.uniqueId });
    expect(box.archive.activeForStudy(STUDY_UID)!.documentId).toMatch(/CR-2024-0001-2/);
  });

  it('drops the instances an IOCM rejection note names, the note arriving by C-STORE from the PACS, once the PACS confirms they are gone', async () => {
    const rejected = study.series[0]!.instances[0]!;
    const note = buildRejectionNote({
      study: { studyInstanceUid: STUDY_UID, series: [{ seriesInstanceUid: study.series[0]!.seriesInstanceUid, instances: [{ sopClassUid: rejected.sopClassUid, sopInstanceUid: rejected.sopInstanceUid }] }] },
      patient: { id: helene.ins },
      uidRoot: '1.2.826.0.1.3680043.10.1558.99',
    });
    const noteFile = join(work, 'rejection.dcm');
    writeFileSync(noteFile, note.part10);
    // The PACS (calling AE ORTHANC, allowed by default) pushes the note to the box's SCP.
    // Not execFileSync: the box's SCP answers from this very process.
    const push = () => promisify(execFile)('storescu', ['-aet', 'ORTHANC', '-aec', 'DRIMBOX', '127.0.0.1', String(box.dimsePort), noteFile], { env: { ...process.env, TCP_NODELAY: '1' } });
    // A note whose instances the PACS still holds changes nothing: a calling AE title proves nothing.
    await push();
    await waitFor(async () => box.inbox.list({ limit: 1 })[0]!.state === 'done', 20_000, 'the first note to be looked at');
    expect(box.inbox.list({ limit: 1 })[0]!.error).toMatch(/ignored: the PACS still holds 1 of the 1 instance/);
    expect(box.outbox.list()).toHaveLength(3);
    // The PACS really rejects the instance (it is gone from its C-FIND answers), then pushes the note.
    const [orthancId] = await orthanc.rest<{ ID: string }[]>('/tools/lookup', { method: 'POST', body: rejected.sopInstanceUid });
    await orthanc.rest(`/instances/${orthancId!.ID}`, { method: 'DELETE' });
    await push();
    const ops = await outboxHas(4);
    expect(ops[3]).toMatchObject({ op: 'replace', targetUniqueId: ops[2]!.uniqueId });
    const { manifest } = kosOf(ops[3]!.uniqueId);
    const refs = manifest.series.flatMap((s) => s.instances.map((i) => i.sopInstanceUid));
    expect(refs).toHaveLength(23);
    expect(refs).not.toContain(rejected.sopInstanceUid);
  });

  it('withdraws what was published when the report is deleted (MDM^T04)', async () => {
    expect((await send(fixture('mdm-t04-withdraw.hl7'))).code).toBe('AA');
    const ops = await outboxHas(5);
    expect(ops[4]).toMatchObject({ op: 'withdraw', targetUniqueId: ops[3]!.uniqueId });
    expect(box.archive.activeForStudy(STUDY_UID)).toBeUndefined();
    await waitFor(async () => delivered.length === 5, 10_000, 'every operation delivered');
    expect(delivered.map((d) => d.op)).toEqual(['publish', 'replace', 'replace', 'replace', 'withdraw']);
  });

  it('withdraws what was published when the RIS cancels the exam (OMI^O23, ORC|CA)', async () => {
    // Published again first (a new report for the same exam), then the order is cancelled.
    const again = oruForStudy({ studyUid: STUDY_UID, patient: helene, accession: 'ACC24-0115', controlId: 'ORU-AGAIN-1' });
    expect((await send(again)).code).toBe('AA');
    const published = await outboxHas(6);
    expect(published[5]).toMatchObject({ op: 'publish' });
    expect((await send(fixture('omi-o23-cancel.hl7'))).code).toBe('AA');
    const ops = await outboxHas(7);
    expect(ops[6]).toMatchObject({ op: 'withdraw', targetUniqueId: published[5]!.uniqueId });
    expect(box.archive.activeForStudy(STUDY_UID)).toBeUndefined();
  });

  it('rebuilds the manifest when the RIS says the exam changed (OMI^O23 other than a cancellation), and only if the images differ', async () => {
    const changed = await synthesizeStudy({ modality: 'MR', instances: 6, rows: 32, columns: 32, outDir: join(work, 'omi'), patient: { name: 'LEFÈVRE-NOËL^HÉLÈNE', id: helene.ins, issuer: 'ASIP-SANTE-INS-NIR', insOid: '1.2.250.1.213.1.4.10', birthDate: helene.birthDate, sex: 'F' } });
    for (const f of changed.files.slice(0, 4)) await orthanc.upload(readFileSync(f));
    const before = box.outbox.list().length;
    expect((await send(oruForStudy({ studyUid: changed.studyInstanceUid, patient: helene, accession: 'ACC-OMI-1', controlId: 'ORU-OMI-1' }))).code).toBe('AA');
    const published = (await outboxHas(before + 1))[before]!;
    expect(kosOf(published.uniqueId).rec.instanceCount).toBe(4);
    // The ANS sample's shape (DRIM-M_DATA informatif/hl7v2/OMI_O23-ImagingOrder.hl7): ORC-1 NW, ORC-5 SC, IPC-3 the study.
    const omi = (id: string) =>
      Buffer.from(
        [
          `MSH|^~\\&|RIS|CABINET|DRIMBOX|CABINET|20261127120000+0100||OMI^O23^OMI_O23|${id}|P|2.5.1`,
          `PID|||${helene.ins}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS||${helene.birthName}^${helene.givens[0]}|||${helene.sex}`,
          'ORC|NW|DEM-OMI-1^RIS|EX-OMI-1^RIS||SC',
          "OBR|1|DEM-OMI-1^RIS|EX-OMI-1^RIS|18748-4^CR d'imagerie médicale^LN",
          'OBX|1|ST|12989855963^Modification Examen Imagerie||||||||O',
          `IPC|ACC-OMI-1|RP-OMI-1|${changed.studyInstanceUid}|SPS-OMI-1|MR`,
        ].join('\r') + '\r',
      );
    // Nothing changed yet: the manifest is checked, not re-published.
    expect((await send(omi('OMI-MOD-1'))).code).toBe('AA');
    await waitFor(async () => box.inbox.list({ state: 'done' }).some((r) => r.controlId === 'OMI-MOD-1'), 20_000, 'first OMI processed');
    expect(box.inbox.list({ state: 'done' }).find((r) => r.controlId === 'OMI-MOD-1')!.error).toMatch(/already up to date/);
    expect(box.outbox.list()).toHaveLength(before + 1);
    // Two images added at the PACS, then the RIS's change: a replacement manifest with all six.
    for (const f of changed.files.slice(4)) await orthanc.upload(readFileSync(f));
    expect((await send(omi('OMI-MOD-2'))).code).toBe('AA');
    const ops = await outboxHas(before + 2);
    expect(ops[before + 1]).toMatchObject({ op: 'replace', targetUniqueId: published.uniqueId });
    expect(kosOf(ops[before + 1]!.uniqueId).rec.instanceCount).toBe(6);
  });

  it('refuses a report for a message that is not HL7, and keeps it visible', async () => {
    const ack = await send(Buffer.from('this is not an HL7 message'));
    expect(ack.code).toBe('AR');
    const [last] = box.inbox.list({ limit: 1 });
    expect(last).toMatchObject({ state: 'rejected' });
  });

  it('takes the same report over HTTP on the LAN listener, from the RIS with its token, with the same guarantee', async () => {
    const lan = `http://127.0.0.1:${box.lanPort}/api/source/reports`;
    const auth = { authorization: `Bearer ${RIS_TOKEN}`, 'x-forwarded-for': '203.0.113.9' };
    const res = await fetch(lan, { method: 'POST', body: fixture('cda-synthetic-v1.xml'), headers: auth });
    expect(res.status).toBe(202);
    const { inboxId } = (await res.json()) as { inboxId: number };
    // The sender is the TCP peer: a client-supplied X-Forwarded-For is ignored (no trusted proxy configured).
    expect(box.inbox.get(inboxId)).toMatchObject({ channel: 'http', remote: '127.0.0.1' });
    const bad = await fetch(lan, { method: 'POST', headers: auth, body: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).not.toMatch(/root:/);
  });

  it('holds a report whose study in the PACS is another patient\'s, says so in health, and publishes it only once a person releases it', async () => {
    const other = await synthesizeStudy({ modality: 'CR', instances: 2, rows: 32, columns: 32, outDir: join(work, 'other-patient'), patient: { name: 'MARTIN^PAUL', id: 'IPP-OTHER-77' } });
    for (const f of other.files) await orthanc.upload(readFileSync(f));
    // Counted for this study only: a report of an earlier test may still be on its way to the outbox.
    const opsForStudy = () => box.outbox.list().filter((op) => box.archive.bySopInstanceUid(op.uniqueId)?.studyInstanceUid === other.studyInstanceUid);
    const ack = await send(oruForStudy({ studyUid: other.studyInstanceUid, patient: helene, accession: 'ACC-WRONG-STUDY', controlId: 'WRONG-STUDY-1' }));
    expect(ack.code).toBe('AA');
    await waitFor(async () => box.inbox.list({ state: 'held', limit: 5 }).length === 1, 20_000, 'the report to be held');
    const [held] = box.inbox.list({ state: 'held', limit: 1 });
    expect(held!.error).toMatch(/PatientID IPP-OTHER-77.*MARTIN\^PAUL/);
    expect(opsForStudy()).toHaveLength(0);
    const status = await fetch(`http://127.0.0.1:${box.lanPort}/api/source/status`, { headers: { authorization: `Bearer ${RIS_TOKEN}` } });
    const checks = ((await status.json()) as { health: { checks: { name: string; ok: boolean; detail: string }[] } }).health.checks;
    expect(checks.find((c) => c.name === 'report-inbox')).toMatchObject({ ok: false, detail: expect.stringMatching(/1 report\(s\) held/) });
    // The technician checks with the radiologist, then releases it from the command line.
    const cli = await run('node', ['bin/drimbox.js', 'queue', 'release', String(held!.id), '--by', 'Dr Béranger'], { env: { ...process.env, DRIMBOX_DATA_DIR: box.config.dataDir } });
    expect(cli.stdout).toMatch(/1 held report\(s\) released/);
    box.processor.wake();
    await waitFor(async () => opsForStudy().length === 1, 20_000, 'the released report in the outbox');
    expect(box.inbox.get(held!.id)).toMatchObject({ state: 'done', releasedBy: 'Dr Béranger' });
  });

  it('keeps the report intake and the source status off the public listener, and closed to callers without the RIS token', async () => {
    const inboxBefore = box.inbox.list({ limit: 1 })[0]!.id;
    const pub = `http://127.0.0.1:${box.httpPort}/api/source`;
    expect((await fetch(`${pub}/reports`, { method: 'POST', body: fixture('cda-synthetic-v1.xml') })).status).toBe(404);
    expect((await fetch(`${pub}/status`)).status).toBe(404);
    const lan = `http://127.0.0.1:${box.lanPort}/api/source`;
    const noToken = await fetch(`${lan}/reports`, { method: 'POST', body: fixture('cda-synthetic-v1.xml') });
    expect(noToken.status).toBe(401);
    const wrongToken = await fetch(`${lan}/reports`, { method: 'POST', body: fixture('cda-synthetic-v1.xml'), headers: { authorization: `Bearer ${RIS_TOKEN.replace(/.$/, 'x')}` } });
    expect(wrongToken.status).toBe(401);
    expect((await fetch(`${lan}/status`)).status).toBe(401);
    // The kiosk's loopback listener serves the same routes under the same protection.
    expect((await fetch(`http://127.0.0.1:${box.kioskPort}/api/source/status`)).status).toBe(401);
    // Nothing was stored by the refused calls.
    expect(box.inbox.list({ limit: 1 })[0]!.id).toBe(inboxBefore);
    const status = await fetch(`${lan}/status`, { headers: { authorization: `Bearer ${RIS_TOKEN}` } });
    expect(status.status).toBe(200);
    expect(((await status.json()) as { health: { checks: { name: string; detail: string }[] } }).health.checks.find((c) => c.name === 'pacs')!.detail).toMatch(/C-ECHO ORTHANC@127.0.0.1/);
  });

  it('reports real health: database and PACS reachable by C-ECHO; the public answer names no PACS address or AE title', async () => {
    const res = await fetch(`http://127.0.0.1:${box.httpPort}/health`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const body = JSON.parse(text) as { ok: boolean; checks: { name: string; ok: boolean }[] };
    expect(body.checks.find((c) => c.name === 'pacs')).toEqual({ name: 'pacs', ok: true });
    expect(text).not.toMatch(/ORTHANC|127\.0\.0\.1|C-ECHO/);
  });
});
