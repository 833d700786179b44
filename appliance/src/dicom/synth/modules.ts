import { formatAge, formatDate, formatTime } from './format.js';
import type { StudyPlan } from './options.js';

export const MANUFACTURER = 'DRIMbox';
export const SOFTWARE_VERSION = 'drimbox-synth 1';

export interface SeriesIdentity {
  seriesInstanceUid: string;
  seriesNumber: number;
  seriesDate: Date;
  frameOfReferenceUid?: string;
}

/** Patient (C.7.1.1), General Study (C.7.2.1), Patient Study (C.7.2.2), General Equipment (C.7.5.1), SOP Common charset. */
export function studyAttributes(plan: StudyPlan): Record<string, unknown> {
  const { patient } = plan;
  return {
    SpecificCharacterSet: plan.charset,
    PatientName: patient.name,
    PatientID: patient.id,
    ...(patient.issuer !== undefined && { IssuerOfPatientID: patient.issuer }),
    // ci-sis-imaging.md §1.2: the INS OID travels as Universal Entity ID, type ISO.
    ...(patient.insOid !== undefined && {
      IssuerOfPatientIDQualifiersSequence: [{ UniversalEntityID: patient.insOid, UniversalEntityIDType: 'ISO' }],
    }),
    PatientBirthDate: patient.birthDate ?? '',
    PatientSex: patient.sex ?? '',
    ...(patient.birthDate !== undefined && { PatientAge: formatAge(patient.birthDate, plan.studyDate) }),
    StudyInstanceUID: plan.studyInstanceUid,
    StudyDate: formatDate(plan.studyDate),
    StudyTime: formatTime(plan.studyDate),
    ReferringPhysicianName: 'LEFÈVRE^François^^Dr',
    StudyID: plan.accessionNumber,
    AccessionNumber: plan.accessionNumber,
    StudyDescription: plan.studyDescription,
    Manufacturer: MANUFACTURER,
    InstitutionName: plan.institutionName,
    StationName: `SYNTH-${plan.profile.modality}`,
    ManufacturerModelName: `Synthetic ${plan.profile.modality}`,
    DeviceSerialNumber: '0001',
    SoftwareVersions: SOFTWARE_VERSION,
  };
}

/** General Series (C.7.3.1), Frame of Reference (C.7.4.1), General Acquisition and the dates of General Image. */
export function seriesAttributes(plan: StudyPlan, series: SeriesIdentity): Record<string, unknown> {
  const date = formatDate(series.seriesDate);
  const time = formatTime(series.seriesDate);
  return {
    Modality: plan.profile.modality,
    SOPClassUID: plan.profile.sopClassUid,
    SeriesInstanceUID: series.seriesInstanceUid,
    SeriesNumber: series.seriesNumber,
    SeriesDate: date,
    SeriesTime: time,
    AcquisitionDate: date,
    AcquisitionTime: time,
    ContentDate: date,
    ContentTime: time,
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    ...(series.frameOfReferenceUid !== undefined && { FrameOfReferenceUID: series.frameOfReferenceUid, PositionReferenceIndicator: '' }),
    // The pixels are a phantom: say so, so that nobody mistakes these files for a patient's. (Synthetic Data
    // (0008,001C) would say it better, but dicom3tools 2022 does not know it and reports an error.)
    ImageComments: 'Image de synthèse (fantôme de Shepp-Logan), pas un patient',
    BurnedInAnnotation: 'NO',
    LossyImageCompression: '00',
  };
}
