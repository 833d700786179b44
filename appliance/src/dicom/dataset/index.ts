export type { DcmDataset, DcmElement } from './dcmjs.js';
export { text, personName, integerString, sequence, codeItem, readString, readStrings, readInteger, readItems, readCode } from './elements.js';
export { encodeDataset, EncodeError, type VrEncoding } from './encode.js';
export {
  writePart10,
  readPart10,
  readPart10Header,
  DicomReadError,
  IMPLEMENTATION_CLASS_UID,
  type Part10,
  type WritePart10Options,
  type HeaderReadOptions,
} from './part10.js';
export { EXPLICIT_VR_LE, IMPLICIT_VR_LE } from '../transfer-syntax-uids.js';
export { dicomInstant, splitHl7Timestamp, type DicomInstant } from './datetime.js';
