import type { Document } from '@xmldom/xmldom';
import { NS } from './codes.js';
import { registryObjectsFrom, type RegistryObjects } from './metadata-parse.js';
import { cidFromHref, MimeError, parseContentType, readAll, readMultipart } from './mtom.js';
import { ResponseError } from './outcomes.js';
import { attr, childElements, descendants, firstChild, parseXmlSafely, textOf } from './xml.js';

/**
 * Reads an ITI-41 Provide and Register request back into typed metadata and document bytes: the box's own archived
 * submissions (the VIHF of a PACS-triggered update comes from them) and other producers' samples.
 */

export interface ParsedProvideAndRegister extends RegistryObjects {
  action?: string;
  messageId?: string;
  to?: string;
  /** Document bytes by ExtrinsicObject id (xdsb:Document/@id). */
  documents: Map<string, Buffer>;
}

export interface ProvideParseLimits {
  maxSoapBytes: number;
  maxDocumentBytes: number;
}

const DEFAULT_LIMITS: ProvideParseLimits = { maxSoapBytes: 16 * 1024 * 1024, maxDocumentBytes: 256 * 1024 * 1024 };

function header(doc: Document, name: string): string | undefined {
  return textOf(descendants(doc, NS.wsa, name)[0])?.trim();
}

/** The metadata of a SubmitObjectsRequest (ITI-41 body part or ITI-57 request) found anywhere in `doc`. */
export function submitObjectsOf(doc: Document): RegistryObjects {
  const sor = descendants(doc, NS.lcm, 'SubmitObjectsRequest')[0];
  if (!sor) throw new ResponseError('no lcm:SubmitObjectsRequest in the message');
  return registryObjectsFrom(firstChild(sor, NS.rim, 'RegistryObjectList'));
}

export async function parseProvideAndRegister(
  contentType: string,
  body: AsyncIterable<Buffer>,
  limits: ProvideParseLimits = DEFAULT_LIMITS,
): Promise<ParsedProvideAndRegister> {
  const ct = parseContentType(contentType);
  if (ct.type !== 'multipart/related' || !ct.params.boundary) {
    throw new MimeError(`an ITI-41 request is MTOM (multipart/related), not ${ct.type}`);
  }
  const start = ct.params.start?.replace(/^<|>$/g, '');
  const attachments = new Map<string, Buffer>();
  let soap: Buffer | undefined;
  let total = 0;
  for await (const part of readMultipart(body, ct.params.boundary)) {
    const isRoot = start ? part.contentId === start : soap === undefined;
    if (isRoot) {
      soap = await readAll(part.body, limits.maxSoapBytes, 'SOAP part');
      continue;
    }
    const bytes = await readAll(part.body, limits.maxDocumentBytes - total, 'documents');
    total += bytes.length;
    if (part.contentId) attachments.set(part.contentId, bytes);
  }
  if (!soap) throw new MimeError(`the SOAP part${start ? ` <${start}>` : ''} is missing`);

  const doc = parseXmlSafely(soap.toString('utf8'), 'ITI-41 request');
  const request = descendants(doc, NS.xdsb, 'ProvideAndRegisterDocumentSetRequest')[0];
  if (!request) throw new ResponseError('no ProvideAndRegisterDocumentSetRequest in the SOAP body');
  const documents = new Map<string, Buffer>();
  for (const d of childElements(request, NS.xdsb, 'Document')) {
    const id = attr(d, 'id') ?? '';
    const include = childElements(d, NS.xop, 'Include')[0];
    if (include) {
      const cid = cidFromHref(attr(include, 'href') ?? '');
      const bytes = attachments.get(cid);
      if (!bytes) throw new MimeError(`document ${id}: attachment cid:${cid} is missing`);
      documents.set(id, bytes);
    } else {
      documents.set(id, Buffer.from((d.textContent ?? '').replace(/\s+/g, ''), 'base64'));
    }
  }
  const result: ParsedProvideAndRegister = { ...submitObjectsOf(doc), documents };
  const action = header(doc, 'Action');
  const messageId = header(doc, 'MessageID');
  const to = header(doc, 'To');
  if (action) result.action = action;
  if (messageId) result.messageId = messageId;
  if (to) result.to = to;
  return result;
}
