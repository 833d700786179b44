import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';

/** A small but complete IMG-KOS (ci-sis-imaging.md §1), test data for the simulator's own tests. */

interface DcmjsData {
  DicomDict: new (meta: Record<string, unknown>) => { dict: Record<string, unknown>; write(): ArrayBuffer };
  DicomMetaDictionary: { denaturalizeDataset(ds: Record<string, unknown>): Record<string, unknown> };
}
const { DicomDict, DicomMetaDictionary } = (createRequire(import.meta.url)('dcmjs') as { data: DcmjsData }).data;

export function newUid(): string {
  return `2.25.${BigInt(`0x${randomBytes(16).toString('hex')}`).toString()}`;
}

export interface KosOptions {
  ins: string;
  insOid: string;
  studyInstanceUid: string;
  accession: string;
  accessionIssuer: string;
  sopInstanceUid?: string;
  modality?: string;
}

export function buildKos(o: KosOptions): { bytes: Buffer; sopInstanceUid: string } {
  const sopInstanceUid = o.sopInstanceUid ?? newUid();
  const seriesInstanceUid = newUid();
  const image = { ReferencedSOPClassUID: '1.2.840.10008.5.1.4.1.1.4', ReferencedSOPInstanceUID: newUid() };
  const meta = DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: '1.2.840.10008.5.1.4.1.1.88.59',
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: '1.2.840.10008.1.2.1',
    ImplementationClassUID: '2.25.329800735698586629295641978511506172918',
    ImplementationVersionName: 'DMPSIM-TEST',
  });
  const dict = new DicomDict(meta);
  dict.dict = DicomMetaDictionary.denaturalizeDataset({
    SpecificCharacterSet: 'ISO_IR 100',
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.88.59',
    SOPInstanceUID: sopInstanceUid,
    StudyDate: '20260115',
    StudyTime: '101500',
    ContentDate: '20260115',
    ContentTime: '120000',
    AccessionNumber: '',
    Modality: 'KO',
    Manufacturer: 'DRIMbox tests',
    ReferringPhysicianName: '',
    PatientName: 'PAT-TEST^DOMINIQUE',
    PatientID: o.ins,
    IssuerOfPatientID: 'ASIP-SANTE-INS-NIR',
    IssuerOfPatientIDQualifiersSequence: [{ UniversalEntityID: o.insOid, UniversalEntityIDType: 'ISO' }],
    PatientBirthDate: '19790312',
    PatientSex: 'F',
    StudyInstanceUID: o.studyInstanceUid,
    SeriesInstanceUID: seriesInstanceUid,
    StudyID: '',
    SeriesNumber: 59,
    InstanceNumber: 1,
    ReferencedPerformedProcedureStepSequence: [],
    ReferencedRequestSequence: [{
      AccessionNumber: o.accession,
      IssuerOfAccessionNumberSequence: [{ UniversalEntityID: o.accessionIssuer, UniversalEntityIDType: 'ISO' }],
      StudyInstanceUID: o.studyInstanceUid,
      ReferencedStudySequence: [],
      RequestedProcedureDescription: '',
      RequestedProcedureCodeSequence: [],
      RequestedProcedureID: 'RP1',
      PlacerOrderNumberImagingServiceRequest: 'OPN1',
      FillerOrderNumberImagingServiceRequest: '',
    }],
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [{ CodeValue: '113030', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Manifest' }],
    ContinuityOfContent: 'SEPARATE',
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '2010' }],
    CurrentRequestedProcedureEvidenceSequence: [{
      StudyInstanceUID: o.studyInstanceUid,
      ReferencedSeriesSequence: [{
        SeriesInstanceUID: newUid(),
        RetrieveURL: `https://db1.test.example/wado-rs/studies/${o.studyInstanceUid}`,
        ReferencedSOPSequence: [image],
      }],
    }],
    ContentSequence: [{ RelationshipType: 'CONTAINS', ValueType: 'IMAGE', ReferencedSOPSequence: [image] }],
  });
  return { bytes: Buffer.from(dict.write()), sopInstanceUid };
}
