import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { STATUS, registryErrorList, type XdsError } from './errors.js';
import type { OutgoingPart } from './mime.js';
import type { SimContext, TransactionResult, VerifiedRequest } from './transaction.js';
import { NS, child, children, escapeXml, text } from './xml.js';

/** ITI-43 Retrieve Document Set: the stored bytes, unchanged, as MTOM attachments. */
export function retrieveDocumentSet(request: VerifiedRequest, ctx: SimContext): TransactionResult {
  const errors: XdsError[] = [];
  const responses: string[] = [];
  const attachments: OutgoingPart[] = [];
  for (const r of children(request.payload, NS.xdsb, 'DocumentRequest')) {
    const repository = text(child(r, NS.xdsb, 'RepositoryUniqueId'));
    const uniqueId = text(child(r, NS.xdsb, 'DocumentUniqueId'));
    if (repository !== ctx.repositoryUniqueId) {
      errors.push({ code: 'XDSUnknownRepositoryId', context: `repositoryUniqueId ${repository} is not this repository (${ctx.repositoryUniqueId})`, location: uniqueId });
      continue;
    }
    const entry = ctx.store.entryByUniqueId(uniqueId);
    if (!entry || entry.status === 'Deleted') {
      errors.push({ code: 'XDSDocumentUniqueIdError', context: `document ${uniqueId} is not in the repository`, location: uniqueId });
      continue;
    }
    if (entry.patient_id !== request.vihf.resourceId) {
      errors.push({ code: 'XDSPatientIdDoesNotMatch', context: `document ${uniqueId} belongs to another patient than the VIHF resource-id`, location: uniqueId });
      continue;
    }
    const contentId = `${randomUUID()}@dmp-sim`;
    attachments.push({ contentId, contentType: entry.mime_type, body: readFileSync(ctx.store.documentPath(entry)) });
    responses.push(
      `<xdsb:DocumentResponse><xdsb:RepositoryUniqueId>${escapeXml(repository)}</xdsb:RepositoryUniqueId>` +
        `<xdsb:DocumentUniqueId>${escapeXml(uniqueId)}</xdsb:DocumentUniqueId><xdsb:mimeType>${escapeXml(entry.mime_type)}</xdsb:mimeType>` +
        `<xdsb:Document><xop:Include xmlns:xop="${NS.xop}" href="cid:${contentId}"/></xdsb:Document></xdsb:DocumentResponse>`,
    );
  }
  const status = errors.length === 0 ? STATUS.success : responses.length > 0 ? STATUS.partial : STATUS.failure;
  const all = [...errors, ...request.warnings];
  return { bodyXml: retrieveResponse(status, all, responses.join('')), attachments, errors: all };
}

export function retrieveResponse(status: string, errors: XdsError[], documentsXml = ''): string {
  return (
    `<xdsb:RetrieveDocumentSetResponse xmlns:xdsb="${NS.xdsb}" xmlns:rs="${NS.rs}">` +
    `<rs:RegistryResponse status="${status}">${registryErrorList(errors)}</rs:RegistryResponse>${documentsXml}</xdsb:RetrieveDocumentSetResponse>`
  );
}
