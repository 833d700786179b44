import { data } from 'dcmjs';
import type { DicomJsonDataset } from './dicom-json.js';
import { byId } from './page.js';
import { filterRows, tagRows, type TagRow } from './tag-rows.js';
import { STRINGS } from '../strings/viewer.js';

/** The DICOM attribute view of the image on screen: a dialog with a filter, names from dcmjs' dictionary. */

const nameOf = (tag: string) => data.DicomMetaDictionary.dictionary[tag]?.name;

function fill(rows: TagRow[]): void {
  const body = byId<HTMLTableElement>('tags-table').tBodies[0]!;
  body.replaceChildren(
    ...rows.map((r) => {
      const tr = document.createElement('tr');
      for (const [cls, text] of [['tag', r.tag], ['name', r.name], ['vr', r.vr], ['value', r.value]] as const) {
        const td = document.createElement('td');
        td.className = cls;
        td.textContent = text;
        if (cls === 'name') td.style.paddingLeft = `${0.5 + r.depth * 1.2}em`;
        tr.append(td);
      }
      return tr;
    }),
  );
}

export function initTagDialog(): { open(ds: DicomJsonDataset | undefined): void } {
  const dialog = byId<HTMLDialogElement>('tags-dialog');
  const filter = byId<HTMLInputElement>('tags-filter');
  byId('tags-title').textContent = STRINGS.tagsTitle;
  byId('tags-close').textContent = STRINGS.tagsClose;
  filter.placeholder = STRINGS.tagsFilter;
  filter.setAttribute('aria-label', STRINGS.tagsFilter);
  let rows: TagRow[] = [];
  filter.addEventListener('input', () => fill(filterRows(rows, filter.value)));
  return {
    open(ds) {
      if (!ds) return;
      rows = tagRows(ds, nameOf);
      filter.value = '';
      fill(rows);
      dialog.showModal();
    },
  };
}
