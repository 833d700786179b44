import type { Patient } from '../report/types.js';

/** The patient of a study as the PACS answers a study-level C-FIND (PS3.4 C.6.1.1.2: Patient ID, Issuer, Name, Birth Date). */
export interface PacsPatient {
  id?: string;
  issuer?: string;
  name?: string;
  birthDate?: string;
}

export type PatientMatch = { ok: true; by: string } | { ok: false; reason: string };

const OID = /^[0-2](\.(0|[1-9]\d*))+$/;

/** Upper case, no accents, letters only: "Hélène-Marie" and "HELENE MARIE" compare equal. */
function fold(s: string | undefined): string {
  return (s ?? '').normalize('NFD').replace(/\p{M}/gu, '').toUpperCase().replace(/[^A-Z]/g, '');
}

function describePacs(p: PacsPatient): string {
  return `PatientID ${p.id ?? '(none)'}${p.issuer ? ` (${p.issuer})` : ''}, ${p.name ?? 'no name'}, born ${p.birthDate ?? '?'}`;
}

function describeReport(p: Patient): string {
  const ids = [p.ipp && `IPP ${p.ipp.value}`, p.ins && `INS ${p.ins.value}`].filter(Boolean).join(', ') || 'no identifier';
  return `${ids}, ${[p.birthName, p.firstGivenName].filter(Boolean).join(' ') || 'no name'}, born ${p.birthDate ?? '?'}`;
}

/**
 * Is the PACS study this report's patient's? By identifier when the PACS gives one: it must be the report's IPP or
 * INS (and, when both sides name an issuer by OID, the same issuer). Without a PACS identifier: birth name and date
 * of birth. Anything else is a mismatch: publishing another patient's images to this patient's record is the worst
 * thing the box could do, so a doubt holds the report for a person.
 */
export function checkPatient(pacs: PacsPatient, report: Patient): PatientMatch {
  const mismatch = (why: string): PatientMatch => ({ ok: false, reason: `${why}: the PACS study belongs to ${describePacs(pacs)}; the report names ${describeReport(report)}` });
  if (pacs.id) {
    for (const [label, id] of [['IPP', report.ipp], ['INS', report.ins]] as const) {
      if (!id || id.value.trim() !== pacs.id.trim()) continue;
      if (pacs.issuer && OID.test(pacs.issuer) && id.issuerOid && OID.test(id.issuerOid) && pacs.issuer !== id.issuerOid) {
        return mismatch(`patient identifier ${pacs.id} issued by ${pacs.issuer}, not by ${id.issuerOid}`);
      }
      return { ok: true, by: label };
    }
    if (report.ipp || report.ins) return mismatch('patient identifiers differ');
  }
  const family = fold(pacs.name?.split('^')[0]);
  if (!family || !pacs.birthDate || !report.birthDate) return mismatch('the patient cannot be compared (no common identifier, name or birth date)');
  const names = [report.birthName, report.usedName].map(fold).filter(Boolean);
  if (!names.includes(family)) return mismatch('patient names differ');
  if (pacs.birthDate.trim() !== report.birthDate.trim()) return mismatch('birth dates differ');
  return { ok: true, by: 'name and birth date' };
}
