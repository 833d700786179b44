import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { runDcmtk } from '../peers/dcmtk.js';
import { reservedPort } from '../peers/ports.js';
import { datasetBytes } from '../fixtures/mini-instances.js';
import { synthesizeStudy } from '../../appliance/src/dicom/synth/index.js';
import { createPacsBridge, startStoreScp, type PacsBridge, type StoreScp } from '../../appliance/src/dimse/index.js';
import type { PacsConfig } from '../../appliance/src/config/schema.js';
import { loopbackDimse } from '../peers/box-config.js';

// The ANS homologation set is a 1,300-image CT study: retrieved whole by C-GET and by C-MOVE, every
// instance must arrive, byte-identical (dataset for dataset) to what the PACS stores.

const INSTANCES = 1300;
const dir = mkdtempSync(join(tmpdir(), 'dimse-big-'));
const dimse = loopbackDimse(30_000);
let orthanc: OrthancPeer;
let scp: StoreScp;
let studyInstanceUid: string;
/** SOP Instance UID → SHA-256 of the dataset of Orthanc's stored file. */
const reference = new Map<string, string>();

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function bridge(overrides: Partial<PacsConfig> = {}): PacsBridge {
  return createPacsBridge(
    { aeTitle: orthanc.aeTitle, host: '127.0.0.1', port: orthanc.dicomPort, retrieve: 'C-GET', dicomwebUrl: '', maxAssociations: 4, ...overrides },
    { aeTitle: 'DRIMBOX', scp },
    dimse,
  );
}

function expectIdentical(outDir: string): void {
  const files = readdirSync(outDir);
  expect(files.filter((f) => !f.endsWith('.dcm'))).toEqual([]);
  expect(files).toHaveLength(INSTANCES);
  let identical = 0;
  for (const f of files) {
    const expected = reference.get(f.slice(0, -4));
    expect(expected, `${f} is one of the study's instances`).toBeDefined();
    if (sha256(datasetBytes(readFileSync(join(outDir, f)))) === expected) identical++;
  }
  expect(identical).toBe(INSTANCES);
}

beforeAll(async () => {
  const scpPort = await reservedPort();
  orthanc = await startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: scpPort } } });
  scp = await startStoreScp({ aeTitle: 'DRIMBOX', host: '127.0.0.1', port: scpPort, allowedCallingAeTitles: [orthanc.aeTitle], storageDir: join(dir, 'scp') });
  const study = await synthesizeStudy({ modality: 'CT', instances: INSTANCES, outDir: join(dir, 'study'), rows: 256, columns: 256, seed: 1300 });
  studyInstanceUid = study.studyInstanceUid;
  const load = await runDcmtk('storescu', ['-aet', 'DRIMBOX', '-aec', orthanc.aeTitle, '+sd', '+r', '127.0.0.1', String(orthanc.dicomPort), join(dir, 'study')], 300_000);
  expect(load.code, load.stderr).toBe(0);
  rmSync(join(dir, 'study'), { recursive: true, force: true });
  const [found] = await orthanc.rest<{ ID: string }[]>('/tools/lookup', { method: 'POST', body: studyInstanceUid });
  const instances = await orthanc.rest<{ ID: string; MainDicomTags: { SOPInstanceUID: string } }[]>(`/studies/${found!.ID}/instances`);
  expect(instances).toHaveLength(INSTANCES);
  for (let i = 0; i < instances.length; i += 16) {
    await Promise.all(
      instances.slice(i, i + 16).map(async ({ ID, MainDicomTags }) => {
        const file = Buffer.from(await (await fetch(`${orthanc.httpUrl}/instances/${ID}/file`)).arrayBuffer());
        reference.set(MainDicomTags.SOPInstanceUID, sha256(datasetBytes(file)));
      }),
    );
  }
}, 600_000);

afterAll(async () => {
  await scp?.close();
  await orthanc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe(`a ${INSTANCES}-instance CT study`, () => {
  it('C-FIND at IMAGE level through a consumer that stalls on the first match: all matches, none lost', async () => {
    const uids = new Set<string>();
    for await (const match of bridge().find({ level: 'IMAGE', keys: { StudyInstanceUID: studyInstanceUid, InstanceNumber: '' } })) {
      if (uids.size === 0) {
        // The consumer stalls: the bridge must hold (or pause) the rest, and lose none.
        await new Promise((r) => setTimeout(r, 300));
      }
      uids.add(match['00080018']?.Value?.[0] as string);
    }
    // No timing assertion here (the machine is shared): streaming itself is timed in test/bench/dimse-bench.ts.
    expect(uids.size).toBe(INSTANCES);
    expect([...uids].every((uid) => reference.has(uid))).toBe(true);
  });

  it('C-GET: every instance received, byte-identical to Orthanc', async () => {
    const outDir = join(dir, 'get');
    let last = 0;
    const result = await bridge().retrieve({ level: 'STUDY', studyInstanceUid }, { outDir, onProgress: (p) => (last = p.completed) });
    expect(result).toMatchObject({ completed: INSTANCES, failed: 0, warning: 0, instances: INSTANCES, failedSopInstanceUids: [] });
    expect(last).toBe(INSTANCES);
    expectIdentical(outDir);
    rmSync(outDir, { recursive: true, force: true });
  });

  it('C-MOVE to the box SCP: every instance received, byte-identical to Orthanc', async () => {
    const outDir = join(dir, 'move');
    let seen = 0;
    const result = await bridge({ retrieve: 'C-MOVE' }).retrieve({ level: 'STUDY', studyInstanceUid }, { outDir, onInstance: () => void seen++ });
    expect(result).toMatchObject({ completed: INSTANCES, failed: 0, instances: INSTANCES });
    expect(seen).toBe(INSTANCES);
    expectIdentical(outDir);
    expect(readdirSync(join(dir, 'scp'))).toEqual([]);
  });
});
