import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { makeMiniStudy, transferSyntaxOf, type MiniStudy } from '../fixtures/mini-instances.js';
import { createPacsBridge, PacsError } from '../../appliance/src/dimse/index.js';

// Pixel-bearing objects outside the image classes (RT Dose, Segmentation) stored compressed in the PACS: the
// box must propose their stored syntax, or the PACS (which cannot transcode them) fails the C-GET.
const RT_DOSE = '1.2.840.10008.5.1.4.1.1.481.2';
const SEGMENTATION = '1.2.840.10008.5.1.4.1.1.66.4';
const JPEG_LS_LOSSLESS = '1.2.840.10008.1.2.4.80';

const dir = mkdtempSync(join(tmpdir(), 'dimse-classes-'));
let orthanc: OrthancPeer;
let study: MiniStudy;

beforeAll(async () => {
  orthanc = await startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: 9 } } });
  study = await makeMiniStudy({ outDir: join(dir, 'study'), instances: 2, seriesCount: 1, patientName: 'RT^DOSE', rows: 32, columns: 32 });
  for (const [i, sopClass] of [RT_DOSE, SEGMENTATION].entries()) {
    const file = study.files[i]!;
    execFileSync('dcmodify', ['-nb', '-m', `(0008,0016)=${sopClass}`, file]); // the meta header follows (dcmodify -mu, its default)
    const compressed = `${file}.jls`;
    execFileSync('dcmcjpls', [file, compressed]);
    await orthanc.upload(readFileSync(compressed));
  }
});

afterAll(async () => {
  await orthanc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('C-GET brings RT Dose and Segmentation stored in JPEG-LS as the PACS stores them', async () => {
  const bridge = createPacsBridge(
    { aeTitle: orthanc.aeTitle, host: '127.0.0.1', port: orthanc.dicomPort, retrieve: 'C-GET', dicomwebUrl: '', maxAssociations: 2 },
    { aeTitle: 'DRIMBOX' },
    { connectTimeoutMs: 5_000, responseTimeoutMs: 10_000, maxPduLength: 262_144 },
  );
  const outDir = join(dir, 'get');
  const result = await bridge.retrieve({ level: 'STUDY', studyInstanceUid: study.studyInstanceUid }, { outDir, sopClassUids: [RT_DOSE, SEGMENTATION] });
  expect(result).toMatchObject({ completed: 2, failed: 0 });
  for (const instance of study.series[0]!.instances) {
    expect(transferSyntaxOf(readFileSync(join(outDir, `${instance.sopInstanceUid}.dcm`)))).toBe(JPEG_LS_LOSSLESS);
  }
});

it('a C-GET the PACS ends in failure: its status and failed-instance list are read, not taken for a malformed command', async () => {
  const bridge = createPacsBridge(
    { aeTitle: orthanc.aeTitle, host: '127.0.0.1', port: orthanc.dicomPort, retrieve: 'C-GET', dicomwebUrl: '', maxAssociations: 2 },
    { aeTitle: 'DRIMBOX' },
    { connectTimeoutMs: 5_000, responseTimeoutMs: 10_000, maxPduLength: 262_144 },
  );
  // Only RT Dose is offered: the PACS cannot send the Segmentation and says so in its final response.
  const error = await bridge.retrieve({ level: 'STUDY', studyInstanceUid: study.studyInstanceUid }, { outDir: join(dir, 'get-partial'), sopClassUids: [RT_DOSE] }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PacsError);
  // Orthanc 1.10 stops at the first instance it cannot send: that one is named, whatever it delivered before.
  expect((error as PacsError).message).toMatch(/status 0xC000 \(unable to process\), 1 instance\(s\) failed, [01] delivered/);
  expect((error as PacsError).details).toMatchObject({ status: 0xc000, partial: { failedSopInstanceUids: [study.series[0]!.instances[1]!.sopInstanceUid] } });
});
