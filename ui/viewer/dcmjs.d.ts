/** The one part of dcmjs the viewer reads (the bundle already holds dcmjs through Cornerstone): its data dictionary. */
declare module 'dcmjs' {
  export const data: {
    DicomMetaDictionary: { dictionary: Record<string, { name?: string; vr?: string } | undefined> };
  };
}
