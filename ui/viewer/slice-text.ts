import { TAG, num, type DicomJsonDataset } from './dicom-json.js';
import { formatMillimetres } from './format.js';
import { positionAlongNormal } from './study-model.js';
import { STRINGS } from '../strings/viewer.js';

/** Bottom-left corner text: where the slice lies and how thick it is, when the image says so. Pure. */
export function sliceText(ds: DicomJsonDataset): string {
  const position = num(ds, TAG.SliceLocation) ?? positionAlongNormal(ds);
  const thickness = num(ds, TAG.SliceThickness);
  return [position !== undefined ? STRINGS.slicePosition(formatMillimetres(position)) : '', thickness !== undefined && thickness > 0 ? STRINGS.sliceThickness(formatMillimetres(thickness)) : '']
    .filter(Boolean)
    .join(' · ');
}
