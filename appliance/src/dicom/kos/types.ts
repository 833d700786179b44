import type { ReportEvent } from '../../report/types.js';

export interface KosInstanceRef {
  sopClassUid: string;
  sopInstanceUid: string;
  instanceNumber?: number;
}

export interface KosSeriesRef {
  seriesInstanceUid: string;
  modality?: string;
  seriesNumber?: number;
  seriesDescription?: string;
  instances: KosInstanceRef[];
}

/** The exam as found in the PACS (C-FIND / QIDO) or on disk. */
export interface KosStudy {
  studyInstanceUid: string;
  /** DA, YYYYMMDD */
  studyDate?: string;
  /** TM, HHMMSS[.F] */
  studyTime?: string;
  studyDescription?: string;
  studyId?: string;
  /** Part-10 PN string ("Family^Given"). */
  referringPhysicianName?: string;
  series: KosSeriesRef[];
}

export interface KosBuildInput {
  report: ReportEvent;
  study: KosStudy;
  /** This box's public WADO-RS base, e.g. https://db1.example.fr/dicom-web: each series' Retrieve URL starts here. */
  retrieveBaseUrl: string;
  /** UID root for the KOS's own SOP Instance and Series UIDs. */
  uidRoot: string;
  manufacturer?: string;
  institutionName?: string;
  now?: Date;
  sopInstanceUid?: string;
  seriesInstanceUid?: string;
}

export interface BuiltKos {
  part10: Buffer;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  studyInstanceUid: string;
  /** Instances referenced (after removing duplicates). */
  instanceCount: number;
}

export interface KosManifestSeries {
  seriesInstanceUid: string;
  /** Study of this series as given in the evidence; equals the manifest's study for an IMG-KOS. */
  studyInstanceUid?: string;
  retrieveUrl?: string;
  retrieveAeTitle?: string;
  instances: { sopClassUid: string; sopInstanceUid: string }[];
}

export interface KosManifest {
  sopInstanceUid: string;
  sopClassUid: string;
  documentTitle?: { code: string; scheme: string; meaning?: string };
  patient: { id?: string; issuer?: string; issuerOid?: string; name?: string; birthDate?: string; sex?: string };
  studyInstanceUid: string;
  accession?: { value: string; issuerOid?: string };
  placerOrder?: { value: string; issuerOid?: string };
  contentDate?: string;
  series: KosManifestSeries[];
  /** True for an IOCM rejection note (title 113001/113037/113038/113039). */
  rejection?: boolean;
}
