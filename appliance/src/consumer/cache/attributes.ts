import { instanceToDicomJson } from '../../dicomweb/dicom-json.js';
import { headerValues } from '../../dicomweb/header-values.js';
import type { Part10Layout } from '../../dicom/dataset/part10-scan.js';
import type { DicomJson } from '../../dicom/model.js';

/**
 * The attributes of a cached instance that QIDO answers with, per level (PS3.18 Tables 10.6.3-3 to -5 and a few
 * more the viewer uses), read from the file's header once when it enters the cache.
 */

const STUDY_TAGS = [
  '00080005', // SpecificCharacterSet (declared ISO_IR 192: JSON is UTF-8)
  '00080020', // StudyDate
  '00080030', // StudyTime
  '00080050', // AccessionNumber
  '00080080', // InstitutionName
  '00080090', // ReferringPhysicianName
  '00081030', // StudyDescription
  '00100010', // PatientName
  '00100020', // PatientID
  '00100021', // IssuerOfPatientID
  '00100030', // PatientBirthDate
  '00100040', // PatientSex
  '0020000D', // StudyInstanceUID
  '00200010', // StudyID
];

const SERIES_TAGS = [
  '00080021', // SeriesDate
  '00080031', // SeriesTime
  '00080060', // Modality
  '0008103E', // SeriesDescription
  '00180015', // BodyPartExamined
  '0020000D',
  '0020000E', // SeriesInstanceUID
  '00200011', // SeriesNumber
  '00200060', // Laterality
];

const INSTANCE_TAGS = [
  '00080008', // ImageType
  '00080016', // SOPClassUID
  '00080018', // SOPInstanceUID
  '0020000D',
  '0020000E',
  '00200013', // InstanceNumber
  '00280002', // SamplesPerPixel
  '00280004', // PhotometricInterpretation
  '00280008', // NumberOfFrames
  '00280010', // Rows
  '00280011', // Columns
  '00280100', // BitsAllocated
];

/** Every attribute the index keeps, at any level. */
export const INDEXED_TAGS: ReadonlySet<number> = new Set([...STUDY_TAGS, ...SERIES_TAGS, ...INSTANCE_TAGS].map((tag) => parseInt(tag, 16)));

function pick(json: DicomJson, tags: string[]): DicomJson {
  const out: DicomJson = {};
  for (const tag of tags) {
    const el = json[tag];
    if (el) out[tag] = el;
  }
  return out;
}

export interface IndexAttributes {
  study: DicomJson;
  series: DicomJson;
  instance: DicomJson;
  instanceNumber?: number;
}

/** `head`: the file's first bytes when still in memory (the header is then not read from the file). */
export async function indexAttributes(layout: Part10Layout, head?: Buffer): Promise<IndexAttributes> {
  // Straight from the received bytes when they are plain (nearly always): the general reading (dcmjs) was ~15 % of
  // the pull's CPU (test/bench/consumer-import-bench.ts).
  const plain = head && headerValues(layout, head, INDEXED_TAGS);
  if (plain) return attributesOf(plain);
  // A bulk URI placeholder keeps large binary values (icons, overlays) out of memory: they are not indexed. Only the
  // indexed attributes are decoded: a fraction of the header.
  return attributesOf(await instanceToDicomJson(layout, { bulkDataUri: () => 'not-indexed' }, { onlyTags: INDEXED_TAGS, head }));
}

function attributesOf(json: DicomJson): IndexAttributes {
  const n = json['00200013']?.Value?.[0];
  return {
    study: pick(json, STUDY_TAGS),
    series: pick(json, SERIES_TAGS),
    instance: pick(json, INSTANCE_TAGS),
    ...(typeof n === 'number' && Number.isInteger(n) ? { instanceNumber: n } : {}),
  };
}
