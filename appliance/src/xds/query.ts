import type { Document } from '@xmldom/xmldom';
import { KOS, NS, STATUS, STORED_QUERY, type Code } from './codes.js';
import { slotXml, type Slot } from './metadata.js';
import { registryObjectsFrom, type RegistryObjects } from './metadata-parse.js';
import { registryStatusOf, ResponseError, type RegistryStatus } from './outcomes.js';
import { firstChild } from './xml.js';

/** ITI-18 Registry Stored Query requests and answers (IHE ITI TF-2a §3.18). */

export type ReturnType = 'LeafClass' | 'ObjectRef';
export type EntryStatus = 'Approved' | 'Deprecated';

export interface FindDocumentsQuery {
  /** XDS patientId (INS CX ^NH). */
  patientId: string;
  /** Default: Approved only. */
  statuses?: EntryStatus[];
  /** Default: IMG-KOS. An empty list leaves the type unconstrained. */
  typeCodes?: Code[];
  classCodes?: Code[];
  /** Each inner list is one $XDSDocumentEntryEventCodeList slot: codes OR-ed inside, slots AND-ed together. */
  eventCodes?: Code[][];
  /** XDS DTM bounds (UTC). */
  creationTimeFrom?: string;
  creationTimeTo?: string;
  serviceStartTimeFrom?: string;
  serviceStartTimeTo?: string;
  returnType?: ReturnType;
}

/** A stored-query string literal: single-quoted, inner quotes doubled (ITI TF-2a §3.18.4.1.2.3.5). */
export function quoted(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export const list = (values: string[]): string => `(${values.map(quoted).join(',')})`;
export const codeValue = (c: Code): string => `${c.code}^^${c.scheme}`;

const STATUS_URN: Record<EntryStatus, string> = { Approved: STATUS.approved, Deprecated: STATUS.deprecated };

function dtmSlot(name: string, value: string | undefined): Slot[] {
  if (value === undefined) return [];
  if (!/^\d{4,14}$/.test(value)) throw new RangeError(`${name}: "${value}" is not an XDS DTM`);
  return [{ name, values: [value] }];
}

export function adhocQueryXml(queryId: string, slots: Slot[], returnType: ReturnType): string {
  return (
    `<query:AdhocQueryRequest xmlns:query="${NS.query}" xmlns="${NS.rim}">` +
    `<query:ResponseOption returnComposedObjects="true" returnType="${returnType}"/>` +
    `<AdhocQuery id="${queryId}">${slots.map(slotXml).join('')}</AdhocQuery>` +
    `</query:AdhocQueryRequest>`
  );
}

export function findDocumentsXml(q: FindDocumentsQuery): string {
  const typeCodes = q.typeCodes ?? [KOS.typeCode];
  const slots: Slot[] = [
    { name: '$XDSDocumentEntryPatientId', values: [quoted(q.patientId)] },
    { name: '$XDSDocumentEntryStatus', values: [list((q.statuses ?? ['Approved']).map((s) => STATUS_URN[s]))] },
  ];
  if (typeCodes.length) slots.push({ name: '$XDSDocumentEntryTypeCode', values: [list(typeCodes.map(codeValue))] });
  if (q.classCodes?.length) slots.push({ name: '$XDSDocumentEntryClassCode', values: [list(q.classCodes.map(codeValue))] });
  for (const group of q.eventCodes ?? []) {
    if (group.length) slots.push({ name: '$XDSDocumentEntryEventCodeList', values: [list(group.map(codeValue))] });
  }
  slots.push(
    ...dtmSlot('$XDSDocumentEntryCreationTimeFrom', q.creationTimeFrom),
    ...dtmSlot('$XDSDocumentEntryCreationTimeTo', q.creationTimeTo),
    ...dtmSlot('$XDSDocumentEntryServiceStartTimeFrom', q.serviceStartTimeFrom),
    ...dtmSlot('$XDSDocumentEntryServiceStartTimeTo', q.serviceStartTimeTo),
  );
  return adhocQueryXml(STORED_QUERY.findDocuments, slots, q.returnType ?? 'LeafClass');
}

export type GetDocumentsQuery = ({ uniqueIds: string[] } | { entryUUIDs: string[] }) & { returnType?: ReturnType };

export function getDocumentsXml(q: GetDocumentsQuery): string {
  const slot: Slot =
    'uniqueIds' in q
      ? { name: '$XDSDocumentEntryUniqueId', values: [list(q.uniqueIds)] }
      : { name: '$XDSDocumentEntryEntryUUID', values: [list(q.entryUUIDs)] };
  if (slot.values[0] === '()') throw new RangeError('GetDocuments needs at least one identifier');
  return adhocQueryXml(STORED_QUERY.getDocuments, [slot], q.returnType ?? 'LeafClass');
}

export function getAssociationsXml(uuids: string[]): string {
  if (!uuids.length) throw new RangeError('GetAssociations needs at least one entryUUID');
  return adhocQueryXml(STORED_QUERY.getAssociations, [{ name: '$uuid', values: [list(uuids)] }], 'LeafClass');
}

export interface QueryResult extends RegistryObjects {
  status: RegistryStatus;
}

/** Reads an AdhocQueryResponse from a parsed SOAP envelope. */
export function queryResultOf(doc: Document): QueryResult {
  const response = doc.getElementsByTagNameNS(NS.query, 'AdhocQueryResponse')[0];
  if (!response) throw new ResponseError('the answer holds no AdhocQueryResponse');
  return { status: registryStatusOf(response), ...registryObjectsFrom(firstChild(response, NS.rim, 'RegistryObjectList')) };
}
