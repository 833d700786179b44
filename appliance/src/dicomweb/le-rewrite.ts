import { DicomDict } from '../dicom/dataset/dcmjs.js';
import { readPart10 } from '../dicom/dataset/part10.js';
import { canRewriteLocally } from './transfer-syntax.js';

/**
 * Rewrites an instance between Implicit and Explicit VR Little Endian: the dataset is re-encoded, pixel bytes are
 * unchanged. The whole instance is in memory for the time of the rewrite, so callers bound its size.
 */
export function rewriteLittleEndian(bytes: Buffer, from: string, to: string): Buffer {
  if (!canRewriteLocally(from, to)) throw new Error(`cannot rewrite ${from} as ${to} locally`);
  const { meta, dataset } = readPart10(bytes);
  const dict = new DicomDict({ ...meta, '00020010': { vr: 'UI', Value: [to] } });
  dict.dict = dataset;
  return Buffer.from(dict.write({ allowInvalidVRLength: true }));
}
