import type { Element } from '@xmldom/xmldom';
import { NS } from './codes.js';
import { cidFromHref, MimeError, parseContentType, readAll, readMultipart, type MimePart } from './mtom.js';
import { registryStatusOf, ResponseError, type RegistryStatus } from './outcomes.js';
import { attr, childElements, descendants, esc, firstChild, parseXmlSafely } from './xml.js';

/** ITI-43 Retrieve Document Set (IHE ITI TF-2b §3.43): request, and a streaming read of the MTOM answer. */

export interface DocumentRequest {
  repositoryUniqueId: string;
  documentUniqueId: string;
  homeCommunityId?: string;
}

export function retrieveRequestXml(requests: DocumentRequest[]): string {
  if (!requests.length) throw new RangeError('RetrieveDocumentSet needs at least one document');
  return (
    `<xdsb:RetrieveDocumentSetRequest xmlns:xdsb="${NS.xdsb}">` +
    requests
      .map(
        (r) =>
          `<xdsb:DocumentRequest>` +
          (r.homeCommunityId ? `<xdsb:HomeCommunityId>${esc(r.homeCommunityId)}</xdsb:HomeCommunityId>` : '') +
          `<xdsb:RepositoryUniqueId>${esc(r.repositoryUniqueId)}</xdsb:RepositoryUniqueId>` +
          `<xdsb:DocumentUniqueId>${esc(r.documentUniqueId)}</xdsb:DocumentUniqueId>` +
          `</xdsb:DocumentRequest>`,
      )
      .join('') +
    `</xdsb:RetrieveDocumentSetRequest>`
  );
}

export interface RetrievedDocumentMeta {
  repositoryUniqueId: string;
  documentUniqueId: string;
  mimeType: string;
  homeCommunityId?: string;
}

export interface RetrievedDocument extends RetrievedDocumentMeta {
  /** The document's bytes, streamed. Read them before asking for the next document. */
  body: AsyncIterable<Buffer>;
}

export interface RetrieveResponse {
  status: RegistryStatus;
  /** The documents the answer announces, in order. */
  announced: RetrievedDocumentMeta[];
  /** Yields each announced document with its body; throws if one announced attachment is missing. */
  documents(): AsyncGenerator<RetrievedDocument>;
}

export interface RetrieveLimits {
  /** The SOAP part is read whole: cap it (inline base64 documents count). */
  maxSoapBytes: number;
}

const DEFAULT_LIMITS: RetrieveLimits = { maxSoapBytes: 32 * 1024 * 1024 };

interface Announced extends RetrievedDocumentMeta {
  cid?: string;
  inline?: Buffer;
}

function announcedOf(response: Element): Announced[] {
  return childElements(response, NS.xdsb, 'DocumentResponse').map((d) => {
    const text = (name: string) => firstChild(d, NS.xdsb, name)?.textContent?.trim() ?? '';
    const docEl = firstChild(d, NS.xdsb, 'Document');
    if (!docEl) throw new ResponseError('a DocumentResponse has no Document');
    const include = childElements(docEl, NS.xop, 'Include')[0];
    const home = text('HomeCommunityId');
    const meta: Announced = {
      repositoryUniqueId: text('RepositoryUniqueId'),
      documentUniqueId: text('DocumentUniqueId'),
      mimeType: text('mimeType'),
      ...(home ? { homeCommunityId: home } : {}),
    };
    if (include) meta.cid = cidFromHref(attr(include, 'href') ?? '');
    else meta.inline = Buffer.from((docEl.textContent ?? '').replace(/\s+/g, ''), 'base64');
    return meta;
  });
}

async function* once(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
}

function strip(a: Announced): RetrievedDocumentMeta {
  const { cid: _cid, inline: _inline, ...meta } = a;
  return meta;
}

/** Opens an ITI-43 answer (MTOM multipart, or plain SOAP with inline base64 documents). */
export async function openRetrieveResponse(
  contentType: string,
  body: AsyncIterable<Buffer>,
  limits: RetrieveLimits = DEFAULT_LIMITS,
): Promise<RetrieveResponse> {
  const ct = parseContentType(contentType);
  let parts: AsyncGenerator<MimePart> | undefined;
  let soap: Buffer;
  if (ct.type === 'multipart/related') {
    const boundary = ct.params.boundary;
    if (!boundary) throw new MimeError('multipart answer without a boundary');
    parts = readMultipart(body, boundary);
    const first = await parts.next();
    if (first.done) throw new MimeError('empty multipart answer');
    const start = ct.params.start?.replace(/^<|>$/g, '');
    if (start && first.value.contentId !== start) {
      throw new MimeError(`the SOAP part (${start}) must come first in the answer; got ${first.value.contentId ?? 'a part without Content-ID'}`);
    }
    soap = await readAll(first.value.body, limits.maxSoapBytes, 'SOAP part of the answer');
  } else {
    soap = await readAll(body, limits.maxSoapBytes, 'SOAP answer');
  }
  const doc = parseXmlSafely(soap.toString('utf8'), 'ITI-43 answer');
  const response = descendants(doc, NS.xdsb, 'RetrieveDocumentSetResponse')[0];
  if (!response) throw new ResponseError('the answer holds no RetrieveDocumentSetResponse');
  const registryResponse = firstChild(response, NS.rs, 'RegistryResponse');
  if (!registryResponse) throw new ResponseError('RetrieveDocumentSetResponse without RegistryResponse');
  const status = registryStatusOf(registryResponse);
  const announced = announcedOf(response);

  async function* documents(): AsyncGenerator<RetrievedDocument> {
    const pending = new Map<string, Announced>();
    for (const a of announced) {
      if (a.inline) yield { ...strip(a), body: once(a.inline) };
      else if (a.cid) pending.set(a.cid, a);
    }
    if (pending.size === 0) return;
    if (!parts) throw new MimeError('the answer refers to attachments but is not multipart');
    for await (const part of parts) {
      const a = part.contentId ? pending.get(part.contentId) : undefined;
      if (!a) continue;
      pending.delete(part.contentId!);
      yield { ...strip(a), body: part.body };
      if (pending.size === 0) break;
    }
    if (pending.size > 0) throw new MimeError(`attachment(s) missing from the answer: ${[...pending.keys()].join(', ')}`);
  }
  return { status, announced: announced.map(strip), documents };
}
