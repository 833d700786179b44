/**
 * The DICOM information model as both the DIMSE and the DICOMweb layers see it: datasets in the DICOM JSON model and
 * the query/retrieve levels. Neither layer imports the other for these.
 */

/** A DICOM dataset as plain JSON in the PS3.18 F.2 "DICOM JSON" model: { "0020000D": { vr: "UI", Value: [...] } }. */
export type DicomJson = Record<string, { vr: string; Value?: unknown[]; InlineBinary?: string; BulkDataURI?: string }>;

/** Query/Retrieve Level (0008,0052), PS3.4 C.6.1 (Patient Root's PATIENT level is not used). */
export type QueryLevel = 'STUDY' | 'SERIES' | 'IMAGE';

/** What a retrieve asks for: a study, a series of it, or one instance. */
export interface RetrieveTarget {
  level: QueryLevel;
  studyInstanceUid: string;
  seriesInstanceUid?: string;
  sopInstanceUid?: string;
}
