import { STRINGS } from '../strings/viewer.js';

/** `DURAND-LÉGER^Hélène^^Dr` → `DURAND-LÉGER Hélène` (family name first, as French practice shows it). */
export function formatPersonName(pn: string | undefined): string {
  if (!pn) return STRINGS.unknown;
  const [family = '', given = '', middle = ''] = pn.split('=')[0]!.split('^');
  return [family.trim(), given.trim(), middle.trim()].filter((p) => p !== '').join(' ') || STRINGS.unknown;
}

/** DA `YYYYMMDD` → `JJ/MM/AAAA`; anything else is shown as it came, never guessed. */
export function formatDate(da: string | undefined): string {
  if (!da) return STRINGS.unknown;
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(da.trim());
  return m ? `${m[3]}/${m[2]}/${m[1]}` : da;
}

export function formatSex(cs: string | undefined): string {
  if (!cs) return STRINGS.unknown;
  return STRINGS.sexes[cs.trim().toUpperCase()] ?? cs;
}

/** Millimetres shown with one decimal, French decimal comma. */
export function formatMillimetres(mm: number): string {
  return `${mm.toFixed(1).replace('.', ',')} mm`;
}
