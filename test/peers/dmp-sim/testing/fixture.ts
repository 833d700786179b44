import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../../../fixtures/pki/make-test-pki.js';
import { startDmpSimulator, type DmpSimulator, type DmpSimulatorOptions } from '../simulator.js';
import { buildKos, newUid } from './kos.js';
import type { Tls } from './client.js';
import type { Caller, KosSubmission, Patient } from './requests.js';

/** The structure id in the OU of the project's test PKI certificates (test/fixtures/pki). */
export const STRUCTURE_ID = '499700367909006';
/** A test INS (INS-NIR de test OID); its key is valid. */
export const PATIENT: Patient = { ins: '279035121518989', insOid: '1.2.250.1.213.1.4.10' };
export const OTHER_PATIENT: Patient = { ins: '162018885045327', insOid: '1.2.250.1.213.1.4.10' };

export interface TestDmp {
  sim: DmpSimulator;
  dir: string;
  /** The project's test PKI (test/fixtures/pki/make-test-pki.ts): its CA is the simulator's. Fields are file paths. */
  pki: TestPki;
  /** The box's mTLS identity (ORG AUTH_CLI with OU = structure id). */
  tls: Tls;
  caller: Caller;
  newKos(patient?: Patient): KosSubmission;
  close(): Promise<void>;
}

export async function startTestDmp(options: Partial<DmpSimulatorOptions> = {}): Promise<TestDmp> {
  const dir = mkdtempSync(join(tmpdir(), 'dmp-sim-test-'));
  const pki = makeTestPki(join(dir, 'test-pki'));
  const read = (path: string) => readFileSync(path, 'utf8');
  if (pki.structureId !== STRUCTURE_ID) throw new Error(`test PKI structure id ${pki.structureId} is not ${STRUCTURE_ID}`);
  const sim = await startDmpSimulator({ dataDir: dir, ca: { certPem: read(pki.ca.certPem), keyPem: read(pki.ca.keyPem) }, ...options });
  const signer = { certPem: read(pki.signature.certPem), keyPem: read(pki.signature.keyPem) };
  return {
    sim,
    dir,
    pki,
    tls: { ca: sim.caCertPem, cert: read(pki.authClient.certPem), key: read(pki.authClient.keyPem) },
    caller: { signer, structureId: STRUCTURE_ID, patient: PATIENT },
    newKos(patient = PATIENT) {
      const studyUid = newUid();
      const kos = buildKos({ ins: patient.ins, insOid: patient.insOid, studyInstanceUid: studyUid, accession: 'ACC-42', accessionIssuer: '1.2.250.1.999.3' });
      return { kos: kos.bytes, kosUid: kos.sopInstanceUid, studyUid, accession: 'ACC-42', accessionIssuer: '1.2.250.1.999.3' };
    },
    async close() {
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
