import { copyFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PacsError, type FindQuery, type PacsBridge, type RetrieveOptions, type RetrieveResult } from '../../appliance/src/dimse/types.js';
import type { DicomJson, RetrieveTarget } from '../../appliance/src/dicom/model.js';

/**
 * A PacsBridge over files already on disk, for unit tests of the DICOMweb layer: C-FIND answers come from a
 * table, retrievals copy the files one by one (with a small delay, so a test can leave in the middle) and honour
 * the abort signal like the real bridge. Every call is recorded.
 */

export interface FakeInstance {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid?: string;
  transferSyntaxUid: string;
  path: string;
}

export class FakeBridge implements PacsBridge {
  readonly finds: FindQuery[] = [];
  readonly retrieves: { target: RetrieveTarget; signal?: AbortSignal; outcome?: 'done' | 'cancelled' }[] = [];
  /** C-FIND rows per level (already DICOM JSON, as the real bridge yields them). */
  rows: Record<string, DicomJson[]> = { STUDY: [], SERIES: [], IMAGE: [] };
  delayMs = 2;

  constructor(public instances: FakeInstance[]) {}

  echo(): Promise<void> {
    return Promise.resolve();
  }

  async *find(query: FindQuery, signal?: AbortSignal): AsyncIterable<DicomJson> {
    this.finds.push(query);
    const st = query.keys.StudyInstanceUID;
    const se = query.keys.SeriesInstanceUID;
    for (const row of this.rows[query.level] ?? []) {
      if (signal?.aborted) throw new PacsError('cancelled', 'C-FIND cancelled');
      if (st && row['0020000D']?.Value?.[0] !== st) continue;
      if (se && !se.includes('\\') && row['0020000E']?.Value?.[0] !== se) continue;
      yield structuredClone(row);
    }
  }

  async retrieve(target: RetrieveTarget, options: RetrieveOptions): Promise<RetrieveResult> {
    const record: (typeof this.retrieves)[number] = { target, signal: options.signal };
    this.retrieves.push(record);
    const wanted = this.instances.filter(
      (i) =>
        i.studyInstanceUid === target.studyInstanceUid &&
        (target.level === 'STUDY' || i.seriesInstanceUid === target.seriesInstanceUid) &&
        (target.level !== 'IMAGE' || i.sopInstanceUid === target.sopInstanceUid),
    );
    let completed = 0;
    for (const instance of wanted) {
      await new Promise((r) => setTimeout(r, this.delayMs));
      if (options.signal?.aborted) {
        record.outcome = 'cancelled';
        throw new PacsError('cancelled', 'retrieve cancelled');
      }
      const path = join(options.outDir, `${instance.sopInstanceUid}.dcm`);
      await copyFile(instance.path, path);
      const { size } = await stat(path);
      await options.onInstance?.({ sopClassUid: instance.sopClassUid ?? '', sopInstanceUid: instance.sopInstanceUid, transferSyntaxUid: instance.transferSyntaxUid, path, bytes: size });
      completed++;
    }
    record.outcome = 'done';
    return { completed, failed: 0, warning: 0, instances: completed, failedSopInstanceUids: [] };
  }

  store(): Promise<never> {
    return Promise.reject(new Error('not used'));
  }
}

export const uiJson = (uid: string) => ({ vr: 'UI', Value: [uid] });

/** C-FIND rows a PACS would give for these instances. */
export function rowsFor(instances: FakeInstance[], extra: { patientName?: string; charset?: string } = {}): Record<string, DicomJson[]> {
  const studies = [...new Set(instances.map((i) => i.studyInstanceUid))];
  const series = [...new Set(instances.map((i) => `${i.studyInstanceUid}|${i.seriesInstanceUid}`))];
  const study = (st: string): DicomJson => ({
    ...(extra.charset ? { '00080005': { vr: 'CS', Value: [extra.charset] } } : {}),
    '0020000D': uiJson(st),
    '00100010': { vr: 'PN', Value: [{ Alphabetic: extra.patientName ?? 'TEST^PATIENT' }] },
    '00201208': { vr: 'IS', Value: [instances.filter((i) => i.studyInstanceUid === st).length] },
  });
  return {
    STUDY: studies.map(study),
    SERIES: series.map((key) => {
      const [st, se] = key.split('|') as [string, string];
      return { '0020000D': uiJson(st), '0020000E': uiJson(se), '00201209': { vr: 'IS', Value: [instances.filter((i) => i.seriesInstanceUid === se).length] } };
    }),
    IMAGE: instances.map((i) => ({ '0020000D': uiJson(i.studyInstanceUid), '0020000E': uiJson(i.seriesInstanceUid), '00080018': uiJson(i.sopInstanceUid) })),
  };
}
