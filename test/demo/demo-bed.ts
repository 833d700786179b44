/**
 * The demo's building blocks outside the boxes: Mr Bernard's head CT in the Saint-Pierre PACS, the RIS's report,
 * and the DMP simulator's registry as the witness of what the source box published.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { synthesizeStudy } from '../../appliance/src/dicom/synth/index.js';
import { readAck, sendMllp } from '../../appliance/src/hl7/index.js';
import { oruForStudy } from '../fixtures/hl7/report-message.js';
import { BERNARD } from '../fixtures/patients.js';
import type { EntryRow } from '../peers/dmp-sim/store.js';
import type { DmpSimulator } from '../peers/dmp-sim/simulator.js';
import type { OrthancPeer } from '../peers/orthanc.js';
import { waitFor } from '../peers/ports.js';

const run = promisify(execFile);
export const PUBLICATION_TIMEOUT_MS = 60_000;

/** A synthetic head CT of Mr Bernard, written under `dir` and stored into the PACS (storescu, as a modality would). */
export async function pushHeadCt(pacs: OrthancPeer, dir: string, slices: number): Promise<{ studyInstanceUid: string; files: string[] }> {
  const study = await synthesizeStudy({
    modality: 'CT',
    instances: slices,
    outDir: dir,
    studyDescription: 'SCANNER CEREBRAL SANS INJECTION',
    institutionName: 'Imagerie médicale de Saint-Pierre',
    patient: { name: 'BERNARD^JEAN', id: BERNARD.ins, issuer: 'ASIP-SANTE-INS-NIR', insOid: '1.2.250.1.213.1.4.10', birthDate: BERNARD.birthDate, sex: 'M' },
  });
  await run('storescu', ['-aet', 'MODALITY', '-aec', pacs.aeTitle, '+sd', '+r', '127.0.0.1', String(pacs.dicomPort), dir], {
    env: { ...process.env, TCP_NODELAY: '1' },
    maxBuffer: 1 << 26,
    timeout: 120_000,
  });
  return { studyInstanceUid: study.studyInstanceUid, files: study.files };
}

/** The validated report, from the RIS to the source box over MLLP; resolves once the box ACKed it (AA). */
export async function sendReport(hl7Port: number, studyInstanceUid: string, accession: string): Promise<void> {
  const report = oruForStudy({ studyUid: studyInstanceUid, patient: BERNARD, accession, controlId: `DEMO-${accession}-${Date.now()}` });
  const ack = readAck(await sendMllp('127.0.0.1', hl7Port, report, { timeoutMs: 10_000 }));
  if (ack.code !== 'AA') throw new Error(`the RIS got ${ack.code} for report ${accession}: ${ack.text}`);
}

/** Every manifest (KOS) the DMP holds for a study, whatever its status. */
export function kosEntriesAtDmp(dmp: DmpSimulator, studyInstanceUid: string): EntryRow[] {
  return dmp.db.allEntries().filter((e) => e.kind === 'kos' && e.reference_ids.includes(studyInstanceUid));
}

/** Waits until the DMP holds an approved manifest for the study; its SOP Instance UID is the entry's uniqueId. */
export async function publishedAtDmp(dmp: () => DmpSimulator, studyInstanceUid: string, timeoutMs = PUBLICATION_TIMEOUT_MS): Promise<{ sopInstanceUid: string }> {
  let kos: string | undefined;
  await waitFor(
    async () => {
      kos = kosEntriesAtDmp(dmp(), studyInstanceUid).find((e) => e.status === 'Approved')?.unique_id;
      return kos !== undefined;
    },
    timeoutMs,
    `the DMP to hold the manifest of study ${studyInstanceUid}`,
  );
  return { sopInstanceUid: kos! };
}
