import { createRequire } from 'node:module';
import { KOS } from './codes.js';
import type { XdsError } from './errors.js';
import type { Ins } from './ins.js';
import type { CheckedEntry } from './submission-rules.js';

interface DcmjsData {
  DicomMessage: { readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): { meta: Record<string, unknown>; dict: Record<string, unknown> } };
  DicomMetaDictionary: { naturalizeDataset(ds: Record<string, unknown>): Record<string, unknown> };
}
const { DicomMessage, DicomMetaDictionary } = (createRequire(import.meta.url)('dcmjs') as { data: DcmjsData }).data;

type Dataset = Record<string, unknown>;

/**
 * Checks that the attached document is the DICOM KOS the metadata describes: a Part 10 file
 * (preamble + DICM), Key Object Selection SOP class, SOP Instance UID = uniqueId, and the patient
 * (INS + INS OID), the study and the accession numbers of the metadata (ci-sis-imaging.md §1, §2.1).
 */
export function checkKosContent(bytes: Buffer, entry: CheckedEntry, patient: Ins): XdsError[] {
  const errors: XdsError[] = [];
  const bad = (context: string) => errors.push({ code: 'InvalidDocumentContent', context: `KOS ${entry.uniqueId}: ${context}`, location: entry.object.id });
  if (bytes.length < 132 || bytes.toString('latin1', 128, 132) !== 'DICM') {
    bad('not a DICOM Part 10 file (no 128-byte preamble followed by "DICM")');
    return errors;
  }
  let meta: Dataset;
  let ds: Dataset;
  try {
    const file = DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer, { ignoreErrors: false });
    meta = DicomMetaDictionary.naturalizeDataset(file.meta);
    ds = DicomMetaDictionary.naturalizeDataset(file.dict);
  } catch (err) {
    bad(`the DICOM file cannot be parsed (${(err as Error).message})`);
    return errors;
  }
  const str = (v: unknown) => (typeof v === 'string' ? v.replace(/\0/g, '').trim() : Array.isArray(v) && typeof v[0] === 'string' ? v[0].trim() : '');
  if (str(meta.MediaStorageSOPClassUID) !== KOS.sopClass || str(ds.SOPClassUID) !== KOS.sopClass) {
    bad(`SOP Class UID is ${str(ds.SOPClassUID) || '(none)'} (file meta ${str(meta.MediaStorageSOPClassUID) || '(none)'}), expected Key Object Selection ${KOS.sopClass}`);
  }
  if (str(ds.SOPInstanceUID) !== entry.uniqueId) bad(`SOP Instance UID ${str(ds.SOPInstanceUID)} differs from XDSDocumentEntry.uniqueId ${entry.uniqueId}`);
  if (str(meta.MediaStorageSOPInstanceUID) !== str(ds.SOPInstanceUID)) bad('Media Storage SOP Instance UID differs from SOP Instance UID');
  if (str(ds.Modality) !== 'KO') bad(`Modality is "${str(ds.Modality)}", expected KO`);

  if (str(ds.PatientID) !== patient.ins) bad(`Patient ID ${str(ds.PatientID)} is not the INS ${patient.ins} of the metadata`);
  const qualifiers = items(ds.IssuerOfPatientIDQualifiersSequence);
  const issuerOid = str(qualifiers[0]?.UniversalEntityID);
  if (issuerOid !== patient.oid || str(qualifiers[0]?.UniversalEntityIDType) !== 'ISO') {
    bad(`Issuer of Patient ID Qualifiers (0010,0024) Universal Entity ID is "${issuerOid}", expected the INS OID ${patient.oid} of type ISO`);
  }

  const study = str(ds.StudyInstanceUID);
  const refStudies = entry.referenceIds.filter((r) => r.type === 'urn:ihe:iti:xds:2016:studyInstanceUID').map((r) => r.id);
  if (!refStudies.includes(study)) bad(`Study Instance UID ${study} is not the referenceIdList studyInstanceUID (${refStudies.join(', ') || 'none'})`);
  const evidence = items(ds.CurrentRequestedProcedureEvidenceSequence);
  if (evidence.length === 0) bad('Current Requested Procedure Evidence Sequence (0040,A375) is empty');
  for (const e of evidence) if (str(e.StudyInstanceUID) !== study) bad(`evidence references study ${str(e.StudyInstanceUID)}, not the KOS study ${study}`);

  const accessions = new Set([str(ds.AccessionNumber), ...items(ds.ReferencedRequestSequence).map((r) => str(r.AccessionNumber))].filter(Boolean));
  for (const r of entry.referenceIds.filter((x) => x.type === 'urn:ihe:iti:xds:2013:accession')) {
    if (!accessions.has(r.id)) bad(`referenceIdList accession ${r.id} is not an accession number of the KOS (${[...accessions].join(', ') || 'none'})`);
  }
  return errors;
}

function items(v: unknown): Dataset[] {
  if (Array.isArray(v)) return v as Dataset[];
  return v && typeof v === 'object' ? [v as Dataset] : [];
}
