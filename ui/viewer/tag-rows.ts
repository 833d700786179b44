import type { DicomJsonDataset } from './dicom-json.js';
import { STRINGS } from '../strings/viewer.js';

/** The rows of the DICOM attribute view: every attribute of an instance's metadata, sequences indented. Pure. */

export interface TagRow {
  /** `(0010,0010)` */
  tag: string;
  name: string;
  vr: string;
  value: string;
  depth: number;
}

/** Rows shown at most: a peer controls the metadata, the page must stay responsive. */
export const MAX_TAG_ROWS = 5000;
const MAX_DEPTH = 4;
const MAX_VALUE_CHARS = 256;

function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object' && 'Alphabetic' in (v as object)) return String((v as { Alphabetic?: unknown }).Alphabetic ?? '');
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function binaryBytes(inline: string | undefined): number | undefined {
  return inline === undefined ? undefined : Math.floor((inline.replace(/=+$/, '').length * 3) / 4);
}

export function tagRows(ds: DicomJsonDataset, nameOf: (tag: string) => string | undefined, depth = 0, out: TagRow[] = []): TagRow[] {
  for (const key of Object.keys(ds).sort()) {
    if (out.length >= MAX_TAG_ROWS) break;
    if (!/^[0-9A-Fa-f]{8}$/.test(key)) continue;
    const attr = ds[key];
    if (!attr) continue;
    const tag = `(${key.slice(0, 4).toUpperCase()},${key.slice(4).toUpperCase()})`;
    const vr = attr.vr ?? '';
    const row: TagRow = { tag, name: nameOf(tag) ?? '', vr, value: '', depth };
    out.push(row);
    if (vr === 'SQ') {
      const children = (attr.Value ?? []).filter((i): i is DicomJsonDataset => i !== null && typeof i === 'object');
      row.value = STRINGS.tagsSequence(children.length);
      if (depth < MAX_DEPTH) for (const child of children) tagRows(child, nameOf, depth + 1, out);
    } else if (attr.InlineBinary !== undefined || attr.BulkDataURI !== undefined) {
      row.value = STRINGS.tagsBinary(binaryBytes(attr.InlineBinary));
    } else {
      const text = (attr.Value ?? []).map(formatValue).join('\\');
      row.value = text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}…` : text;
    }
  }
  return out;
}

/** Rows matching a filter typed by the user: name, tag number (with or without punctuation) or value. */
export function filterRows(rows: TagRow[], query: string): TagRow[] {
  const q = query.trim().toLowerCase();
  if (!q) return rows;
  const bare = q.replace(/[(),\s]/g, '');
  return rows.filter((r) => r.name.toLowerCase().includes(q) || r.value.toLowerCase().includes(q) || (bare !== '' && r.tag.replace(/[(),]/g, '').toLowerCase().includes(bare)));
}
