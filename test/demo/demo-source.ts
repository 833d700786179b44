/**
 * The demo's source box « Saint-Pierre », as its own process (default) or from the shipped image; either way the rest
 * of the story sees only its ports, and its publication through the DMP's registry.
 */
import type { DmpSimulator } from '../peers/dmp-sim/simulator.js';
import { boxProcess, type BoxProcess } from './box-process.js';
import { startContainerBox } from './container-box.js';
import { publishedAtDmp } from './demo-bed.js';

export interface DemoSource {
  /** The published manifest of the study, once the DMP has it. */
  published(studyInstanceUid: string): Promise<{ sopInstanceUid: string }>;
  stop(): Promise<void>;
}

/** `drimbox serve` on `dataDir/config.json`, its log in `logDir/saint-pierre.log`. */
export async function startSourceProcess(dataDir: string, logDir: string, config: Record<string, unknown>, dmp: DmpSimulator): Promise<DemoSource & { box: BoxProcess }> {
  const box = boxProcess({ name: 'saint-pierre', dataDir, logDir, config });
  await box.start();
  return {
    box,
    published: (studyInstanceUid) =>
      publishedAtDmp(() => dmp, studyInstanceUid).catch((err: Error) => {
        throw new Error(`${err.message}\nlog of the source box (${box.logFile}):\n${box.logTail()}`);
      }),
    stop: () => box.stop(),
  };
}

/** The certificates of the `xds` section the DMP simulator issued: copied into the container's volume. */
const XDS_FILES = ['caFile', 'tlsP12File', 'signatureP12File'] as const;

export async function startSourceInContainer(image: string, dataDir: string, config: Record<string, unknown>, dmp: DmpSimulator): Promise<DemoSource> {
  const xds = config.xds as Record<string, string>;
  const files = Object.fromEntries(XDS_FILES.map((k) => [k, xds[k]!]));
  const box = await startContainerBox(image, dataDir, config, files);
  return {
    // The DMP's registry is the witness: the box in its container is seen only through what it sent.
    published: (studyInstanceUid) =>
      publishedAtDmp(() => dmp, studyInstanceUid).catch(async (err: Error) => {
        throw new Error(`${err.message} (box in its container)\n${await box.logs()}`);
      }),
    stop: () => box.stop(),
  };
}
