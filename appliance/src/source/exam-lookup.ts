import type { PacsBridge } from '../dimse/types.js';
import type { DicomJson } from '../dicom/model.js';
import { PacsError } from '../dimse/types.js';
import { KOS_SOP_CLASS_UID, type KosInstanceRef, type KosSeriesRef, type KosStudy } from '../dicom/kos/index.js';
import type { PacsPatient } from './patient-check.js';

export type ExamInstance = KosInstanceRef;
export type ExamSeries = KosSeriesRef;

/** The exam as the PACS knows it: what a KOS is built from, plus what the source side checks. */
export interface Exam extends KosStudy {
  accessionNumber?: string;
  instanceCount: number;
  /** The study's patient as the PACS knows it (checked against the report's before publishing). */
  patient: PacsPatient;
}

const TAG = {
  PatientName: '00100010',
  PatientID: '00100020',
  IssuerOfPatientID: '00100021',
  PatientBirthDate: '00100030',
  StudyDate: '00080020',
  StudyTime: '00080030',
  AccessionNumber: '00080050',
  Modality: '00080060',
  ReferringPhysicianName: '00080090',
  StudyDescription: '00081030',
  SeriesDescription: '0008103E',
  SOPClassUID: '00080016',
  SOPInstanceUID: '00080018',
  StudyInstanceUID: '0020000D',
  SeriesInstanceUID: '0020000E',
  StudyID: '00200010',
  SeriesNumber: '00200011',
  InstanceNumber: '00200013',
} as const;

function str(ds: DicomJson, tag: string): string | undefined {
  const v = ds[tag]?.Value?.[0];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object' && 'Alphabetic' in (v as object)) return String((v as { Alphabetic?: string }).Alphabetic ?? '') || undefined;
  const s = String(v).trim();
  return s === '' ? undefined : s;
}

function num(ds: DicomJson, tag: string): number | undefined {
  const s = str(ds, tag);
  const n = s === undefined ? NaN : Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Finds an exam and every instance of it in the PACS: a study-level C-FIND and, at the same time, an image-level C-FIND
 * keyed on the study (streamed, grouped by series as it arrives); PACS that insist on the strict hierarchy
 * get a series-level query and one image-level query per series instead.
 */
export async function lookupExam(bridge: PacsBridge, studyInstanceUid: string, signal?: AbortSignal): Promise<Exam | undefined> {
  const series = new Map<string, ExamSeries>();
  const add = (ds: DicomJson, seriesUid: string) => {
    const sopInstanceUid = str(ds, TAG.SOPInstanceUID);
    const sopClassUid = str(ds, TAG.SOPClassUID);
    // Manifests and IOCM notes (Key Object Selection Documents) are never listed as exam content.
    if (!sopInstanceUid || !sopClassUid || sopClassUid === KOS_SOP_CLASS_UID) return;
    let s = series.get(seriesUid);
    if (!s) {
      s = { seriesInstanceUid: seriesUid, modality: str(ds, TAG.Modality), seriesNumber: num(ds, TAG.SeriesNumber), seriesDescription: str(ds, TAG.SeriesDescription), instances: [] };
      series.set(seriesUid, s);
    }
    s.instances.push({ sopClassUid, sopInstanceUid, instanceNumber: num(ds, TAG.InstanceNumber) });
  };

  const studyQuery = (async () => {
    let first: DicomJson | undefined;
    for await (const ds of bridge.find(
      {
        level: 'STUDY',
        keys: {
          StudyInstanceUID: studyInstanceUid,
          StudyDate: '',
          StudyTime: '',
          StudyDescription: '',
          StudyID: '',
          ReferringPhysicianName: '',
          AccessionNumber: '',
          PatientID: '',
          IssuerOfPatientID: '',
          PatientName: '',
          PatientBirthDate: '',
        },
      },
      signal,
    )) {
      first ??= ds;
    }
    return first;
  })();
  // Both queries run at once on two associations: the image-level one is the long one.
  const [study] = await Promise.all([studyQuery, findInstances(bridge, studyInstanceUid, add, () => series.clear(), signal)]);
  if (!study) return undefined;

  const list = [...series.values()].sort((a, b) => (a.seriesNumber ?? 0) - (b.seriesNumber ?? 0));
  for (const s of list) s.instances.sort((a, b) => (a.instanceNumber ?? 0) - (b.instanceNumber ?? 0));
  return {
    studyInstanceUid,
    studyDate: str(study, TAG.StudyDate),
    studyTime: str(study, TAG.StudyTime),
    studyDescription: str(study, TAG.StudyDescription),
    studyId: str(study, TAG.StudyID),
    referringPhysicianName: str(study, TAG.ReferringPhysicianName),
    accessionNumber: str(study, TAG.AccessionNumber),
    series: list,
    instanceCount: list.reduce((n, s) => n + s.instances.length, 0),
    patient: { id: str(study, TAG.PatientID), issuer: str(study, TAG.IssuerOfPatientID), name: str(study, TAG.PatientName), birthDate: str(study, TAG.PatientBirthDate) },
  };
}

const IMAGE_KEYS = { SeriesInstanceUID: '', SOPClassUID: '', SOPInstanceUID: '', InstanceNumber: '', Modality: '', SeriesNumber: '', SeriesDescription: '' };

async function findInstances(
  bridge: PacsBridge,
  studyInstanceUid: string,
  add: (ds: DicomJson, seriesUid: string) => void,
  reset: () => void,
  signal?: AbortSignal,
): Promise<void> {
  try {
    for await (const ds of bridge.find({ level: 'IMAGE', keys: { StudyInstanceUID: studyInstanceUid, ...IMAGE_KEYS } }, signal)) {
      const seriesUid = str(ds, TAG.SeriesInstanceUID);
      if (seriesUid) add(ds, seriesUid);
    }
  } catch (err) {
    if (!(err instanceof PacsError) || (err.kind !== 'failed' && err.kind !== 'refused')) throw err;
    reset();
    const seriesList: DicomJson[] = [];
    for await (const ds of bridge.find({ level: 'SERIES', keys: { StudyInstanceUID: studyInstanceUid, SeriesInstanceUID: '', Modality: '', SeriesNumber: '', SeriesDescription: '' } }, signal)) {
      seriesList.push(ds);
    }
    for (const s of seriesList) {
      const seriesUid = str(s, TAG.SeriesInstanceUID);
      if (!seriesUid) continue;
      for await (const ds of bridge.find({ level: 'IMAGE', keys: { StudyInstanceUID: studyInstanceUid, SeriesInstanceUID: seriesUid, SOPClassUID: '', SOPInstanceUID: '', InstanceNumber: '' } }, signal)) {
        add({ ...s, ...ds }, seriesUid);
      }
    }
  }
}
