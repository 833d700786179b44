import { NS, children, escapeXml, parseXml, serialize } from './xml.js';

/**
 * Turns a submitted ebRIM object into what the registry keeps and returns to ITI-18: its own
 * entryUUIDs instead of the submitter's symbolic ids (the DMP assigns entryUUIDs, ci-sis-imaging.md
 * §2.4), lid = id, and the slots the repository adds (repositoryUniqueId, hash, size).
 */
export function rewriteForRegistry(element: Element, ids: ReadonlyMap<string, string>, addedSlots: { name: string; value: string }[]): string {
  const copy = element.cloneNode(true) as Element;
  const map = (v: string | null) => (v !== null && ids.has(v) ? ids.get(v)! : v);
  const own = map(copy.getAttribute('id'))!;
  copy.setAttribute('id', own);
  if (copy.localName !== 'Association') copy.setAttribute('lid', own);
  copy.removeAttribute('status');
  for (const name of ['sourceObject', 'targetObject']) if (copy.hasAttribute(name)) copy.setAttribute(name, map(copy.getAttribute(name))!);
  for (const c of children(copy, NS.rim, 'Classification')) {
    c.setAttribute('id', map(c.getAttribute('id'))!);
    c.setAttribute('classifiedObject', own);
  }
  for (const x of children(copy, NS.rim, 'ExternalIdentifier')) {
    x.setAttribute('id', map(x.getAttribute('id'))!);
    x.setAttribute('registryObject', own);
  }
  const slots = children(copy, NS.rim, 'Slot');
  const prefix = copy.prefix ? `${copy.prefix}:` : '';
  for (const s of addedSlots) {
    const xml = `<${prefix}Slot xmlns${copy.prefix ? `:${copy.prefix}` : ''}="${NS.rim}" name="${escapeXml(s.name)}"><${prefix}ValueList><${prefix}Value>${escapeXml(s.value)}</${prefix}Value></${prefix}ValueList></${prefix}Slot>`;
    const slot = copy.ownerDocument.importNode(parseXml(xml, 'slot').documentElement, true);
    const after = slots[slots.length - 1];
    // ebRIM: Slots come first, before Name, Description, Classification and ExternalIdentifier.
    copy.insertBefore(slot, after ? after.nextSibling : copy.firstChild);
    slots.push(slot as Element);
  }
  return serialize(copy);
}

export function withStatus(xml: string, statusUrn: string): string {
  const doc = parseXml(xml, 'stored registry object');
  doc.documentElement.setAttribute('status', statusUrn);
  return serialize(doc.documentElement);
}
