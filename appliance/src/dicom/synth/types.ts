export interface SynthPatient {
  /** DICOM PN, e.g. 'BERNARD^Jean'. */
  name?: string;
  id?: string;
  issuer?: string;
  /** OID of the INS assigning authority, carried in Issuer of Patient ID Qualifiers Sequence. */
  insOid?: string;
  /** YYYYMMDD. */
  birthDate?: string;
  sex?: 'M' | 'F' | 'O';
}

export type SynthModality = 'CT' | 'MR' | 'CR';
export type SynthCharset = 'ISO_IR 192' | 'ISO_IR 100';
export type SynthTransferSyntax = 'explicit-le' | 'implicit-le';

export interface SynthOptions {
  modality: SynthModality;
  instances: number;
  /** Created if missing; files are written to outDir/series-NN/NNNNN.dcm, replacing any of the same name. */
  outDir: string;
  seriesCount?: number;
  rows?: number;
  columns?: number;
  /**
   * Fields left out take the default patient's values. When `id` is given, `issuer` and `insOid`
   * come only from here: a caller's own identifier must not be labelled as an INS by default.
   */
  patient?: SynthPatient;
  charset?: SynthCharset;
  uidRoot?: string;
  studyInstanceUid?: string;
  accessionNumber?: string;
  studyDescription?: string;
  institutionName?: string;
  transferSyntax?: SynthTransferSyntax;
  /** Same seed, same options: byte-identical files (UIDs and dates included). */
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface SynthInstance {
  sopInstanceUid: string;
  sopClassUid: string;
  path: string;
}

export interface SynthSeries {
  seriesInstanceUid: string;
  modality: string;
  instances: SynthInstance[];
}

export interface SynthResult {
  studyInstanceUid: string;
  accessionNumber: string;
  patient: Required<Pick<SynthPatient, 'name' | 'id'>> & SynthPatient;
  series: SynthSeries[];
  files: string[];
}
