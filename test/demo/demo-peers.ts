/** The demo's peers: the two practices' PACS (Orthanc), the DMP and Pro Santé Connect simulators. */
import { join } from 'node:path';
import { startDmpForBox } from '../peers/dmp-for-box.js';
import { startDmpSimulator, type DmpSimulator } from '../peers/dmp-sim/simulator.js';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { startPscSimulator, type PscSimulator } from '../peers/psc-sim/server.js';
import { pscClients, type BoxPorts } from './box-configs.js';

/** A practice's PACS, which knows its box as a DICOM modality (C-MOVE destination, C-STORE peer). */
export function startPacs(aeTitle: string, box: { aeTitle: string; dimsePort: number }): Promise<OrthancPeer> {
  return startOrthanc({ aeTitle, modalities: { drimbox: { aeTitle: box.aeTitle, host: '127.0.0.1', port: box.dimsePort } } });
}

/** The DMP simulator in `work/dmp`, with the boxes' certificates issued by its CA and their `xds` section. */
export function startDmp(work: string): Promise<{ sim: DmpSimulator; xds: Record<string, unknown> }> {
  return startDmpForBox(dmpDir(work));
}

/**
 * The DMP back after an outage: the same data folder (its registry, its CA, so the boxes' certificates still
 * verify) on the same port, where the boxes' configuration points.
 */
export function restartDmp(work: string, port: number): Promise<DmpSimulator> {
  return startDmpSimulator({ dataDir: dmpDir(work), port });
}

function dmpDir(work: string): string {
  return join(work, 'dmp');
}

export function startPsc(ports: { source: BoxPorts; consumer: BoxPorts }): Promise<PscSimulator> {
  return startPscSimulator({ clients: pscClients(ports), accessTokenTtlSeconds: 3600 });
}
