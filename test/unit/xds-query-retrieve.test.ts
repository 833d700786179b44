import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KOS, NS, STATUS } from '../../appliance/src/xds/codes.js';
import { documentEntryXml, type DocumentEntryMetadata } from '../../appliance/src/xds/metadata.js';
import { xcnDisplayName, xonDisplayName } from '../../appliance/src/xds/metadata-parse.js';
import { buildMtom, readAll } from '../../appliance/src/xds/mtom.js';
import { findDocumentsXml, getAssociationsXml, getDocumentsXml, quoted, queryResultOf } from '../../appliance/src/xds/query.js';
import { openRetrieveResponse, retrieveRequestXml } from '../../appliance/src/xds/retrieve.js';
import { descendants, parseXmlSafely } from '../../appliance/src/xds/xml.js';

function slotValues(xml: string): Record<string, string[]> {
  const doc = parseXmlSafely(xml, 'query');
  const out: Record<string, string[]> = {};
  for (const s of descendants(doc, NS.rim, 'Slot')) {
    out[s.getAttribute('name')!] = [...(out[s.getAttribute('name')!] ?? []), ...descendants(s, NS.rim, 'Value').map((v) => v.textContent ?? '')];
  }
  return out;
}

describe('ITI-18 requests', () => {
  it('FindDocuments by patient for IMG-KOS entries, Approved and Deprecated, LeafClass', () => {
    const xml = findDocumentsXml({
      patientId: '279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH',
      statuses: ['Approved', 'Deprecated'],
      eventCodes: [[{ code: 'CT', scheme: '1.2.250.1.213.1.1.5.618', display: '' }, { code: 'MR', scheme: '1.2.250.1.213.1.1.5.618', display: '' }]],
      creationTimeFrom: '20240101',
    });
    const doc = parseXmlSafely(xml, 'query');
    expect(descendants(doc, NS.rim, 'AdhocQuery')[0]!.getAttribute('id')).toBe('urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d');
    expect(descendants(doc, NS.query, 'ResponseOption')[0]!.getAttribute('returnType')).toBe('LeafClass');
    expect(slotValues(xml)).toEqual({
      $XDSDocumentEntryPatientId: ["'279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH'"],
      $XDSDocumentEntryStatus: ["('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved','urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated')"],
      $XDSDocumentEntryTypeCode: ["('IMG-KOS^^1.2.250.1.213.1.1.4.12')"],
      $XDSDocumentEntryEventCodeList: ["('CT^^1.2.250.1.213.1.1.5.618','MR^^1.2.250.1.213.1.1.5.618')"],
      $XDSDocumentEntryCreationTimeFrom: ['20240101'],
    });
  });

  it('GetDocuments by uniqueId or entryUUID, GetAssociations; quotes are escaped', () => {
    expect(slotValues(getDocumentsXml({ uniqueIds: ['1.2.3', '1.2.4'] }))).toEqual({ $XDSDocumentEntryUniqueId: ["('1.2.3','1.2.4')"] });
    expect(slotValues(getDocumentsXml({ entryUUIDs: ['urn:uuid:x'] }))).toEqual({ $XDSDocumentEntryEntryUUID: ["('urn:uuid:x')"] });
    expect(getDocumentsXml({ uniqueIds: ['1'], returnType: 'ObjectRef' })).toContain('returnType="ObjectRef"');
    expect(slotValues(getAssociationsXml(['urn:uuid:y']))).toEqual({ $uuid: ["('urn:uuid:y')"] });
    expect(quoted("O'Neil")).toBe("'O''Neil'");
    expect(() => getDocumentsXml({ uniqueIds: [] })).toThrow(RangeError);
    expect(() => findDocumentsXml({ patientId: 'x', creationTimeFrom: '2024-01-01' })).toThrow(RangeError);
  });

  it('ITI-43 request names repository and document', () => {
    const doc = parseXmlSafely(retrieveRequestXml([{ repositoryUniqueId: '1.2.250.1.213.4.1', documentUniqueId: '1.2.3' }]), 'rq');
    expect(descendants(doc, NS.xdsb, 'RepositoryUniqueId')[0]!.textContent).toBe('1.2.250.1.213.4.1');
    expect(descendants(doc, NS.xdsb, 'DocumentUniqueId')[0]!.textContent).toBe('1.2.3');
  });
});

