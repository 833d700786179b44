import type { DocumentEntry } from '../xds/index.js';
import { xonDisplayName } from '../xds/index.js';

/**
 * A patient's imaging exams as the portal lists them: one per IMG-KOS DocumentEntry found in the DMP (ITI-18),
 * with what the registry says of it (ci-sis-imaging.md §2.1): date, modality, region, description, producing
 * facility, status.
 */
export interface ExamSummary {
  /** XDS uniqueId of the KOS: what the portal asks the DMP for (ITI-43). */
  documentUniqueId: string;
  repositoryUniqueId?: string;
  homeCommunityId?: string;
  /** serviceStartTime (XDS DTM, UTC), else creationTime. */
  date?: string;
  modalities: string[];
  regions: string[];
  description?: string;
  facility?: string;
  status: DocumentEntry['status'];
  studyInstanceUid?: string;
  accessionNumber?: string;
}

const STUDY_UID_TYPE = 'urn:ihe:iti:xds:2016:studyInstanceUID';
const ACCESSION_TYPE = 'urn:ihe:iti:xds:2013:accession';

function label(c: { code: string; display: string }): string {
  return c.display || c.code;
}

export function examFromEntry(entry: DocumentEntry): ExamSummary {
  const authorInstitution = entry.authors.flatMap((a) => a.institutions)[0];
  const date = entry.serviceStartTime ?? entry.creationTime;
  const description = entry.comments || undefined;
  const facility = xonDisplayName(authorInstitution);
  const studyInstanceUid = entry.referenceIds.find((r) => r.type === STUDY_UID_TYPE)?.value;
  const accessionNumber = entry.referenceIds.find((r) => r.type === ACCESSION_TYPE)?.value;
  return {
    documentUniqueId: entry.uniqueId,
    ...(entry.repositoryUniqueId ? { repositoryUniqueId: entry.repositoryUniqueId } : {}),
    ...(entry.homeCommunityId ? { homeCommunityId: entry.homeCommunityId } : {}),
    ...(date ? { date } : {}),
    modalities: entry.modalities.map((c) => c.code),
    regions: entry.regions.map(label),
    ...(description ? { description } : {}),
    ...(facility ? { facility } : {}),
    status: entry.status,
    ...(studyInstanceUid ? { studyInstanceUid } : {}),
    ...(accessionNumber ? { accessionNumber } : {}),
  };
}

/** Most recent first; entries without a date last. */
export function sortExams(exams: ExamSummary[]): ExamSummary[] {
  return [...exams].sort((a, b) => (b.date ?? '').localeCompare(a.date ?? ''));
}

/** INS traits the registry holds for the patient (sourcePatientInfo: PID-5, PID-7, PID-8), for display after a search. */
export interface RegistryTraits {
  birthName?: string;
  firstGivenName?: string;
  birthDate?: string;
  sex?: string;
}

export function traitsFromEntries(entries: DocumentEntry[]): RegistryTraits {
  for (const e of entries) {
    const out: RegistryTraits = {};
    for (const line of e.sourcePatientInfo) {
      const [field, value = ''] = [line.slice(0, line.indexOf('|')), line.slice(line.indexOf('|') + 1)];
      if (field === 'PID-5') {
        const [family, given] = value.split('^');
        if (family) out.birthName = unescapeHl7(family);
        if (given) out.firstGivenName = unescapeHl7(given);
      } else if (field === 'PID-7' && /^\d{8}/.test(value)) out.birthDate = `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}`;
      else if (field === 'PID-8' && value) out.sex = value;
    }
    if (Object.keys(out).length) return out;
  }
  return {};
}

function unescapeHl7(value: string): string {
  return value.replace(/\\([EFSTR])\\/g, (_m, c: string) => ({ E: '\\', F: '|', S: '^', T: '&', R: '~' })[c] ?? '');
}
