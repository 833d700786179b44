import { createRequire } from 'node:module';

/** Attribute names ↔ tags, from dcmjs' copy of the PS3.6 data dictionary. */

interface DictionaryEntry {
  tag: string;
  vr: string;
  name: string;
}
interface DcmjsDictionary {
  data: { DicomMetaDictionary: { nameMap: Record<string, DictionaryEntry>; dictionary: Record<string, DictionaryEntry> } };
}
const { nameMap, dictionary } = (createRequire(import.meta.url)('dcmjs') as DcmjsDictionary).data.DicomMetaDictionary;

export interface Attribute {
  /** Eight upper-case hex digits, as in DICOM JSON. */
  tag: string;
  keyword: string;
  vr: string;
}

/** An attribute named by keyword (PatientName) or by tag (00100010), as QIDO allows (PS3.18 §8.3.4.1). */
export function lookupAttribute(id: string): Attribute | undefined {
  if (/^[0-9A-Fa-f]{8}$/.test(id)) {
    const tag = id.toUpperCase();
    const entry = dictionary[`(${tag.slice(0, 4)},${tag.slice(4)})`];
    return entry ? { tag, keyword: entry.name, vr: entry.vr } : undefined;
  }
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(id)) return undefined;
  const entry = nameMap[id];
  if (!entry || !/^\([0-9A-F]{4},[0-9A-F]{4}\)$/.test(entry.tag)) return undefined;
  return { tag: entry.tag.slice(1, 5) + entry.tag.slice(6, 10), keyword: entry.name, vr: entry.vr };
}