const entry: DocumentEntryMetadata = {
  entryUUID: 'urn:uuid:11111111-2222-4333-8444-555555555555',
  mimeType: KOS.mimeType,
  uniqueId: '1.2.250.1.999.9.1',
  patientId: '279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH',
  title: KOS.title,
  comments: 'IRM du genou',
  creationTime: '20240115100000',
  languageCode: 'fr-FR',
  serviceStartTime: '20240115083000',
  hash: 'ab'.repeat(20),
  size: 1234,
  legalAuthenticator: '810001234567^RADIO^Jeanne^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS',
  sourcePatientId: 'IPP^^^&1.2.3&ISO^PI',
  sourcePatientInfo: [],
  referenceIds: ['1.2.3.4^^^^urn:ihe:iti:xds:2016:studyInstanceUID'],
  author: { person: '810001234567^RADIO^Jeanne^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS', institutions: ['Cabinet du Parc^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1750000001'] },
  classCode: KOS.classCode,
  typeCode: KOS.typeCode,
  formatCode: KOS.formatCode,
  confidentialityCodes: [{ code: 'N', scheme: '2.16.840.1.113883.5.25', display: 'Normal' }],
  eventCodes: [
    { code: 'MR', scheme: '1.2.250.1.213.1.1.5.618', display: 'Magnetic Resonance' },
    { code: '61685007', scheme: '1.2.250.1.213.1.1.5.695', display: 'Membres inferieurs' },
  ],
  healthcareFacilityTypeCode: { code: 'SA08', scheme: '1.2.250.1.71.4.2.4', display: 'Cabinet de groupe' },
  practiceSettingCode: { code: 'AMBULATOIRE', scheme: '1.2.250.1.213.1.1.4.9', display: 'Ambulatoire' },
};

function queryResponse(objects: string, status = 'urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success'): string {
  return `<soap:Envelope xmlns:soap="${NS.soap}"><soap:Body><query:AdhocQueryResponse xmlns:query="${NS.query}" xmlns="${NS.rim}" status="${status}"><RegistryObjectList>${objects}</RegistryObjectList></query:AdhocQueryResponse></soap:Body></soap:Envelope>`;
}

describe('ITI-18 answers → typed DocumentEntries', () => {
  it('reads what the consumer lists: date, modality, region, description, facility, status, ids', () => {
    const registryXml = documentEntryXml(entry)
      .replace('<ExtrinsicObject ', `<ExtrinsicObject status="${STATUS.deprecated}" `)
      .replace('<Slot name="creationTime">', '<Slot name="repositoryUniqueId"><ValueList><Value>1.2.250.1.213.4.1</Value></ValueList></Slot><Slot name="creationTime">');
    const result = queryResultOf(parseXmlSafely(queryResponse(registryXml), 'answer'));
    expect(result.status.status).toBe('Success');
    const [e] = result.documentEntries;
    expect(e).toMatchObject({
      entryUUID: entry.entryUUID,
      uniqueId: '1.2.250.1.999.9.1',
      repositoryUniqueId: '1.2.250.1.213.4.1',
      status: 'Deprecated',
      availabilityStatus: STATUS.deprecated,
      serviceStartTime: '20240115083000',
      comments: 'IRM du genou',
      size: 1234,
      healthcareFacilityTypeCode: { code: 'SA08', display: 'Cabinet de groupe' },
      modalities: [{ code: 'MR', scheme: '1.2.250.1.213.1.1.5.618', display: 'Magnetic Resonance' }],
      regions: [{ code: '61685007', scheme: '1.2.250.1.213.1.1.5.695', display: 'Membres inferieurs' }],
    });
    expect(xcnDisplayName(e!.authors[0]!.person)).toBe('Jeanne RADIO');
    expect(xonDisplayName(e!.authors[0]!.institutions[0])).toBe('Cabinet du Parc');
  });

  it('reads ObjectRef answers and associations', () => {
    const xml = queryResponse(
      `<ObjectRef id="urn:uuid:aaa"/><Association associationType="urn:ihe:iti:2007:AssociationType:RPLC" id="urn:uuid:as" sourceObject="urn:uuid:new" targetObject="urn:uuid:old"/>`,
    );
    const result = queryResultOf(parseXmlSafely(xml, 'answer'));
    expect(result.objectRefs).toEqual(['urn:uuid:aaa']);
    expect(result.associations).toEqual([{ id: 'urn:uuid:as', type: 'urn:ihe:iti:2007:AssociationType:RPLC', sourceObject: 'urn:uuid:new', targetObject: 'urn:uuid:old', slots: {} }]);
  });
});

