/**
 * The transfer syntaxes whose encoding the box reads and writes itself (PS3.5 §10 and Annex A; UIDs from PS3.6
 * Annex A, Table A-1). The compressed ones are only carried, never decoded: they are listed where the DICOMweb layer
 * names their media types (dicomweb/transfer-syntax.ts).
 */
export const IMPLICIT_VR_LE = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';
export const DEFLATED_EXPLICIT_VR_LE = '1.2.840.10008.1.2.1.99';
/** Retired (PS3.5 A.3), still met in old archives. */
export const EXPLICIT_VR_BE = '1.2.840.10008.1.2.2';
