import { createRequire } from 'node:module';

/** The parts of dcmjs (0.51, the project's pinned copy; its public API only) the DIMSE code uses for identifiers. */

// dcmjs decodes identifiers straight to its dictionary form, which is DICOM JSON.
export interface DcmjsElement {
  vr: string;
  Value?: unknown[];
  _rawValue?: unknown;
}
interface WriteBufferStream {
  getBuffer(): ArrayBuffer;
}
interface DcmjsData {
  DicomMetaDictionary: {
    nameMap: Record<string, { tag: string; vr: string; name: string }>;
    denaturalizeDataset(dataset: Record<string, unknown>): Record<string, DcmjsElement>;
  };
  DicomMessage: { write(dataset: Record<string, DcmjsElement>, stream: WriteBufferStream, transferSyntaxUid: string, options: object): number };
  WriteBufferStream: new () => WriteBufferStream;
}
export const dcmjsData = (createRequire(import.meta.url)('dcmjs') as { data: DcmjsData }).data;

/** DRIMbox's Implementation Class UID (UUID-derived, PS3.5 B.2) and version name (PS3.7 D.3.3.2, ≤ 16 chars). */
export const IMPLEMENTATION_CLASS_UID = '2.25.176593408451284736839120915311486211466';
export const IMPLEMENTATION_VERSION_NAME = 'DRIMBOX_0_1';
