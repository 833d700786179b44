/** Reading PS3.18 F.2 DICOM JSON as served by QIDO-RS and WADO-RS metadata: tolerant of missing values, never throws. */

export interface DicomJsonAttribute {
  vr?: string;
  Value?: unknown[];
  BulkDataURI?: string;
  InlineBinary?: string;
}
export type DicomJsonDataset = Record<string, DicomJsonAttribute | undefined>;

export const TAG = {
  PatientName: '00100010',
  PatientBirthDate: '00100030',
  PatientSex: '00100040',
  StudyDate: '00080020',
  StudyDescription: '00081030',
  InstitutionName: '00080080',
  Modality: '00080060',
  SeriesInstanceUID: '0020000E',
  SeriesNumber: '00200011',
  SeriesDescription: '0008103E',
  NumberOfSeriesRelatedInstances: '00201209',
  SOPInstanceUID: '00080018',
  SOPClassUID: '00080016',
  InstanceNumber: '00200013',
  ImagePositionPatient: '00200032',
  ImageOrientationPatient: '00200037',
  NumberOfFrames: '00280008',
  Rows: '00280010',
  Columns: '00280011',
  PixelSpacing: '00280030',
  WindowCenter: '00281050',
  WindowWidth: '00281051',
  SamplesPerPixel: '00280002',
  PhotometricInterpretation: '00280004',
  PlanarConfiguration: '00280006',
  BitsAllocated: '00280100',
  BitsStored: '00280101',
  TransferSyntaxUID: '00020010',
  SliceLocation: '00201041',
  SliceThickness: '00180050',
  FrameTime: '00181063',
  RecommendedDisplayFrameRate: '00082144',
  CineRate: '00180040',
  PatientID: '00100020',
  SeriesDate: '00080021',
  AcquisitionTime: '00080032',
  RedPaletteLUTData: '00281201',
  GreenPaletteLUTData: '00281202',
  BluePaletteLUTData: '00281203',
  RedPaletteLUTDescriptor: '00281101',
  ConceptNameCodeSequence: '0040A043',
  CodeValue: '00080100',
  ContentSequence: '0040A730',
  ReferencedSOPSequence: '00081199',
  ReferencedSOPInstanceUID: '00081155',
  CurrentRequestedProcedureEvidenceSequence: '0040A375',
  ReferencedSeriesSequence: '00081115',
} as const;

/** Items of a sequence attribute (never throws on a malformed one). */
export function items(ds: DicomJsonDataset, tag: string): DicomJsonDataset[] {
  const values = ds[tag]?.Value;
  return Array.isArray(values) ? values.filter((v): v is DicomJsonDataset => v !== null && typeof v === 'object' && !Array.isArray(v)) : [];
}

export function first(ds: DicomJsonDataset, tag: string): unknown {
  return ds[tag]?.Value?.[0];
}

export function str(ds: DicomJsonDataset, tag: string): string | undefined {
  const v = first(ds, tag);
  if (typeof v === 'string') return v.trim() || undefined;
  if (typeof v === 'number') return String(v);
  return undefined;
}

export function num(ds: DicomJsonDataset, tag: string): number | undefined {
  const v = first(ds, tag);
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

export function nums(ds: DicomJsonDataset, tag: string): number[] | undefined {
  const values = ds[tag]?.Value;
  if (!values || values.length === 0) return undefined;
  const out = values.map((v) => (typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN));
  return out.every(Number.isFinite) ? out : undefined;
}

/** PN in JSON is `{ Alphabetic, Ideographic, Phonetic }` (PS3.18 F.2.2); the alphabetic group is the one to show. */
export function personName(ds: DicomJsonDataset, tag: string): string | undefined {
  const v = first(ds, tag);
  if (typeof v === 'string') return v.trim() || undefined;
  if (v !== null && typeof v === 'object' && 'Alphabetic' in v) {
    const a = (v as { Alphabetic?: unknown }).Alphabetic;
    return typeof a === 'string' && a.trim() !== '' ? a.trim() : undefined;
  }
  return undefined;
}
