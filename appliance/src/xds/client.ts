import type { Signer } from '../auth/signer/signer.js';
import type { Logger } from '../log/logger.js';
import { ACTION, NS } from './codes.js';
import { DmpConnection, noRegistryResponse, type PreparedRequest } from './connection.js';
import { buildMtom, type MtomAttachment } from './mtom.js';
import { outcomeOfRegistryStatus, type Outcome, type RegistryError } from './outcomes.js';
import { findDocumentsXml, getAssociationsXml, getDocumentsXml, queryResultOf, type FindDocumentsQuery, type GetDocumentsQuery, type QueryResult } from './query.js';
import { openRetrieveResponse, retrieveRequestXml, type DocumentRequest, type RetrieveResponse } from './retrieve.js';
import { soapContentType, soapEnvelope } from './soap.js';
import type { BuiltSubmission } from './submission.js';
import type { HttpTimeouts, PoolLimits, TlsClientOptions } from './transport.js';
import type { XdsSubmissionContext } from './types.js';
import { availabilityUpdateXml, type AvailabilityUpdateInput } from './update.js';
import { signedVihf, type VihfSubject } from './vihf.js';

export type { PreparedRequest } from './connection.js';

export interface DmpEndpoints {
  /** ITI-18, ITI-57. */
  registryUrl: string;
  /** ITI-41, ITI-43. */
  repositoryUrl: string;
}

/** `<base>/registry` and `<base>/repository`, the DMP's paths (ci-sis-imaging.md §4). */
export function endpointsFromBase(baseUrl: string): DmpEndpoints {
  const base = baseUrl.replace(/\/+$/, '');
  return { registryUrl: `${base}/registry`, repositoryUrl: `${base}/repository` };
}

export interface DmpClientOptions {
  endpoints: DmpEndpoints;
  tls: TlsClientOptions;
  timeouts: HttpTimeouts;
  context: XdsSubmissionContext;
  /** Signs the VIHF (the structure's signature certificate, or a token later). */
  signer: Signer;
  pool?: PoolLimits;
  maxAnswerBytes?: number;
  log?: Logger;
}

export type ValueOutcome<T> =
  | { kind: 'success'; value: T; partial?: boolean; warnings?: RegistryError[] }
  | Exclude<Outcome, { kind: 'success' }>;

/** Builds the ITI-41 HTTP request of a built submission: VIHF signed now, SOAP envelope, MTOM package. */
export async function prepareProvideAndRegister(
  built: BuiltSubmission,
  vihf: VihfSubject,
  context: XdsSubmissionContext,
  signer: Signer,
  repositoryUrl: string,
): Promise<PreparedRequest> {
  const assertion = await signedVihf(vihf, context, signer);
  const { xml, messageId } = soapEnvelope({ action: ACTION.provideAndRegister, to: repositoryUrl, signedAssertion: assertion, bodyXml: built.requestXml });
  const attachments: MtomAttachment[] = built.documents.map((d) => ({
    contentId: built.contentIds[d.entryUUID]!,
    contentType: 'application/octet-stream',
    body: d.bytes,
  }));
  const mtom = buildMtom(xml, attachments, ACTION.provideAndRegister);
  return { url: repositoryUrl, action: ACTION.provideAndRegister, messageId, contentType: mtom.contentType, chunks: mtom.chunks, length: mtom.length };
}

/** A plain SOAP 1.2 request (ITI-18, ITI-57) with a freshly signed VIHF. */
export async function preparePlainSoap(
  action: string,
  url: string,
  bodyXml: string,
  vihf: VihfSubject,
  context: XdsSubmissionContext,
  signer: Signer,
): Promise<PreparedRequest> {
  const assertion = await signedVihf(vihf, context, signer);
  const { xml, messageId } = soapEnvelope({ action, to: url, signedAssertion: assertion, bodyXml });
  const body = Buffer.from(xml, 'utf8');
  return { url, action, messageId, contentType: soapContentType(action), chunks: [body], length: body.length };
}

function success<T>(value: T, o: Extract<Outcome, { kind: 'success' }>): ValueOutcome<T> {
  return { kind: 'success', value, ...(o.partial ? { partial: true } : {}), ...(o.warnings ? { warnings: o.warnings } : {}) };
}

/** The DMP's XDS.b transactions as the box uses them. One client per DMP; close() when done. */
export class DmpClient {
  readonly connection: DmpConnection;

  constructor(private readonly options: DmpClientOptions) {
    this.connection = new DmpConnection(options);
  }

  close(): void {
    this.connection.close();
  }

  /**
   * ITI-41 of a built submission (publish, or replace when built with replacesEntryUUID). Signs a new VIHF each
   * time — with `vihfSigner` when given (direct mode: the professional's CPS card), else the structure's signer.
   */
  async provideAndRegister(built: BuiltSubmission, vihf: VihfSubject, vihfSigner?: Signer): Promise<Outcome> {
    const { context, signer, endpoints } = this.options;
    return this.connection.send(await prepareProvideAndRegister(built, vihf, context, vihfSigner ?? signer, endpoints.repositoryUrl));
  }

