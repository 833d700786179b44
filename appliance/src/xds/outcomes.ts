import type { Document, Element } from '@xmldom/xmldom';
import { NS, RESPONSE_STATUS } from './codes.js';
import { attr, childElements, descendants, firstChild } from './xml.js';

/**
 * What a DMP transaction came to, in the terms the outbox needs: deliver again later, or never as is.
 * Retryable: transport errors, timeouts, HTTP 5xx/408/429, SOAP Receiver faults, registry/repository busy.
 * Permanent: the registry refused the content (XDS error code and its text), SOAP Sender faults, other HTTP 4xx.
 */
export type Outcome =
  | { kind: 'success'; partial?: boolean; warnings?: RegistryError[] }
  | { kind: 'retryable'; reason: string }
  | { kind: 'permanent'; code: string; text: string };

/** An outcome that is not a success. */
export type Failure = Exclude<Outcome, { kind: 'success' }>;

export interface RegistryError {
  code: string;
  severity: 'Error' | 'Warning';
  text: string;
  location?: string;
}

/** XDS error codes that say "not now" rather than "not this" (IHE ITI TF-3 Table 4.2.4.1-2). */
export const RETRYABLE_XDS_ERRORS: ReadonlySet<string> = new Set([
  'XDSRegistryBusy',
  'XDSRepositoryBusy',
  'XDSRegistryOutOfResources',
  'XDSRepositoryOutOfResources',
  'XDSRegistryNotAvailable',
]);

export interface RegistryStatus {
  status: 'Success' | 'PartialSuccess' | 'Failure';
  errors: RegistryError[];
}

export class ResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResponseError';
  }
}

function statusWord(urn: string | undefined): RegistryStatus['status'] {
  if (urn === RESPONSE_STATUS.success) return 'Success';
  if (urn === RESPONSE_STATUS.failure) return 'Failure';
  if (urn === RESPONSE_STATUS.partialSuccess || urn?.endsWith(':PartialSuccess')) return 'PartialSuccess';
  throw new ResponseError(`unknown registry response status "${urn ?? ''}"`);
}

/** Status and errors of a RegistryResponse, AdhocQueryResponse or RetrieveDocumentSetResponse element. */
export function registryStatusOf(response: Element): RegistryStatus {
  const list = firstChild(response, NS.rs, 'RegistryErrorList');
  const errors = list
    ? childElements(list, NS.rs, 'RegistryError').map((e): RegistryError => {
        const location = attr(e, 'location');
        return {
          code: attr(e, 'errorCode') ?? '',
          severity: (attr(e, 'severity') ?? '').endsWith('Warning') ? 'Warning' : 'Error',
          text: attr(e, 'codeContext') || (e.textContent ?? '').trim(),
          ...(location ? { location } : {}),
        };
      })
    : [];
  return { status: statusWord(attr(response, 'status')), errors };
}

export function outcomeOfRegistryStatus(s: RegistryStatus): Outcome {
  const warnings = s.errors.filter((e) => e.severity === 'Warning');
  if (s.status === 'Success') return warnings.length ? { kind: 'success', warnings } : { kind: 'success' };
  if (s.status === 'PartialSuccess') return { kind: 'success', partial: true, warnings: s.errors };
  const errors = s.errors.filter((e) => e.severity === 'Error');
  const busy = errors.find((e) => RETRYABLE_XDS_ERRORS.has(e.code));
  if (busy) return { kind: 'retryable', reason: `${busy.code}: ${busy.text}` };
  const first = errors[0] ?? s.errors[0];
  if (!first) return { kind: 'permanent', code: 'XDSRegistryError', text: 'Failure without any RegistryError' };
  const more = errors.length > 1 ? ` (+${errors.length - 1} more: ${errors.slice(1).map((e) => e.code).join(', ')})` : '';
  return { kind: 'permanent', code: first.code, text: first.text + more };
}

export interface SoapFault {
  /** soap:Sender or soap:Receiver (SOAP 1.2), with the subcode when given. */
  code: string;
  subcode?: string;
  reason: string;
}

export function soapFaultOf(doc: Document): SoapFault | undefined {
  const fault = descendants(doc, NS.soap, 'Fault')[0];
  if (!fault) return undefined;
  const codeEl = firstChild(fault, NS.soap, 'Code');
  const value = codeEl ? firstChild(codeEl, NS.soap, 'Value') : undefined;
  const sub = codeEl ? firstChild(codeEl, NS.soap, 'Subcode') : undefined;
  const subValue = sub ? firstChild(sub, NS.soap, 'Value') : undefined;
  const reasonEl = firstChild(fault, NS.soap, 'Reason');
  const text = reasonEl ? firstChild(reasonEl, NS.soap, 'Text') : undefined;
  const localName = (qname: string | undefined) => (qname ?? '').trim().replace(/^.*:/, '');
  return {
    code: localName(value?.textContent ?? undefined) || 'Receiver',
    ...(subValue?.textContent ? { subcode: subValue.textContent.trim() } : {}),
    reason: (text?.textContent ?? '').trim() || 'no reason given',
  };
}

export function outcomeOfFault(fault: SoapFault): Failure {
  const code = fault.subcode ? `${fault.code}/${fault.subcode}` : fault.code;
  if (fault.code === 'Receiver') return { kind: 'retryable', reason: `SOAP fault ${code}: ${fault.reason}` };
  return { kind: 'permanent', code: `SOAP:${code}`, text: fault.reason };
}

/** Outcome for an HTTP status when the body says nothing usable. */
export function outcomeOfHttpStatus(status: number, detail: string): Failure {
  if (status >= 500 || status === 408 || status === 429) return { kind: 'retryable', reason: `HTTP ${status}${detail ? `: ${detail}` : ''}` };
  return { kind: 'permanent', code: `HTTP${status}`, text: detail || `the DMP answered HTTP ${status}` };
}

/** Transport failures (connection refused/reset, DNS, TLS, timeouts) are always worth another try later. */
export function outcomeOfTransportError(err: unknown): Failure {
  const e = err as NodeJS.ErrnoException;
  return { kind: 'retryable', reason: `transport: ${e.code ? `${e.code} ` : ''}${e.message ?? String(err)}` };
}
