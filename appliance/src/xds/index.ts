/** The DMP client (IHE XDS.b: ITI-41, ITI-18, ITI-43, ITI-57) with VIHF, IHE DSG/XAdES and mTLS. */
export type { Author, AssociationInfo, Code, DocumentEntry, KosFacts, ReferenceId, SubmissionSetInfo, VihfAuthMode, XdsSubmissionContext, XmlSignatureAlgorithm } from './types.js';
export { buildProvideAndRegister, newSubmissionIds, type BuiltSubmission, type ProvideAndRegisterInput, type SubmissionIds } from './submission.js';
export { DmpClient, endpointsFromBase, prepareProvideAndRegister, preparePlainSoap, type DmpClientOptions, type DmpEndpoints, type ValueOutcome } from './client.js';
export { DmpConnection, type PreparedRequest } from './connection.js';
export { availabilityUpdateXml, type AvailabilityUpdateInput, type NewStatus } from './update.js';
export { signedVihf, vihfSubjectFromPublished, vihfSubjectFromReport, type VihfSubject } from './vihf.js';
export { type FindDocumentsQuery, type GetDocumentsQuery, type QueryResult } from './query.js';
export { type DocumentRequest, type RetrievedDocument, type RetrieveResponse } from './retrieve.js';
export { parseProvideAndRegister, submitObjectsOf, type ParsedProvideAndRegister } from './provide-parse.js';
export { xcnDisplayName, xonDisplayName } from './metadata-parse.js';
export { RETRYABLE_XDS_ERRORS, type Failure, type Outcome, type RegistryError } from './outcomes.js';
export { contextFromConfig, endpointsFromConfig, timeoutsFromConfig, xdsConfigSchema, XdsConfigError, type XdsConfig } from './config.js';
export { MetadataError } from './hl7-types.js';
export type { HttpTimeouts, TlsClientCredential, TlsClientOptions } from './transport.js';
export { authorOf } from './kos-metadata.js';