async function* chunked(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

function retrieveResponseSoap(docs: { uid: string; cid?: string; inline?: Buffer }[], status = 'urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success'): string {
  return (
    `<soap:Envelope xmlns:soap="${NS.soap}"><soap:Body><xdsb:RetrieveDocumentSetResponse xmlns:xdsb="${NS.xdsb}">` +
    `<rs:RegistryResponse xmlns:rs="${NS.rs}" status="${status}"/>` +
    docs
      .map(
        (d) =>
          `<xdsb:DocumentResponse><xdsb:RepositoryUniqueId>1.2.250.1.213.4.1</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>${d.uid}</xdsb:DocumentUniqueId>` +
          `<xdsb:mimeType>application/dicom</xdsb:mimeType><xdsb:Document>${d.cid ? `<xop:Include xmlns:xop="${NS.xop}" href="cid:${d.cid}"/>` : d.inline!.toString('base64')}</xdsb:Document></xdsb:DocumentResponse>`,
      )
      .join('') +
    `</xdsb:RetrieveDocumentSetResponse></soap:Body></soap:Envelope>`
  );
}

describe('ITI-43 answers, streamed', () => {
  it('streams each MTOM attachment to the caller, byte-identical, whatever the chunking', async () => {
    const a = randomBytes(300_000);
    const b = randomBytes(1_000);
    const msg = buildMtom(retrieveResponseSoap([{ uid: '1.2.1', cid: 'a@x' }, { uid: '1.2.2', cid: 'b@x' }]), [
      { contentId: 'a@x', contentType: 'application/octet-stream', body: a },
      { contentId: 'b@x', contentType: 'application/octet-stream', body: b },
    ], 'urn:ihe:iti:2007:RetrieveDocumentSetResponse');
    for (const size of [3, 1500, 65_536]) {
      const r = await openRetrieveResponse(msg.contentType, chunked(Buffer.concat(msg.chunks), size));
      expect(r.status.status).toBe('Success');
      expect(r.announced.map((d) => d.documentUniqueId)).toEqual(['1.2.1', '1.2.2']);
      const got: [string, Buffer][] = [];
      for await (const d of r.documents()) got.push([d.documentUniqueId, await readAll(d.body, 1 << 24, 'doc')]);
      expect(got.map(([id]) => id)).toEqual(['1.2.1', '1.2.2']);
      expect(got[0]![1].equals(a) && got[1]![1].equals(b)).toBe(true);
    }
  });

  it('reads inline base64 documents of a plain SOAP answer', async () => {
    const doc = randomBytes(500);
    const soap = Buffer.from(retrieveResponseSoap([{ uid: '1.2.9', inline: doc }]));
    const r = await openRetrieveResponse('application/soap+xml; charset=UTF-8', chunked(soap, 100));
    const [d] = await (async () => { const out = []; for await (const x of r.documents()) out.push({ ...x, bytes: await readAll(x.body, 1 << 20, 'd') }); return out; })();
    expect(d!.bytes.equals(doc)).toBe(true);
    expect(d!.mimeType).toBe('application/dicom');
  });

  it('fails when an announced attachment is missing, and reports a Failure status', async () => {
    const msg = buildMtom(retrieveResponseSoap([{ uid: '1.2.1', cid: 'gone@x' }]), [], 'x');
    const r = await openRetrieveResponse(msg.contentType, chunked(Buffer.concat(msg.chunks), 64));
    await expect((async () => { for await (const _ of r.documents()) void _; })()).rejects.toThrow(/missing/);
    const failed = Buffer.from(retrieveResponseSoap([], 'urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure'));
    expect((await openRetrieveResponse('application/soap+xml', chunked(failed, 50))).status.status).toBe('Failure');
  });
});
