import { UUID } from './codes.js';
import { NS, attr, child, children, elementChildren, text } from './xml.js';

/** The parts of ebRIM 3.0 the XDS metadata uses, read from a SubmitObjectsRequest. */

export interface Slot {
  name: string;
  values: string[];
}

export interface Coded {
  code: string;
  scheme: string;
  display: string;
}

export interface RimClassification {
  id: string;
  scheme?: string;
  node?: string;
  classifiedObject: string;
  nodeRepresentation?: string;
  slots: Slot[];
  name: string;
}

export interface RimExternalIdentifier {
  id: string;
  scheme: string;
  value: string;
  registryObject: string;
}

export interface RimObject {
  kind: 'ExtrinsicObject' | 'RegistryPackage' | 'Association' | 'ObjectRef';
  element: Element;
  id: string;
  slots: Slot[];
  classifications: RimClassification[];
  externalIds: RimExternalIdentifier[];
  name: string;
  mimeType?: string;
  objectType?: string;
  associationType?: string;
  sourceObject?: string;
  targetObject?: string;
}

export interface Submission {
  objects: RimObject[];
  /** Classification elements placed directly in RegistryObjectList (e.g. the SubmissionSet node). */
  topClassifications: RimClassification[];
  /** Structural problems found while reading (duplicate ids, duplicate slots...). */
  problems: { context: string; location?: string }[];
}

export function readSubmitObjectsRequest(request: Element): Submission {
  const list = child(request, NS.rim, 'RegistryObjectList');
  const submission: Submission = { objects: [], topClassifications: [], problems: [] };
  if (!list) {
    submission.problems.push({ context: 'SubmitObjectsRequest has no rim:RegistryObjectList' });
    return submission;
  }
  const ids = new Set<string>();
  const noteId = (id: string, where: string) => {
    if (!id) submission.problems.push({ context: `${where} has no id` });
    else if (ids.has(id)) submission.problems.push({ context: `id "${id}" is used by more than one object`, location: id });
    ids.add(id);
  };
  for (const e of elementChildren(list)) {
    if (e.namespaceURI !== NS.rim) continue;
    if (e.localName === 'Classification') {
      const c = readClassification(e, submission);
      noteId(c.id, 'Classification');
      submission.topClassifications.push(c);
      continue;
    }
    if (!['ExtrinsicObject', 'RegistryPackage', 'Association', 'ObjectRef'].includes(e.localName)) {
      submission.problems.push({ context: `rim:${e.localName} is not an object XDS submits` });
      continue;
    }
    const o: RimObject = {
      kind: e.localName as RimObject['kind'],
      element: e,
      id: attr(e, 'id') ?? '',
      slots: readSlots(e, submission, attr(e, 'id') ?? e.localName),
      classifications: children(e, NS.rim, 'Classification').map((c) => readClassification(c, submission)),
      externalIds: children(e, NS.rim, 'ExternalIdentifier').map((x) => ({
        id: attr(x, 'id') ?? '',
        scheme: attr(x, 'identificationScheme') ?? '',
        value: attr(x, 'value') ?? '',
        registryObject: attr(x, 'registryObject') ?? '',
      })),
      name: localized(child(e, NS.rim, 'Name')),
      mimeType: attr(e, 'mimeType'),
      objectType: attr(e, 'objectType'),
      associationType: attr(e, 'associationType'),
      sourceObject: attr(e, 'sourceObject'),
      targetObject: attr(e, 'targetObject'),
    };
    noteId(o.id, `rim:${o.kind}`);
    for (const c of o.classifications) noteId(c.id, `a Classification of ${o.id}`);
    for (const x of o.externalIds) noteId(x.id, `an ExternalIdentifier of ${o.id}`);
    submission.objects.push(o);
  }
  return submission;
}

function readClassification(e: Element, submission: Submission): RimClassification {
  const id = attr(e, 'id') ?? '';
  return {
    id,
    scheme: attr(e, 'classificationScheme'),
    node: attr(e, 'classificationNode'),
    classifiedObject: attr(e, 'classifiedObject') ?? '',
    nodeRepresentation: attr(e, 'nodeRepresentation'),
    slots: readSlots(e, submission, id || 'Classification'),
    name: localized(child(e, NS.rim, 'Name')),
  };
}

function readSlots(e: Element, submission: Submission, owner: string): Slot[] {
  const slots: Slot[] = [];
  for (const s of children(e, NS.rim, 'Slot')) {
    const name = attr(s, 'name') ?? '';
    if (slots.some((x) => x.name === name)) submission.problems.push({ context: `Slot "${name}" appears twice on ${owner}`, location: owner });
    const valueList = child(s, NS.rim, 'ValueList');
    slots.push({ name, values: valueList ? children(valueList, NS.rim, 'Value').map((v) => text(v)) : [] });
  }
  return slots;
}

function localized(e: Element | undefined): string {
  const ls = e ? child(e, NS.rim, 'LocalizedString') : undefined;
  return ls ? attr(ls, 'value') ?? '' : '';
}

export function slotValues(o: { slots: Slot[] }, name: string): string[] | undefined {
  return o.slots.find((s) => s.name === name)?.values;
}

export function classificationsOf(o: RimObject, scheme: string): RimClassification[] {
  return o.classifications.filter((c) => c.scheme === scheme);
}

export function coded(c: RimClassification): Coded {
  const scheme = c.slots.find((s) => s.name === 'codingScheme')?.values ?? [];
  return { code: c.nodeRepresentation ?? '', scheme: scheme.length === 1 ? scheme[0]! : '', display: c.name };
}

export function externalId(o: RimObject, scheme: string): string | undefined {
  return o.externalIds.find((x) => x.scheme === scheme)?.value;
}

/** Is this RegistryPackage the SubmissionSet (classified by the SubmissionSet node, inline or at top level)? */
export function isSubmissionSet(o: RimObject, submission: Submission): boolean {
  if (o.kind !== 'RegistryPackage') return false;
  const byNode = (c: RimClassification) => c.node === UUID.ssNode && c.classifiedObject === o.id;
  return o.classifications.some(byNode) || submission.topClassifications.some(byNode);
}
