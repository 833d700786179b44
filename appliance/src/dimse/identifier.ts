import { EXPLICIT_VR_LE, IMPLICIT_VR_LE } from '../dicom/transfer-syntax-uids.js';
import { dcmjsData } from './library.js';

/**
 * A Query/Retrieve identifier (keyword → value, dcmjs's naturalized form) encoded in the context's transfer syntax,
 * with dcmjs's public writer. Identifiers are small: this is not the per-instance path.
 */
export function encodeIdentifier(elements: Record<string, unknown>, transferSyntaxUid: string): Buffer {
  if (transferSyntaxUid !== IMPLICIT_VR_LE && transferSyntaxUid !== EXPLICIT_VR_LE) {
    throw new Error(`identifiers are sent in Implicit or Explicit VR Little Endian, not ${transferSyntaxUid}`);
  }
  const { DicomMetaDictionary, DicomMessage, WriteBufferStream } = dcmjsData;
  const stream = new WriteBufferStream();
  DicomMessage.write(DicomMetaDictionary.denaturalizeDataset(elements), stream, transferSyntaxUid, {});
  return Buffer.from(stream.getBuffer());
}
