import { KosBuildError } from './errors.js';

/** Maximum characters per value (PS3.5 Table 6.2-1) for the string VRs the KOS writes from outside data. */
const MAX_CHARS = { SH: 16, LO: 64, PN: 64, LT: 10240 } as const;
type TextVr = keyof typeof MAX_CHARS;

/** Backslash separates values and control characters are not allowed in these VRs: neither may come from input. */
const FORBIDDEN = /[\x00-\x1f\x7f\\]/g;
const HAS_FORBIDDEN = /[\x00-\x1f\x7f\\]/;

/** Descriptive text (descriptions, names of things): cleaned and cut to the VR's length rather than refused. */
export function fitText(vr: TextVr, value: string | undefined): string | undefined {
  const clean = value?.replace(FORBIDDEN, ' ').trim();
  return clean ? [...clean].slice(0, MAX_CHARS[vr]).join('').trimEnd() : undefined;
}

/**
 * Identifiers (patient id, accession, order numbers) are never cut: a truncated identifier names something else.
 */
export function checkedIdentifier(vr: TextVr, value: string | undefined, what: string): string | undefined {
  const trimmed = value?.trim();
  if (!trimmed) return undefined;
  if (HAS_FORBIDDEN.test(trimmed)) {
    throw new KosBuildError(`${what} "${trimmed}" contains a backslash or control character, not allowed in DICOM ${vr}`);
  }
  if ([...trimmed].length > MAX_CHARS[vr]) {
    throw new KosBuildError(`${what} "${trimmed}" is longer than the ${MAX_CHARS[vr]} characters DICOM ${vr} allows`);
  }
  return trimmed;
}

/** One PN component: the delimiters ^ and = and the value separator are replaced by spaces. */
function component(value: string | undefined): string {
  return (value ?? '').replace(FORBIDDEN, ' ').replace(/[\^=]/g, ' ').replace(/\s+/g, ' ').trim();
}

/** "Family^Given" from name parts, or undefined when both are empty. */
export function personNameOf(family: string | undefined, given: string | undefined): string | undefined {
  const f = component(family);
  const g = component(given);
  if (!f && !g) return undefined;
  return fitPersonName(g ? `${f}^${g}` : f);
}

/** A part-10 PN string from outside (C-FIND): alphabetic group only, cut to 64 characters. */
export function fitPersonName(value: string | undefined): string | undefined {
  const alphabetic = value?.split('=')[0]?.replace(FORBIDDEN, ' ').trim();
  return alphabetic ? [...alphabetic].slice(0, MAX_CHARS.PN).join('').replace(/\^+$/, '') : undefined;
}

const DA = /^\d{8}$/;
const TM = /^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$/;

/** A DA value from outside, or undefined when malformed: an empty Type 2 attribute beats an invalid one. */
export function validDate(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v && DA.test(v) ? v : undefined;
}

export function validTime(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v && TM.test(v) ? v : undefined;
}
