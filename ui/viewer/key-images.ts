import { TAG, items, str, type DicomJsonDataset } from './dicom-json.js';

/**
 * Key images: instances a Key Object Selection of the study points at, unless the KOS is a manifest (the DRIM-M one
 * lists every instance) or an IOCM rejection note (PS3.16 CID 7010 and CID 7011). Pure.
 */

/** DCM 113030 "Manifest"; 113001, 113037, 113038, 113039: rejection notes (quality, patient safety, wrong modality worklist, data retention). */
const NOT_KEY_IMAGE_TITLES = new Set(['113030', '113001', '113037', '113038', '113039']);

export function keyImageUids(kosInstances: DicomJsonDataset[]): Set<string> {
  const keys = new Set<string>();
  for (const kos of kosInstances) {
    const title = str(items(kos, TAG.ConceptNameCodeSequence)[0] ?? {}, TAG.CodeValue);
    if (title === undefined || NOT_KEY_IMAGE_TITLES.has(title)) continue;
    for (const content of items(kos, TAG.ContentSequence)) {
      for (const ref of items(content, TAG.ReferencedSOPSequence)) {
        const uid = str(ref, TAG.ReferencedSOPInstanceUID);
        if (uid) keys.add(uid);
      }
    }
  }
  return keys;
}
