import type { DcmDataset, DcmElement } from './dcmjs.js';

/**
 * Small builders and readers over datasets in DICOM JSON form (tag → { vr, Value }), the form dcmjs reads and writes.
 * Builders never emit `undefined`: a missing value becomes a zero-length element, which is what Type 2 wants.
 */

/** A string-valued element; empty or missing values give a zero-length element. */
export function text(vr: string, ...values: (string | undefined)[]): DcmElement {
  const present = values.filter((v): v is string => v !== undefined && v !== '');
  return present.length ? { vr, Value: present } : { vr, Value: [] };
}

/** A PN element from part-10 style strings ("Family^Given"). */
export function personName(...values: (string | undefined)[]): DcmElement {
  const present = values.filter((v): v is string => v !== undefined && v !== '');
  return { vr: 'PN', Value: present.map((v) => ({ Alphabetic: v })) };
}

export function integerString(value: number | undefined): DcmElement {
  return value === undefined ? { vr: 'IS', Value: [] } : { vr: 'IS', Value: [value] };
}

export function sequence(...items: DcmDataset[]): DcmElement {
  return { vr: 'SQ', Value: items };
}

/** A code sequence item per the Code Sequence Macro (PS3.3 Table 8.8-1). */
export function codeItem(code: { value: string; scheme: string; meaning: string }): DcmDataset {
  return {
    '00080100': text('SH', code.value),
    '00080102': text('SH', code.scheme),
    '00080104': text('LO', code.meaning),
  };
}

// ---------------------------------------------------------------------------------------------- readers

function values(ds: DcmDataset | undefined, tag: string): unknown[] {
  const el = ds?.[tag];
  return Array.isArray(el?.Value) ? el.Value : [];
}

/** Part-10 form of a value: PN objects become "Alphabetic" strings, numbers become strings. */
function asString(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'object' && 'Alphabetic' in v) {
    const alphabetic = (v as { Alphabetic?: unknown }).Alphabetic;
    return typeof alphabetic === 'string' ? alphabetic : undefined;
  }
  if (v instanceof String) return v.toString();
  return undefined;
}

/** First value of an element as a trimmed string, or undefined when absent or empty. */
export function readString(ds: DcmDataset | undefined, tag: string): string | undefined {
  return clean(asString(values(ds, tag)[0]));
}

export function readStrings(ds: DcmDataset | undefined, tag: string): string[] {
  return values(ds, tag)
    .map((v) => clean(asString(v)))
    .filter((s): s is string => !!s);
}

/** Padding (space, or NUL for UI) is not part of the value. */
function clean(s: string | undefined): string | undefined {
  const trimmed = s?.replace(/\0+$/, '').trim();
  return trimmed ? trimmed : undefined;
}

export function readInteger(ds: DcmDataset | undefined, tag: string): number | undefined {
  const v = values(ds, tag)[0];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isInteger(n) ? n : undefined;
}

export function readItems(ds: DcmDataset | undefined, tag: string): DcmDataset[] {
  return values(ds, tag).filter((v): v is DcmDataset => typeof v === 'object' && v !== null && !Array.isArray(v));
}

export function readCode(item: DcmDataset | undefined): { code: string; scheme: string; meaning?: string } | undefined {
  const code = readString(item, '00080100');
  const scheme = readString(item, '00080102');
  if (!code || !scheme) return undefined;
  const meaning = readString(item, '00080104');
  return meaning ? { code, scheme, meaning } : { code, scheme };
}
