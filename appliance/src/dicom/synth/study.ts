import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createUid } from '../uid.js';
import { seriesAttributes, studyAttributes, type SeriesIdentity } from './modules.js';
import { planStudy, type StudyPlan } from './options.js';
import { Part10Encoder, pixelBytes, writeFileParts } from './part10.js';
import type { SynthInstance, SynthOptions, SynthResult, SynthSeries } from './types.js';

/** Files being written while the next ones are rendered (libuv runs 4 file system threads by default). */
const PIPELINE_DEPTH = 4;

/** Minutes between the starts of consecutive series. */
const SERIES_INTERVAL_MIN = 4;

/**
 * Writes a synthetic study to `outDir/series-NN/NNNNN.dcm`, file by file: images are rendered while the
 * previous ones are being written, and only PIPELINE_DEPTH pixel buffers ever exist.
 */
export async function synthesizeStudy(options: SynthOptions): Promise<SynthResult> {
  const plan = planStudy(options);
  await mkdir(plan.outDir, { recursive: true });
  const total = plan.seriesSizes.reduce((a, b) => a + b, 0);
  const frameOfReferenceUid = plan.profile.hasFrameOfReference ? createUid(plan.uidRoot, plan.uidRandom) : undefined;
  const study = studyAttributes(plan);
  const series: SynthSeries[] = [];
  const files: string[] = [];
  let done = 0;

  for (const [seriesIndex, instanceCount] of plan.seriesSizes.entries()) {
    const identity: SeriesIdentity = {
      seriesInstanceUid: createUid(plan.uidRoot, plan.uidRandom),
      seriesNumber: seriesIndex + 1,
      seriesDate: new Date(plan.studyDate.getTime() + seriesIndex * SERIES_INTERVAL_MIN * 60_000),
      ...(frameOfReferenceUid !== undefined && { frameOfReferenceUid }),
    };
    const dir = join(plan.outDir, `series-${String(identity.seriesNumber).padStart(2, '0')}`);
    await mkdir(dir, { recursive: true });
    const instances = await writeSeries(plan, study, identity, seriesIndex, instanceCount, dir, () => {
      done += 1;
      plan.onProgress?.(done, total);
    });
    series.push({ seriesInstanceUid: identity.seriesInstanceUid, modality: plan.profile.modality, instances });
    for (const i of instances) files.push(i.path);
  }
  return { studyInstanceUid: plan.studyInstanceUid, accessionNumber: plan.accessionNumber, patient: plan.patient, series, files };
}

async function writeSeries(
  plan: StudyPlan,
  study: Record<string, unknown>,
  identity: SeriesIdentity,
  seriesIndex: number,
  instanceCount: number,
  dir: string,
  onWritten: () => void,
): Promise<SynthInstance[]> {
  const generator = plan.profile.createSeries({
    seriesIndex,
    seriesNumber: identity.seriesNumber,
    instanceCount,
    rows: plan.rows,
    columns: plan.columns,
    random: plan.pixelRandom.fork(),
  });
  const encoder = new Part10Encoder(plan.transferSyntaxUid, plan.charset, {
    ...study,
    ...seriesAttributes(plan, identity),
    ...generator.attributes,
  });
  const pixelCount = plan.rows * plan.columns;
  const buffers = Array.from({ length: PIPELINE_DEPTH }, () => new Uint16Array(pixelCount));
  const writes: (Promise<void> | undefined)[] = new Array<Promise<void> | undefined>(PIPELINE_DEPTH);
  const pixelHeader = encoder.pixelDataElementHeader(pixelCount * 2);
  const digits = Math.max(5, String(instanceCount).length);
  const instances: SynthInstance[] = [];

  try {
    for (let k = 0; k < instanceCount; k++) {
      const slot = k % PIPELINE_DEPTH;
      // A buffer is reused only once the file made from it has been written.
      await writes[slot];
      const pixels = buffers[slot]!;
      const varying = generator.renderInstance(k, pixels);
      const sopInstanceUid = createUid(plan.uidRoot, plan.uidRandom);
      const header = encoder.header({ ...varying, SOPInstanceUID: sopInstanceUid, InstanceNumber: k + 1 });
      const path = join(dir, `${String(k + 1).padStart(digits, '0')}.dcm`);
      const write = writeFileParts(path, [...header, pixelHeader, pixelBytes(pixels)]).then(onWritten);
      // Awaited later (when its slot comes round): mark it handled now so a failure cannot crash the process first.
      write.catch(() => undefined);
      writes[slot] = write;
      instances.push({ sopInstanceUid, sopClassUid: plan.profile.sopClassUid, path });
    }
    await Promise.all(writes);
  } catch (err) {
    await Promise.allSettled(writes);
    throw err;
  }
  return instances;
}
