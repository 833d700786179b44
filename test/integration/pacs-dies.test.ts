import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../appliance/src/config/schema.js';
import { synthesizeStudy, type SynthResult } from '../../appliance/src/dicom/synth/index.js';
import { createDimseUpstream } from '../../appliance/src/dicomweb/index.js';
import { boundaryOf } from '../../appliance/src/dicomweb/multipart-reader.js';
import { createPacsBridge } from '../../appliance/src/dimse/index.js';
import { reservedPort } from '../peers/ports.js';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { startBox, TEST_TOKEN, type TestBox } from './dicomweb-box.js';

// Fault campaign (issue 14.11): the PACS is killed (SIGKILL) while the box streams a study from it over DIMSE (C-GET).
// The caller must see the answer fail — never a multipart that looks complete — the next request must be answered
// promptly while the PACS is down, and once a PACS listens again the box's only association slot must be free.

const AUTH = { authorization: `Bearer ${TEST_TOKEN}` };
const INSTANCES = 60;

let dir: string;
let first: OrthancPeer;
let second: OrthancPeer | undefined;
let study: SynthResult;
let box: TestBox;
let boxPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pacs-dies-'));
  boxPort = await reservedPort();
  first = await startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: boxPort } } });
  study = await synthesizeStudy({ modality: 'CT', instances: INSTANCES, rows: 256, columns: 256, outDir: join(dir, 'ct'), seed: 14 });
  for (const f of study.files) await first.upload(readFileSync(f));
  const config = configSchema.parse({ pacs: { aeTitle: first.aeTitle, host: '127.0.0.1', port: first.dicomPort, retrieve: 'C-GET', maxAssociations: 1 } });
  const bridge = createPacsBridge(config.pacs, { aeTitle: 'DRIMBOX' }, config.dimse);
  box = await startBox((tempDir) => createDimseUpstream({ bridge, tempDir }));
}, 120_000);

afterAll(async () => {
  await box?.stop();
  await second?.stop();
  await first?.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('the PACS dies in the middle of a transfer', () => {
  it('the study answer fails visibly, the next request is answered, and the association slot is freed', async () => {
    const res = await fetch(`${box.baseUrl}/studies/${study.studyInstanceUid}`, { headers: { ...AUTH, accept: 'multipart/related; type="application/dicom"' } });
    expect(res.status).toBe(200);
    const boundary = boundaryOf(res.headers.get('content-type'))!;
    const reader = res.body!.getReader();
    let received = Buffer.alloc(0);
    let killed = false;
    let failed = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        received = Buffer.concat([received, value]);
        if (!killed && received.length > 1_000_000) {
          process.kill(first.pid, 'SIGKILL');
          killed = true;
        }
        // Read slowly once the PACS is gone, as a far-away client would.
        if (killed) await new Promise((r) => setTimeout(r, 5));
      }
    } catch {
      failed = true;
    }
    expect(killed).toBe(true);
    const parts = received.toString('latin1').split(`--${boundary}`).length - 1;
    const closed = received.toString('latin1').includes(`--${boundary}--`);
    // Either the connection was cut (the client's read failed) or the body lacks its closing delimiter: no client
    // can take the study as complete.
    expect(failed || !closed, `${parts} part delimiters, closed: ${closed}`).toBe(true);
    expect(parts).toBeLessThan(INSTANCES + 1);

    // While the PACS is down: a clear refusal, not a hang.
    const down = await fetch(`${box.baseUrl}/studies/${study.studyInstanceUid}/series/${study.series[0]!.seriesInstanceUid}/instances`, { headers: { ...AUTH, accept: 'application/dicom+json' } });
    expect([502, 503, 504]).toContain(down.status);
    await down.arrayBuffer();

    // A PACS listens again on the same DICOM port: the box's single association slot is free for it.
    second = await startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: boxPort } }, extra: { DicomPort: first.dicomPort } });
    for (const f of study.files.slice(0, 5)) await second.upload(readFileSync(f));
    const again = await fetch(`${box.baseUrl}/studies/${study.studyInstanceUid}/series/${study.series[0]!.seriesInstanceUid}/metadata`, { headers: { ...AUTH, accept: 'application/dicom+json' } });
    expect(again.status).toBe(200);
    expect(((await again.json()) as unknown[]).length).toBe(5);
  }, 120_000);
});
