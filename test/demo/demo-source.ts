/**
 * The demo's source box « Saint-Pierre », in this process or from the shipped image; the rest of the story sees
 * only its ports and its publication.
 */
import { loadConfig } from '../../appliance/src/config/load.js';
import { startBox } from '../../appliance/src/start-box.js';
import type { DmpSimulator } from '../peers/dmp-sim/simulator.js';
import { waitFor } from '../peers/ports.js';
import { startContainerBox } from './container-box.js';

export interface DemoSource {
  /** The published manifest of the study, once the DMP has it. */
  published(studyInstanceUid: string): Promise<{ sopInstanceUid: string }>;
  stop(): Promise<void>;
}

const PUBLICATION_TIMEOUT_MS = 60_000;

export async function startSourceInProcess(dataDir: string, overrides: Record<string, unknown>): Promise<DemoSource> {
  const box = await startBox(loadConfig({ env: {}, overrides: { ...overrides, dataDir } as never }));
  return {
    published: async (studyInstanceUid) => {
      await waitFor(async () => box.outbox.counts().done === 1, PUBLICATION_TIMEOUT_MS, 'publication to the DMP');
      return { sopInstanceUid: box.archive.activeForStudy(studyInstanceUid)!.sopInstanceUid };
    },
    stop: () => box.stop(),
  };
}

/** The certificates of the `xds` section the DMP simulator issued: copied into the container's volume. */
const XDS_FILES = ['caFile', 'tlsP12File', 'signatureP12File'] as const;

export async function startSourceInContainer(image: string, dataDir: string, overrides: Record<string, unknown>, dmp: DmpSimulator): Promise<DemoSource> {
  const xds = overrides.xds as Record<string, string>;
  const files = Object.fromEntries(XDS_FILES.map((k) => [k, xds[k]!]));
  const box = await startContainerBox(image, dataDir, overrides, files);
  return {
    // The DMP's registry is the witness: the box in its container is seen only through what it sent.
    published: async (studyInstanceUid) => {
      let kos: string | undefined;
      await waitFor(
        async () => {
          kos = dmp.db.allEntries().find((e) => e.kind === 'kos' && e.status === 'Approved' && e.reference_ids.includes(studyInstanceUid))?.unique_id;
          return kos !== undefined;
        },
        PUBLICATION_TIMEOUT_MS,
        'publication to the DMP by the box in its container',
      ).catch(async (err: Error) => {
        throw new Error(`${err.message}\n${await box.logs()}`);
      });
      return { sopInstanceUid: kos! };
    },
    stop: () => box.stop(),
  };
}
