import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readInteger, readString } from '../dataset/elements.js';
import { readPart10Header } from '../dataset/part10.js';
import type { KosSeriesRef, KosStudy } from './types.js';

/** Media Storage Directory (DICOMDIR): an index, not an instance of the exam. */
const DICOMDIR_SOP_CLASS = '1.2.840.10008.1.3.10';

export interface StudyFromFiles {
  /** One per Study Instance UID found, series ordered by Series Number. */
  studies: KosStudy[];
  /** Files that are not DICOM instances, with the reason, so a technician sees what was left out. */
  skipped: { path: string; reason: string }[];
}

/** Regular files under `dir`, recursively; symbolic links are not followed, so nothing outside `dir` is read. */
async function* walk(dir: string): AsyncGenerator<string> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

/**
 * Lists the studies, series and instances of the Part-10 files under `dir`, reading each file's header only
 * (never its pixel data), a few files at a time.
 */
export async function studyFromFiles(dir: string, concurrency = 8): Promise<StudyFromFiles> {
  const studies = new Map<string, KosStudy & { seriesByUid: Map<string, KosSeriesRef> }>();
  const skipped: StudyFromFiles['skipped'] = [];

  const add = async (path: string) => {
    let header;
    try {
      header = await readPart10Header(path);
    } catch (err) {
      skipped.push({ path, reason: (err as Error).message.replace(`${path}: `, '') });
      return;
    }
    const ds = header.dataset;
    const sopClassUid = readString(ds, '00080016') ?? readString(header.meta, '00020002');
    const sopInstanceUid = readString(ds, '00080018') ?? readString(header.meta, '00020003');
    const studyUid = readString(ds, '0020000D');
    const seriesUid = readString(ds, '0020000E');
    if (sopClassUid === DICOMDIR_SOP_CLASS) return void skipped.push({ path, reason: 'DICOMDIR index' });
    if (!sopClassUid || !sopInstanceUid || !studyUid || !seriesUid) {
      return void skipped.push({ path, reason: 'missing SOP Class, SOP Instance, Study or Series Instance UID' });
    }
    let study = studies.get(studyUid);
    if (!study) {
      study = {
        studyInstanceUid: studyUid,
        studyDate: readString(ds, '00080020'),
        studyTime: readString(ds, '00080030'),
        studyDescription: readString(ds, '00081030'),
        studyId: readString(ds, '00200010'),
        referringPhysicianName: readString(ds, '00080090'),
        series: [],
        seriesByUid: new Map(),
      };
      studies.set(studyUid, study);
    }
    let series = study.seriesByUid.get(seriesUid);
    if (!series) {
      series = {
        seriesInstanceUid: seriesUid,
        modality: readString(ds, '00080060'),
        seriesNumber: readInteger(ds, '00200011'),
        seriesDescription: readString(ds, '0008103E'),
        instances: [],
      };
      study.seriesByUid.set(seriesUid, series);
      study.series.push(series);
    }
    series.instances.push({ sopClassUid, sopInstanceUid, instanceNumber: readInteger(ds, '00200013') });
  };

  const running = new Set<Promise<void>>();
  for await (const path of walk(dir)) {
    const task: Promise<void> = add(path).finally(() => running.delete(task));
    running.add(task);
    if (running.size >= concurrency) await Promise.race(running);
  }
  await Promise.all(running);

  return {
    studies: [...studies.values()].map(({ seriesByUid: _, ...study }) => ({
      ...study,
      series: study.series.sort((a, b) => (a.seriesNumber ?? Infinity) - (b.seriesNumber ?? Infinity) || a.seriesInstanceUid.localeCompare(b.seriesInstanceUid)),
    })),
    skipped,
  };
}
