/** Checks of the HL7 v2 data types XDS metadata uses (IHE ITI TF-3 Table 4.2.3.1.7-2). Each returns a reason or undefined. */

export function checkOid(value: string, maxLength = 64): string | undefined {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(value)) return `"${value}" is not an OID`;
  if (value.length > maxLength) return `"${value}" is longer than ${maxLength} characters`;
  return undefined;
}

/** DTM: YYYY[MM[DD[hh[mm[ss]]]]] in UTC, with at least `minDigits` digits. */
export function checkDtm(value: string, minDigits = 8): string | undefined {
  if (!/^\d{4}(\d{2}){0,5}$/.test(value) || value.length < minDigits) return `"${value}" is not a DTM with at least ${minDigits} digits (YYYYMMDD[hh[mm[ss]]])`;
  const n = (from: number) => Number(value.slice(from, from + 2));
  if (value.length >= 6 && (n(4) < 1 || n(4) > 12)) return `"${value}" has month ${n(4)}`;
  if (value.length >= 8 && (n(6) < 1 || n(6) > 31)) return `"${value}" has day ${n(6)}`;
  if (value.length >= 10 && n(8) > 23) return `"${value}" has hour ${n(8)}`;
  if (value.length >= 12 && n(10) > 59) return `"${value}" has minute ${n(10)}`;
  if (value.length >= 14 && n(12) > 59) return `"${value}" has second ${n(12)}`;
  return undefined;
}

export function dtmToDate(value: string): Date {
  const p = (from: number, len: number, dflt: string) => value.slice(from, from + len) || dflt;
  return new Date(`${p(0, 4, '0000')}-${p(4, 2, '01')}-${p(6, 2, '01')}T${p(8, 2, '00')}:${p(10, 2, '00')}:${p(12, 2, '00')}Z`);
}

/** `&<OID>&ISO` (an HD with empty namespace, as the DMP wants). */
function checkIsoHd(value: string, what: string): string | undefined {
  const m = /^&([0-9.]+)&ISO$/.exec(value);
  if (!m) return `${what} "${value}" is not &<OID>&ISO`;
  return checkOid(m[1]!);
}

/** XCN person: id in component 1 and an ISO assigning authority in component 9. */
export function checkXcn(value: string): string | undefined {
  const c = value.split('^');
  if (!c[0]) return `"${value}" has no person identifier in XCN.1`;
  if (c.length < 9 || !c[8]) return `"${value}" has no assigning authority in XCN.9`;
  return checkIsoHd(c[8], `XCN.9 of "${value}"`);
}

/** XON organisation: name in component 1, ISO assigning authority in 6, identifier in 10. */
export function checkXon(value: string): string | undefined {
  const c = value.split('^');
  if (!c[0]) return `"${value}" has no organisation name in XON.1`;
  if (c.length < 10 || !c[9]) return `"${value}" has no organisation identifier in XON.10`;
  return checkIsoHd(c[5] ?? '', `XON.6 of "${value}"`);
}

/**
 * referenceIdList CXi: `id^^^&<OID>&ISO^<type>` (ci-sis-imaging.md §2.1), or `id^^^^<type>` without assigning
 * authority, which IHE allows (ITI TF-3 Table 4.2.3.1.7-2) and which fits globally unique ids (UIDs).
 */
export function parseReferenceId(value: string): { id: string; authority?: string; type: string } | string {
  const m = /^([^^&]+)\^\^\^(&[0-9.]+&ISO)?\^([^^]+)$/.exec(value);
  if (!m) return `"${value}" is not a CXi id^^^&<OID>&ISO^<type>`;
  const bad = m[2] ? checkIsoHd(m[2], `assigning authority of "${value}"`) : undefined;
  if (bad) return bad;
  return { id: m[1]!, ...(m[2] ? { authority: m[2].slice(1, -4) } : {}), type: m[3]! };
}
