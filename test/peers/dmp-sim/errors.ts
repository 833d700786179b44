import { NS, escapeXml } from './xml.js';

/** XDS error codes (IHE ITI TF-3 Table 4.2.4.1-2, ITI-57 and ITI-18 tables) the simulator returns. */
export type XdsErrorCode =
  | 'XDSRegistryMetadataError'
  | 'XDSRepositoryMetadataError'
  | 'XDSRepositoryError'
  | 'XDSDuplicateUniqueIdInRegistry'
  | 'XDSPatientIdDoesNotMatch'
  | 'XDSUnknownPatientId'
  | 'XDSMissingDocument'
  | 'XDSMissingDocumentMetadata'
  | 'XDSNonIdenticalHash'
  | 'XDSNonIdenticalSize'
  | 'InvalidDocumentContent'
  | 'UnresolvedReferenceException'
  | 'XDSRegistryError'
  | 'XDSUnknownStoredQuery'
  | 'XDSStoredQueryParamNumber'
  | 'XDSDocumentUniqueIdError'
  | 'XDSUnknownRepositoryId'
  | 'XDSMetadataUpdateError'
  | 'XDSMetadataUpdateOperationError';

export interface XdsError {
  code: XdsErrorCode;
  /** What is wrong, naming the element and the value. */
  context: string;
  /** The object concerned (symbolic id, entryUUID or uniqueId). */
  location?: string;
  severity?: 'Error' | 'Warning';
}

/** Thrown by a transaction handler to answer a Failure with these errors. */
export class XdsFailure extends Error {
  constructor(readonly errors: XdsError[]) {
    super(errors.map((e) => `${e.code}: ${e.context}`).join('; '));
  }
}

export const STATUS = {
  success: 'urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success',
  failure: 'urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure',
  partial: 'urn:ihe:iti:2007:ResponseStatusType:PartialSuccess',
} as const;

const SEVERITY = 'urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:';

export function warnings(texts: string[]): XdsError[] {
  return texts.map((context) => ({ code: 'XDSRegistryError', context, severity: 'Warning' }));
}

export function registryErrorList(errors: XdsError[]): string {
  if (errors.length === 0) return '';
  const highest = errors.some((e) => (e.severity ?? 'Error') === 'Error') ? 'Error' : 'Warning';
  const items = errors
    .map(
      (e) =>
        `<rs:RegistryError errorCode="${e.code}" codeContext="${escapeXml(e.context)}" severity="${SEVERITY}${e.severity ?? 'Error'}"` +
        (e.location ? ` location="${escapeXml(e.location)}"` : '') +
        '/>',
    )
    .join('');
  return `<rs:RegistryErrorList highestSeverity="${SEVERITY}${highest}">${items}</rs:RegistryErrorList>`;
}

export function statusOf(errors: XdsError[]): string {
  return errors.some((e) => (e.severity ?? 'Error') === 'Error') ? STATUS.failure : STATUS.success;
}

/** rs:RegistryResponse (ITI-41, ITI-57). */
export function registryResponse(errors: XdsError[], status = statusOf(errors)): string {
  return `<rs:RegistryResponse xmlns:rs="${NS.rs}" status="${status}">${registryErrorList(errors)}</rs:RegistryResponse>`;
}
