/**
 * SR value type of a TID 2010 content item for a referenced SOP class: IMAGE for image storage classes,
 * WAVEFORM for waveforms, COMPOSITE for everything else (SR, KOS, presentation states, encapsulated documents,
 * RT plans, raw data, private classes). PS3.16 TID 2010 rows IMAGE / WAVEFORM / COMPOSITE.
 */
export type ReferenceValueType = 'IMAGE' | 'WAVEFORM' | 'COMPOSITE';

const STORAGE = '1.2.840.10008.5.1.4.1.1.';
const WAVEFORM = STORAGE + '9.';
/** Standard storage classes under 1.2.840.10008.5.1.4.1.1 that are not images. */
const NON_IMAGE = [
  '11', // presentation states
  '88', // structured reports, KOS, CAD
  '104', // encapsulated PDF, CDA, STL, OBJ, MTL
  '66', // raw data, spatial registration, fiducials (segmentations excepted below)
  '68', // surface segmentation, tractography
  '90', // content assessment results
  '200', // protocol storage
  '481.3', // RT structure set
  '481.4', // RT beams treatment record
  '481.5', // RT plan
  '481.6', // RT brachy treatment record
  '481.7', // RT treatment summary record
  '481.8', // RT ion plan
  '481.9', // RT ion beams treatment record
].map((suffix) => STORAGE + suffix);
const IMAGE_EXCEPTIONS = new Set([STORAGE + '66.4' /* segmentation */, STORAGE + '66.7' /* label map segmentation */]);

export function referenceValueType(sopClassUid: string): ReferenceValueType {
  if (sopClassUid.startsWith(WAVEFORM)) return 'WAVEFORM';
  if (!sopClassUid.startsWith(STORAGE)) return 'COMPOSITE';
  if (IMAGE_EXCEPTIONS.has(sopClassUid)) return 'IMAGE';
  return NON_IMAGE.some((family) => sopClassUid === family || sopClassUid.startsWith(family + '.')) ? 'COMPOSITE' : 'IMAGE';
}