  /** ITI-57: changes the availability status of a published entry (withdrawal: Deprecated, or the DMP's Deleted). */
  async updateAvailability(input: AvailabilityUpdateInput, vihf: VihfSubject, vihfSigner?: Signer): Promise<Outcome> {
    const { xml } = availabilityUpdateXml(input);
    return this.connection.send(await this.plain(ACTION.updateDocumentSet, this.options.endpoints.registryUrl, xml, vihf, vihfSigner));
  }

  findDocuments(query: FindDocumentsQuery, vihf: VihfSubject, vihfSigner?: Signer): Promise<ValueOutcome<QueryResult>> {
    return this.storedQuery(findDocumentsXml(query), vihf, vihfSigner);
  }

  getDocuments(query: GetDocumentsQuery, vihf: VihfSubject, vihfSigner?: Signer): Promise<ValueOutcome<QueryResult>> {
    return this.storedQuery(getDocumentsXml(query), vihf, vihfSigner);
  }

  getAssociations(entryUUIDs: string[], vihf: VihfSubject, vihfSigner?: Signer): Promise<ValueOutcome<QueryResult>> {
    return this.storedQuery(getAssociationsXml(entryUUIDs), vihf, vihfSigner);
  }

  /**
   * The registry's entryUUID of a document published under `uniqueId` (the DMP assigns entryUUIDs: a replacement
   * or a withdrawal needs it). `value` is undefined when the registry knows no such document.
   */
  async entryUuidOf(uniqueId: string, vihf: VihfSubject, vihfSigner?: Signer): Promise<ValueOutcome<string | undefined>> {
    const r = await this.getDocuments({ uniqueIds: [uniqueId], returnType: 'ObjectRef' }, vihf, vihfSigner);
    if (r.kind !== 'success') return r;
    const ids = [...r.value.objectRefs, ...r.value.documentEntries.map((e) => e.entryUUID)];
    return { kind: 'success', value: ids[0] };
  }

  /**
   * ITI-43. On success, read `value.documents()` to stream each document's bytes (the connection stays busy until
   * they are read, or until the caller stops iterating).
   */
  async retrieve(requests: DocumentRequest[], vihf: VihfSubject, vihfSigner?: Signer): Promise<ValueOutcome<RetrieveResponse>> {
    const { context, signer, endpoints } = this.options;
    const assertion = await signedVihf(vihf, context, vihfSigner ?? signer);
    const { xml, messageId } = soapEnvelope({ action: ACTION.retrieveDocumentSet, to: endpoints.repositoryUrl, signedAssertion: assertion, bodyXml: retrieveRequestXml(requests) });
    const mtom = buildMtom(xml, [], ACTION.retrieveDocumentSet);
    const answer = await this.connection.open({
      url: endpoints.repositoryUrl,
      action: ACTION.retrieveDocumentSet,
      messageId,
      contentType: mtom.contentType,
      chunks: mtom.chunks,
      length: mtom.length,
    });
    if ('kind' in answer) return answer;
    if (answer.status !== 200) return this.connection.failureOf(answer);
    try {
      const response = await openRetrieveResponse(answer.contentType, answer.body, { maxSoapBytes: this.connection.maxAnswerBytes });
      const o = outcomeOfRegistryStatus(response.status);
      if (o.kind !== 'success') {
        answer.body.destroy();
        return o;
      }
      return success(response, o);
    } catch (err) {
      answer.body.destroy();
      const name = (err as Error).name;
      return name === 'XmlError' || name === 'MimeError' || name === 'ResponseError'
        ? { kind: 'retryable', reason: `unreadable ITI-43 answer: ${(err as Error).message}` }
        : { kind: 'retryable', reason: `transport: ${(err as Error).message}` };
    }
  }

  private plain(action: string, url: string, bodyXml: string, vihf: VihfSubject, vihfSigner?: Signer): Promise<PreparedRequest> {
    return preparePlainSoap(action, url, bodyXml, vihf, this.options.context, vihfSigner ?? this.options.signer);
  }

  private async storedQuery(bodyXml: string, vihf: VihfSubject, vihfSigner?: Signer): Promise<ValueOutcome<QueryResult>> {
    const prepared = await this.plain(ACTION.registryStoredQuery, this.options.endpoints.registryUrl, bodyXml, vihf, vihfSigner);
    const answer = await this.connection.exchange(prepared);
    if (answer.kind !== 'answer') return answer;
    try {
      if (!answer.doc.getElementsByTagNameNS(NS.query, 'AdhocQueryResponse')[0]) return noRegistryResponse(answer, prepared.action);
      const result = queryResultOf(answer.doc);
      const o = outcomeOfRegistryStatus(result.status);
      return o.kind === 'success' ? success(result, o) : o;
    } catch (err) {
      return { kind: 'retryable', reason: `unreadable answer to ${prepared.action}: ${(err as Error).message}` };
    }
  }
}
