/** DICOM value formatting for the generator (PS3.5 §6.2). */

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** DA: YYYYMMDD, local calendar date. */
export function formatDate(d: Date): string {
  return `${pad(d.getFullYear(), 4)}${pad(d.getMonth() + 1, 2)}${pad(d.getDate(), 2)}`;
}

/** TM: HHMMSS, local time. */
export function formatTime(d: Date): string {
  return `${pad(d.getHours(), 2)}${pad(d.getMinutes(), 2)}${pad(d.getSeconds(), 2)}`;
}

/** DS: at most 16 characters, no exponent for the magnitudes used here, trailing zeros dropped. */
export function formatDecimal(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`DS value ${value} is not finite`);
  for (let digits = 6; digits >= 0; digits--) {
    let s = value.toFixed(digits);
    if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
    if (s === '-0') s = '0';
    if (s.length <= 16) return s;
  }
  throw new RangeError(`DS value ${value} does not fit in 16 characters`);
}

/** AS: age in whole years at `on`, e.g. "046Y". */
export function formatAge(birthDate: string, on: Date): string {
  const year = Number(birthDate.slice(0, 4));
  const month = Number(birthDate.slice(4, 6));
  const day = Number(birthDate.slice(6, 8));
  let age = on.getFullYear() - year;
  if (on.getMonth() + 1 < month || (on.getMonth() + 1 === month && on.getDate() < day)) age -= 1;
  return `${pad(Math.max(0, Math.min(age, 999)), 3)}Y`;
}

/** True for a real calendar date written YYYYMMDD. */
export function isValidDate(s: string): boolean {
  if (!/^[0-9]{8}$/.test(s)) return false;
  const y = Number(s.slice(0, 4));
  const m = Number(s.slice(4, 6));
  const d = Number(s.slice(6, 8));
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}
