/** Codes and UIDs of the KOS. Sources: DICOM PS3.4/PS3.16 (CID 7010, TID 2010), ../shared/reference/ci-sis-imaging.md §1. */

export interface Code {
  value: string;
  scheme: string;
  meaning: string;
}

/** Key Object Selection Document Storage (PS3.4 Annex B; ci-sis-imaging.md §1.1). */
export const KOS_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.88.59';

/** IMG-KOS document title (CID 7010; ci-sis-imaging.md §1.5). */
export const MANIFEST: Code = { value: '113030', scheme: 'DCM', meaning: 'Manifest' };

/** TID 2010 row "Key Object Description". */
export const KEY_OBJECT_DESCRIPTION: Code = { value: '113012', scheme: 'DCM', meaning: 'Key Object Description' };

/** IOCM rejection note titles (CID 7010 members; IHE RAD IOCM). */
export const REJECTION_TITLES = {
  '113001': { value: '113001', scheme: 'DCM', meaning: 'Rejected for Quality Reasons' },
  '113037': { value: '113037', scheme: 'DCM', meaning: 'Rejected for Patient Safety Reasons' },
  '113038': { value: '113038', scheme: 'DCM', meaning: 'Incorrect Modality Worklist Entry' },
  '113039': { value: '113039', scheme: 'DCM', meaning: 'Data Retention Policy Expired' },
} as const satisfies Record<string, Code>;
export type RejectionReason = keyof typeof REJECTION_TITLES;

export function isRejectionTitle(code: { code: string; scheme: string } | undefined): boolean {
  return !!code && code.scheme === 'DCM' && code.code in REJECTION_TITLES;
}

/** TID 2010 in the DICOM Content Mapping Resource (Content Template Sequence). */
export const KOS_TEMPLATE = { identifier: '2010', mappingResource: 'DCMR' } as const;

/** Series Number of the KOS series: 59 in every ANS and PoC sample (ci-sis-imaging.md §1.1; value arbitrary). */
export const KOS_SERIES_NUMBER = 59;

/** INS OIDs (ci-sis-imaging.md §1.2): NIR prod, NIA prod, NIR test, NIR démonstration. */
export const INS_OIDS = {
  nir: '1.2.250.1.213.1.4.8',
  nia: '1.2.250.1.213.1.4.9',
  nirTest: '1.2.250.1.213.1.4.10',
  nirDemo: '1.2.250.1.213.1.4.11',
} as const;

/** Issuer of Patient ID for an INS: `ASIP-SANTE-INS-NIR` in the ANS samples (§1.2); the NIA has its own namespace. */
export function insIssuerName(oid: string): string {
  return oid === INS_OIDS.nia ? 'ASIP-SANTE-INS-NIA' : 'ASIP-SANTE-INS-NIR';
}
