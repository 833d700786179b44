import { INS_OIDS } from './codes.js';

export interface Ins {
  /** The 15-character INS matricule (NIR or NIA with its key). */
  ins: string;
  oid: string;
}

/**
 * Parses an XDS patientId / VIHF resource-id: `<INS>^^^&<INS OID>&ISO^NH` (ci-sis-imaging.md §1.2
 * and §2.1). Returns a reason when it is not one.
 */
export function parseInsCx(value: string): Ins | string {
  const m = /^([0-9]{5}(?:[0-9]{2}|2[AB])[0-9]{8})\^\^\^&([0-9.]+)&ISO\^NH$/.exec(value);
  if (!m) return `"${value}" is not an INS in CX form <15-character INS>^^^&<INS OID>&ISO^NH`;
  const [, ins, oid] = m as unknown as [string, string, string];
  if (!INS_OIDS.has(oid)) return `"${value}": assigning authority ${oid} is not an INS OID (${[...INS_OIDS].join(', ')})`;
  if (!nirKeyValid(ins)) return `"${value}": the INS control key (last 2 digits) does not match the first 13 characters`;
  return { ins, oid };
}

/** NIR key = 97 - (first 13 digits mod 97), Corsica 2A/2B counted as 19/18. */
export function nirKeyValid(ins: string): boolean {
  const department = ins.slice(5, 7);
  const digits = ins.slice(0, 5) + (department === '2A' ? '19' : department === '2B' ? '18' : department) + ins.slice(7, 13);
  if (!/^\d{13}$/.test(digits) || !/^\d{2}$/.test(ins.slice(13))) return false;
  return 97n - (BigInt(digits) % 97n) === BigInt(ins.slice(13));
}
