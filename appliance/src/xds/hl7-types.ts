import type { IssuedId, Patient, Professional } from '../report/types.js';
import { OID } from './codes.js';

/**
 * The HL7 v2 data types XDS metadata carries (IHE ITI TF-3 §4.2.3.1.7): CX, XCN, XON, and DTM times.
 * Components are escaped per HL7 v2 so a name with ^ or & cannot shift the fields.
 */

export class MetadataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetadataError';
  }
}

/** HL7 v2 escaping of component text (|^~\& with the default delimiters). */
export function hl7Escape(value: string): string {
  return value.replace(/\\/g, '\\E\\').replace(/\|/g, '\\F\\').replace(/\^/g, '\\S\\').replace(/&/g, '\\T\\').replace(/~/g, '\\R\\');
}

export function hl7Unescape(value: string): string {
  return value.replace(/\\([EFSTR])\\/g, (_m, c: string) => ({ E: '\\', F: '|', S: '^', T: '&', R: '~' })[c] ?? '');
}

const OID_RE = /^[0-2](\.(0|[1-9][0-9]*))+$/;

export function isOid(value: string): boolean {
  return OID_RE.test(value) && value.length <= 64;
}

function requireOid(value: string, what: string): string {
  if (!isOid(value)) throw new MetadataError(`${what}: "${value}" is not an OID`);
  return value;
}

/** CX with an ISO assigning authority: `id^^^&OID&ISO^type`. */
export function cx(id: string, authorityOid: string, type: string): string {
  if (!id) throw new MetadataError(`empty identifier for ${type}`);
  return `${hl7Escape(id)}^^^&${requireOid(authorityOid, `assigning authority of ${type}`)}&ISO^${type}`;
}

/** XDS patientId from the INS (ci-sis-imaging.md §2.1): `<matricule>^^^&<INS OID>&ISO^NH`. */
export function insPatientId(ins: IssuedId | undefined): string {
  if (!ins?.value) throw new MetadataError('the patient has no INS: the DMP is indexed by INS only');
  if (!/^[0-9A-Z]{13,15}$/.test(ins.value)) throw new MetadataError(`INS "${ins.value}" is not a 13–15 character matricule`);
  return cx(ins.value, ins.issuerOid, 'NH');
}

/** sourcePatientId: the producer's IPP, or the INS when the RIS sent no IPP. */
export function sourcePatientId(patient: Patient): string {
  if (patient.ipp?.value && patient.ipp.issuerOid && isOid(patient.ipp.issuerOid)) {
    return cx(patient.ipp.value, patient.ipp.issuerOid, 'PI');
  }
  return insPatientId(patient.ins);
}

/** sourcePatientInfo values: PID-5 (birth name, first birth given name), PID-7, PID-8. */
export function sourcePatientInfo(patient: Patient): string[] {
  const out: string[] = [];
  if (patient.birthName) {
    out.push(`PID-5|${hl7Escape(patient.birthName)}^${hl7Escape(patient.firstGivenName ?? '')}^^^^^L`);
  }
  if (patient.birthDate) out.push(`PID-7|${patient.birthDate}`);
  if (patient.sex) out.push(`PID-8|${patient.sex}`);
  return out;
}

/**
 * XCN of a health professional with a national id (RPPS-based, OID 1.2.250.1.71.4.2.1, type IDNPS):
 * `id^FAMILY^Given^^^prefix^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS` (ans-reference-drimbox.md §3.4).
 */
export function xcn(person: Professional | undefined, what: string): string {
  if (!person?.id?.value) throw new MetadataError(`${what}: no professional identifier (RPPS) in the report`);
  const authority = person.id.issuerOid || OID.rpps;
  const c = [
    person.id.value,
    person.family ?? '',
    person.given ?? '',
    '',
    '',
    person.prefix ?? '',
    '',
    '',
  ].map(hl7Escape);
  return `${c.join('^')}^&${requireOid(authority, `${what} assigning authority`)}&ISO^D^^^IDNPS`;
}

/** XON of a structure: `Name^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^<id>`. */
export function xon(name: string, id: string, authorityOid: string = OID.structure): string {
  if (!id) throw new MetadataError('structure without an identifier');
  return `${hl7Escape(name)}^^^^^&${requireOid(authorityOid, 'structure assigning authority')}&ISO^IDNST^^^${hl7Escape(id)}`;
}

/** XDS DTM in UTC: YYYYMMDDhhmmss. */
export function dtm(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new MetadataError('invalid date');
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/**
 * HL7/CDA TS (YYYYMMDD[hh[mm[ss[.fff]]]][+/-zzzz]) to XDS DTM in UTC. Without an offset the time is read as
 * Europe/Paris local time, which is what French RIS send; a precision below the minute is kept as given.
 */
export function tsToUtcDtm(ts: string | undefined): string | undefined {
  if (!ts) return undefined;
  const m = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?$/.exec(ts.trim());
  if (!m) throw new MetadataError(`"${ts}" is not an HL7 timestamp`);
  const [, y, mo, d, h, mi, s, tz] = m;
  if (!h) return `${y}${mo ?? ''}${d ?? ''}`;
  const offsetMinutes = tz ? Number(tz.slice(0, 1) + '1') * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(3, 5))) : parisOffsetMinutes(Number(y), Number(mo), Number(d), Number(h), Number(mi ?? 0));
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi ?? 0), Number(s ?? 0)) - offsetMinutes * 60_000;
  const full = dtm(new Date(utc));
  return full.slice(0, s ? 14 : mi ? 12 : 10);
}

/** UTC offset of Europe/Paris at that local wall-clock time (CET +60, CEST +120). */
function parisOffsetMinutes(y: number, mo: number, d: number, h: number, mi: number): number {
  const guess = Date.UTC(y, mo - 1, d, h, mi);
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', timeZoneName: 'longOffset' }).formatToParts(new Date(guess - 60 * 60_000));
  const name = parts.find((p) => p.type === 'timeZoneName')?.value ?? 'GMT+01:00';
  const mm = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  return mm ? Number(mm[1] + '1') * (Number(mm[2]) * 60 + Number(mm[3])) : 60;
}

/** Splits a CX value into its id, assigning authority OID and type (for parsing registry answers). */
export function parseCx(value: string): { id: string; authorityOid?: string; type?: string } {
  const comps = value.split('^');
  const authority = comps[3]?.split('&');
  return {
    id: hl7Unescape(comps[0] ?? ''),
    authorityOid: authority?.[1] || undefined,
    type: comps[4] || undefined,
  };
}
