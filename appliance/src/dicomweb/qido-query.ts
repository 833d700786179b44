import type { QueryLevel } from '../dicom/model.js';
import { DicomwebError } from './errors.js';
import { lookupAttribute, type Attribute } from './tags.js';

/**
 * QIDO-RS query parameters (PS3.18 §8.3.4): attribute matching by keyword or tag, `includefield` (repeated or
 * comma-separated, or `all`), `limit`, `offset`, `fuzzymatching`. Parsed strictly: an unknown attribute or
 * parameter is a 400, and values with control characters never reach the PACS.
 */

export interface QidoMatch {
  attribute: Attribute;
  value: string;
}

export interface QidoQuery {
  matches: QidoMatch[];
  includeAll: boolean;
  includeFields: Attribute[];
  limit?: number;
  offset: number;
  fuzzyMatching: boolean;
}

const MAX_VALUE = 1024;

function attribute(keyword: string): Attribute {
  const a = lookupAttribute(keyword);
  if (!a) throw new Error(`data dictionary lacks ${keyword}`);
  return a;
}

const list = (...keywords: string[]) => keywords.map(attribute);

/** Attributes returned by default per level (PS3.18 Tables 10.6.3-3, -4, -5), plus the UIDs above the level. */
export const DEFAULT_RETURN: Record<QueryLevel, Attribute[]> = {
  STUDY: list(
    'StudyDate', 'StudyTime', 'AccessionNumber', 'InstanceAvailability', 'ModalitiesInStudy', 'ReferringPhysicianName',
    'TimezoneOffsetFromUTC', 'PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'StudyInstanceUID', 'StudyID',
    'StudyDescription', 'NumberOfStudyRelatedSeries', 'NumberOfStudyRelatedInstances',
  ),
  SERIES: list(
    'StudyInstanceUID', 'Modality', 'TimezoneOffsetFromUTC', 'SeriesDescription', 'SeriesInstanceUID', 'SeriesNumber',
    'NumberOfSeriesRelatedInstances', 'PerformedProcedureStepStartDate', 'PerformedProcedureStepStartTime',
  ),
  IMAGE: list(
    'StudyInstanceUID', 'SeriesInstanceUID', 'SOPClassUID', 'SOPInstanceUID', 'InstanceAvailability', 'TimezoneOffsetFromUTC',
    'InstanceNumber', 'Rows', 'Columns', 'BitsAllocated', 'NumberOfFrames',
  ),
};

/** What `includefield=all` adds (attributes a PACS commonly answers at that level). */
const ALL_EXTRA: Record<QueryLevel, Attribute[]> = {
  STUDY: list('IssuerOfPatientID', 'OtherPatientIDs', 'PatientAge', 'InstitutionName', 'NameOfPhysiciansReadingStudy'),
  SERIES: list('SeriesDate', 'SeriesTime', 'BodyPartExamined', 'Laterality', 'ProtocolName', 'PerformingPhysicianName', 'StationName'),
  IMAGE: list('ContentDate', 'ContentTime', 'AcquisitionNumber', 'ImageType', 'PhotometricInterpretation', 'SamplesPerPixel', 'BitsStored'),
};

export function returnAttributes(level: QueryLevel, query: QidoQuery): Attribute[] {
  const out = [...DEFAULT_RETURN[level], ...(query.includeAll ? ALL_EXTRA[level] : []), ...query.includeFields];
  return out.filter((a, i) => out.findIndex((b) => b.tag === a.tag) === i);
}

function bad(message: string): DicomwebError {
  return new DicomwebError(400, message);
}

function parseCount(name: string, value: string, max: number): number {
  if (!/^[0-9]{1,9}$/.test(value)) throw bad(`${name} must be a non-negative integer`);
  return Math.min(Number(value), max);
}

export function parseQidoQuery(params: URLSearchParams, options: { maxLimit?: number } = {}): QidoQuery {
  const maxLimit = options.maxLimit ?? 10_000;
  const query: QidoQuery = { matches: [], includeAll: false, includeFields: [], offset: 0, fuzzyMatching: false };
  for (const [name, rawValue] of params) {
    const value = rawValue.trim();
    if (value.length > MAX_VALUE || /[\0-\x1f\x7f]/.test(rawValue)) throw bad(`query value of ${name} is too long or has control characters`);
    switch (name.toLowerCase()) {
      case 'limit':
        query.limit = parseCount('limit', value, maxLimit);
        continue;
      case 'offset':
        query.offset = parseCount('offset', value, Number.MAX_SAFE_INTEGER);
        continue;
      case 'fuzzymatching':
        if (value !== 'true' && value !== 'false') throw bad('fuzzymatching must be true or false');
        query.fuzzyMatching = value === 'true';
        continue;
      case 'includefield':
        for (const id of value.split(',').map((s) => s.trim()).filter(Boolean)) {
          if (id === 'all') query.includeAll = true;
          else {
            const a = lookupAttribute(id);
            if (!a) throw bad(`includefield: unknown attribute "${id}"`);
            query.includeFields.push(a);
          }
        }
        continue;
    }
    if (name.includes('.')) throw bad(`sequence matching (${name}) is not supported`);
    const a = lookupAttribute(name);
    if (!a) throw bad(`unknown query parameter or attribute "${name}"`);
    if (a.vr === 'SQ' || /^O[BDFLVW]$|^UN$/.test(a.vr)) throw bad(`matching on ${a.keyword} (${a.vr}) is not supported`);
    if (query.matches.some((m) => m.attribute.tag === a.tag)) throw bad(`${a.keyword} is given twice`);
    // A UID list is comma-separated in QIDO (PS3.18 §8.3.4.1) and backslash-separated in C-FIND (PS3.4 C.2.2.2.2).
    if (a.vr === 'UI' && value.includes('\\')) throw bad(`${a.keyword}: a UID list is comma-separated`);
    // UIDs are matched by list only: wild cards do not apply to UI (PS3.4 C.2.2.2.4); the PACS would refuse them.
    if (a.vr === 'UI' && value !== '' && !value.split(',').every((u) => /^[0-9.]{1,64}$/.test(u.trim()))) throw bad(`${a.keyword}: give UIDs (comma-separated), wild cards do not apply to UIDs`);
    query.matches.push({ attribute: a, value });
  }
  return query;
}

/** Query string for a PACS's own QIDO service, rebuilt from what was validated (nothing else passes). */
export function qidoQueryString(query: QidoQuery): string {
  const params = new URLSearchParams();
  for (const m of query.matches) params.append(m.attribute.keyword, m.value);
  if (query.includeAll) params.append('includefield', 'all');
  for (const a of query.includeFields) params.append('includefield', a.keyword);
  if (query.fuzzyMatching) params.append('fuzzymatching', 'true');
  if (query.limit !== undefined) params.append('limit', String(query.limit));
  if (query.offset) params.append('offset', String(query.offset));
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** C-FIND value of a QIDO match value. */
export function dimseMatchValue(match: QidoMatch): string {
  return match.attribute.vr === 'UI' ? match.value.split(',').map((s) => s.trim()).join('\\') : match.value;
}
