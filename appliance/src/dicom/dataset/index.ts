export type { DcmDataset, DcmElement } from './dcmjs.js';
export { text, personName, integerString, sequence, codeItem, readString, readStrings, readInteger, readItems, readCode } from './elements.js';
export { encodeDataset, EncodeError, type VrEncoding } from './encode.js';
export {
  writePart10,
  readPart10,
  readPart10Header,
  DicomReadError,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  IMPLEMENTATION_CLASS_UID,
  type Part10,
  type WritePart10Options,
  type HeaderReadOptions,
} from './part10.js';
export { dicomInstant, splitHl7Timestamp, type DicomInstant } from './datetime.js';
