/** Transfer syntaxes the DICOMweb layer reasons about (PS3.5 §10 and Annex A; media types from PS3.18 Table 8.7.3-3/-4). */

import { DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BE, EXPLICIT_VR_LE, IMPLICIT_VR_LE } from '../dicom/transfer-syntax-uids.js';

export { DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BE, EXPLICIT_VR_LE, IMPLICIT_VR_LE } from '../dicom/transfer-syntax-uids.js';

/** Uncompressed syntaxes whose pixel bytes are little endian: frames are byte ranges, the same bytes in both. */
const UNCOMPRESSED_LE = new Set([IMPLICIT_VR_LE, EXPLICIT_VR_LE]);

/** Syntaxes whose pixel data loses information: never a transcoding target from lossless data. */
const LOSSY = new Set([
  '1.2.840.10008.1.2.4.50',
  '1.2.840.10008.1.2.4.51',
  '1.2.840.10008.1.2.4.81',
  '1.2.840.10008.1.2.4.91',
  '1.2.840.10008.1.2.4.93',
  '1.2.840.10008.1.2.4.100',
  '1.2.840.10008.1.2.4.101',
  '1.2.840.10008.1.2.4.102',
  '1.2.840.10008.1.2.4.103',
  '1.2.840.10008.1.2.4.104',
  '1.2.840.10008.1.2.4.105',
  '1.2.840.10008.1.2.4.106',
  '1.2.840.10008.1.2.4.203',
]);

/** Media type of a frame's bytes in a compressed syntax (PS3.18 Table 8.7.3-4 "Rendered/Pixel media types"). */
const FRAME_MEDIA_TYPE: Record<string, string> = {
  '1.2.840.10008.1.2.5': 'image/dicom-rle',
  '1.2.840.10008.1.2.4.50': 'image/jpeg',
  '1.2.840.10008.1.2.4.51': 'image/jpeg',
  '1.2.840.10008.1.2.4.57': 'image/jpeg',
  '1.2.840.10008.1.2.4.70': 'image/jpeg',
  '1.2.840.10008.1.2.4.80': 'image/jls',
  '1.2.840.10008.1.2.4.81': 'image/jls',
  '1.2.840.10008.1.2.4.90': 'image/jp2',
  '1.2.840.10008.1.2.4.91': 'image/jp2',
  '1.2.840.10008.1.2.4.92': 'image/jpx',
  '1.2.840.10008.1.2.4.93': 'image/jpx',
  '1.2.840.10008.1.2.4.100': 'video/mpeg2',
  '1.2.840.10008.1.2.4.101': 'video/mpeg2',
  '1.2.840.10008.1.2.4.102': 'video/mp4',
  '1.2.840.10008.1.2.4.103': 'video/mp4',
  '1.2.840.10008.1.2.4.104': 'video/mp4',
  '1.2.840.10008.1.2.4.105': 'video/mp4',
  '1.2.840.10008.1.2.4.106': 'video/mp4',
  '1.2.840.10008.1.2.4.201': 'image/jphc',
  '1.2.840.10008.1.2.4.202': 'image/jphc',
  '1.2.840.10008.1.2.4.203': 'image/jphc',
};

/** Default transfer syntax of a frame media type named without a transfer-syntax parameter (PS3.18 Table 8.7.3-4). */
const FRAME_MEDIA_DEFAULT_TS: Record<string, string> = {
  'application/octet-stream': EXPLICIT_VR_LE,
  'image/dicom-rle': '1.2.840.10008.1.2.5',
  'image/x-dicom-rle': '1.2.840.10008.1.2.5',
  'image/jpeg': '1.2.840.10008.1.2.4.50',
  'image/jls': '1.2.840.10008.1.2.4.80',
  'image/x-jls': '1.2.840.10008.1.2.4.80',
  'image/jp2': '1.2.840.10008.1.2.4.90',
  'image/jpx': '1.2.840.10008.1.2.4.92',
  'image/jphc': '1.2.840.10008.1.2.4.201',
  'video/mpeg2': '1.2.840.10008.1.2.4.100',
  'video/mp4': '1.2.840.10008.1.2.4.102',
};

export function isUncompressedLittleEndian(ts: string): boolean {
  return UNCOMPRESSED_LE.has(ts);
}

export function isEncapsulated(ts: string): boolean {
  return !UNCOMPRESSED_LE.has(ts) && ts !== EXPLICIT_VR_BE && ts !== DEFLATED_EXPLICIT_VR_LE;
}

export function isLossy(ts: string): boolean {
  return LOSSY.has(ts);
}

/** The natural media type of a frame stored in `ts`. */
export function frameMediaType(ts: string): string {
  return FRAME_MEDIA_TYPE[ts] ?? 'application/octet-stream';
}

export function defaultTransferSyntaxOfFrameMediaType(mediaType: string): string | undefined {
  return FRAME_MEDIA_DEFAULT_TS[mediaType];
}

/** Whether the box itself can rewrite `from` into `to` (re-encoding the dataset, never touching pixel bytes). */
export function canRewriteLocally(from: string, to: string): boolean {
  return from !== to && UNCOMPRESSED_LE.has(from) && UNCOMPRESSED_LE.has(to);
}

/**
 * PS3.5 §9.1: a UID is at most 64 digits and dots. Leading zeros in a component are tolerated (real PACS hold
 * such UIDs); anything else is refused, which also keeps UIDs safe in URLs and file names.
 */
export function isValidUid(uid: string): boolean {
  return uid.length > 0 && uid.length <= 64 && /^[0-9]+(\.[0-9]+)*$/.test(uid);
}
