import type { Document as XmlDocument } from '@xmldom/xmldom';
import type { Agent } from 'node:https';
import { log as rootLog, type Logger } from '../log/logger.js';
import { NS } from './codes.js';
import { parseContentType, readAll, readMultipart } from './mtom.js';
import {
  outcomeOfFault,
  outcomeOfHttpStatus,
  outcomeOfRegistryStatus,
  outcomeOfTransportError,
  registryStatusOf,
  soapFaultOf,
  type Failure,
  type Outcome,
} from './outcomes.js';
import { createDmpAgent, post, type HttpAnswer, type HttpTimeouts, type PoolLimits, type TlsClientOptions } from './transport.js';
import { descendants, parseXmlSafely } from './xml.js';

/** A request ready to go on the wire: what `drimbox xds provide` writes and `drimbox xds send` posts. */
export interface PreparedRequest {
  url: string;
  action: string;
  messageId: string;
  contentType: string;
  chunks: Buffer[];
  length: number;
}

export interface ConnectionOptions {
  tls: TlsClientOptions;
  timeouts: HttpTimeouts;
  /** Keep-alive pool bounds (transport.ts DEFAULT_POOL when absent). */
  pool?: PoolLimits;
  /** Cap on a SOAP answer read whole (registry responses, query results). */
  maxAnswerBytes?: number;
  log?: Logger;
}

/** The answer's SOAP envelope, parsed, when it is neither a transport failure nor a SOAP fault. */
export type SoapAnswer = { kind: 'answer'; status: number; doc: XmlDocument; text: string } | Failure;

export function noRegistryResponse(answer: { status: number; text: string }, action: string): Failure {
  if (answer.status !== 200) return outcomeOfHttpStatus(answer.status, answer.text.slice(0, 200) || `no registry response in the answer to ${action}`);
  // The DMP may or may not have acted: try again; a resend carries the same uniqueIds and is recognised.
  return { kind: 'retryable', reason: `the answer to ${action} holds no registry response` };
}

/** mTLS HTTPS to one DMP: posts prepared requests, reads answers (plain SOAP or MTOM), maps them to outcomes. */
export class DmpConnection {
  readonly agent: Agent;
  readonly log: Logger;
  readonly maxAnswerBytes: number;

  constructor(readonly options: ConnectionOptions) {
    this.agent = createDmpAgent(options.tls, options.pool);
    this.log = (options.log ?? rootLog).child({ peer: 'dmp' });
    this.maxAnswerBytes = options.maxAnswerBytes ?? 16 * 1024 * 1024;
  }

  close(): void {
    this.agent.destroy();
  }

  /** Posts a prepared ITI-41 or ITI-57 request and reads its RegistryResponse. */
  async send(prepared: PreparedRequest): Promise<Outcome> {
    const started = Date.now();
    const answer = await this.exchange(prepared);
    let outcome: Outcome;
    if (answer.kind !== 'answer') outcome = answer;
    else {
      try {
        const response = descendants(answer.doc, NS.rs, 'RegistryResponse')[0];
        outcome = response ? outcomeOfRegistryStatus(registryStatusOf(response)) : noRegistryResponse(answer, prepared.action);
      } catch (err) {
        outcome = { kind: 'retryable', reason: `unreadable answer to ${prepared.action}: ${(err as Error).message}` };
      }
    }
    this.log.info('dmp transaction', {
      action: prepared.action,
      messageId: prepared.messageId,
      outcome: outcome.kind,
      ...(outcome.kind === 'permanent' ? { code: outcome.code } : {}),
      ...(outcome.kind === 'retryable' ? { reason: outcome.reason } : {}),
      ms: Date.now() - started,
    });
    return outcome;
  }

  /** Posts and reads the whole SOAP answer; transport errors, non-XML answers and SOAP faults become outcomes. */
  async exchange(prepared: PreparedRequest): Promise<SoapAnswer> {
    let answer: HttpAnswer;
    let soap: Buffer;
    try {
      answer = await post(prepared, this.agent, this.options.timeouts);
      soap = await this.soapPartOf(answer);
    } catch (err) {
      return outcomeOfTransportError(err);
    }
    const text = soap.toString('utf8');
    let doc: XmlDocument;
    try {
      doc = parseXmlSafely(text, `answer to ${prepared.action}`);
    } catch (err) {
      if (answer.status !== 200) return outcomeOfHttpStatus(answer.status, text.slice(0, 200));
      return { kind: 'retryable', reason: (err as Error).message };
    }
    const fault = soapFaultOf(doc);
    if (fault) return outcomeOfFault(fault);
    return { kind: 'answer', status: answer.status, doc, text };
  }

  /** Posts and hands back the raw answer (ITI-43 streams it); transport errors become outcomes. */
  async open(prepared: PreparedRequest): Promise<HttpAnswer | Failure> {
    try {
      return await post(prepared, this.agent, this.options.timeouts);
    } catch (err) {
      return outcomeOfTransportError(err);
    }
  }

  /** The outcome of an answer that is not a 200. */
  async failureOf(answer: HttpAnswer): Promise<Failure> {
    let text = '';
    try {
      text = (await this.soapPartOf(answer)).toString('utf8');
      const doc = parseXmlSafely(text, 'error answer');
      const fault = soapFaultOf(doc);
      if (fault) return outcomeOfFault(fault);
      const response = descendants(doc, NS.rs, 'RegistryResponse')[0];
      if (response) {
        const o = outcomeOfRegistryStatus(registryStatusOf(response));
        if (o.kind !== 'success') return o;
      }
    } catch {
      // not SOAP: the status says it all
    }
    return outcomeOfHttpStatus(answer.status, text.slice(0, 200));
  }

  /** The SOAP envelope of an answer, plain or the root part of a multipart one. */
  private async soapPartOf(answer: HttpAnswer): Promise<Buffer> {
    const ct = answer.contentType ? parseContentType(answer.contentType) : undefined;
    if (ct?.type === 'multipart/related' && ct.params.boundary) {
      const parts = readMultipart(answer.body, ct.params.boundary);
      const first = await parts.next();
      if (first.done) return Buffer.alloc(0);
      const soap = await readAll(first.value.body, this.maxAnswerBytes, 'SOAP part');
      await parts.return(undefined);
      answer.body.resume();
      return soap;
    }
    return readAll(answer.body, this.maxAnswerBytes, 'answer');
  }
}
