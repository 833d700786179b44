/** DICOM DA / TM / Timezone Offset From UTC values for an instant, in the box's local time (PS3.5 §6.2). */
export interface DicomInstant {
  date: string; // YYYYMMDD
  time: string; // HHMMSS
  /** (0008,0201) "+HHMM" / "-HHMM" */
  timezoneOffset: string;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function dicomInstant(at: Date): DicomInstant {
  const offsetMinutes = -at.getTimezoneOffset();
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return {
    date: `${at.getFullYear()}${pad(at.getMonth() + 1)}${pad(at.getDate())}`,
    time: `${pad(at.getHours())}${pad(at.getMinutes())}${pad(at.getSeconds())}`,
    timezoneOffset: `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`,
  };
}

/**
 * Splits an HL7 / CDA TS ("YYYYMMDD[HHMM[SS[.S+]]][+ZZZZ]") into DICOM DA and TM. Returns undefined parts when
 * the value is not a plausible timestamp: a wrong date is worse than an empty Type 2 attribute.
 */
export function splitHl7Timestamp(ts: string | undefined): { date?: string; time?: string } {
  const m = /^(\d{8})(\d{2,6}(?:\.\d{1,6})?)?(?:[+-]\d{4})?$/.exec(ts?.trim() ?? '');
  if (!m) return {};
  const date = m[1];
  const time = m[2] && !m[2].startsWith('.') && m[2].split('.')[0]!.length % 2 === 0 ? m[2] : undefined;
  return time ? { date, time } : { date };
}
