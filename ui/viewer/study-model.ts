import { TAG, num, nums, personName, str, type DicomJsonDataset } from './dicom-json.js';

/** What the page shows of a study, built from QIDO-RS and WADO-RS metadata answers (pure: unit-tested). */

export interface StudyBanner {
  patientName?: string;
  birthDate?: string;
  sex?: string;
  studyDate?: string;
  studyDescription?: string;
  institution?: string;
}

export interface SeriesSummary {
  seriesInstanceUid: string;
  seriesNumber?: number;
  description?: string;
  modality?: string;
  instanceCount?: number;
}

/** One displayable frame: a single-frame instance, or frame `frame` of a multi-frame one. */
export interface StackFrame {
  sopInstanceUid: string;
  frame: number;
  metadata: DicomJsonDataset;
}

export function bannerOf(instance: DicomJsonDataset | undefined): StudyBanner {
  if (!instance) return {};
  return {
    patientName: personName(instance, TAG.PatientName),
    birthDate: str(instance, TAG.PatientBirthDate),
    sex: str(instance, TAG.PatientSex),
    studyDate: str(instance, TAG.StudyDate),
    studyDescription: str(instance, TAG.StudyDescription),
    institution: str(instance, TAG.InstitutionName),
  };
}

/** Modalities with no pixel data to show (structured reports, key objects, presentation states...). */
const NON_IMAGE_MODALITIES = new Set(['SR', 'KO', 'PR', 'DOC', 'RWV', 'REG', 'SEG', 'RTSTRUCT', 'RTPLAN']);

export function seriesSummaries(qido: DicomJsonDataset[]): SeriesSummary[] {
  const out: SeriesSummary[] = [];
  for (const ds of qido) {
    const uid = str(ds, TAG.SeriesInstanceUID);
    if (!uid) continue;
    const modality = str(ds, TAG.Modality);
    if (modality && NON_IMAGE_MODALITIES.has(modality.toUpperCase())) continue;
    out.push({
      seriesInstanceUid: uid,
      seriesNumber: num(ds, TAG.SeriesNumber),
      description: str(ds, TAG.SeriesDescription),
      modality,
      instanceCount: num(ds, TAG.NumberOfSeriesRelatedInstances),
    });
  }
  return out.sort((a, b) => (a.seriesNumber ?? Infinity) - (b.seriesNumber ?? Infinity) || (a.description ?? '').localeCompare(b.description ?? ''));
}

/** Distance along the slice normal, when position and orientation are both there. */
export function positionAlongNormal(ds: DicomJsonDataset): number | undefined {
  const ipp = nums(ds, TAG.ImagePositionPatient);
  const iop = nums(ds, TAG.ImageOrientationPatient);
  if (ipp?.length !== 3 || iop?.length !== 6) return undefined;
  const [r0, r1, r2, c0, c1, c2] = iop as [number, number, number, number, number, number];
  const n = [r1 * c2 - r2 * c1, r2 * c0 - r0 * c2, r0 * c1 - r1 * c0];
  return ipp[0]! * n[0]! + ipp[1]! * n[1]! + ipp[2]! * n[2]!;
}

/**
 * Frames of a series in display order: instance number first (what the modality meant), position along the
 * normal to break ties, SOP Instance UID last so the order never depends on the server's.
 */
export function stackFrames(metadata: DicomJsonDataset[]): StackFrame[] {
  const images = metadata
    .map((ds) => ({ ds, sop: str(ds, TAG.SOPInstanceUID), rows: num(ds, TAG.Rows) }))
    .filter((x): x is { ds: DicomJsonDataset; sop: string; rows: number } => x.sop !== undefined && x.rows !== undefined && x.rows > 0)
    .map((x) => ({ ...x, n: num(x.ds, TAG.InstanceNumber), z: positionAlongNormal(x.ds) }));
  images.sort((a, b) => (a.n ?? Infinity) - (b.n ?? Infinity) || (a.z ?? 0) - (b.z ?? 0) || a.sop.localeCompare(b.sop));
  const frames: StackFrame[] = [];
  for (const img of images) {
    const count = Math.max(1, Math.floor(num(img.ds, TAG.NumberOfFrames) ?? 1));
    for (let f = 1; f <= count; f++) frames.push({ sopInstanceUid: img.sop, frame: f, metadata: img.ds });
  }
  return frames;
}

/** Index of the frame to open on: the middle of the stack, where a head CT shows the brain. */
export function initialIndex(count: number): number {
  return count <= 0 ? 0 : Math.floor((count - 1) / 2);
}
