export { synthesizeStudy } from './study.js';
export { SynthOptionsError } from './options.js';
export { DEFAULT_PATIENT, INS_NIR_ISSUER, INS_NIR_TEST_OID, nirKey } from './patient.js';
export type { SynthCharset, SynthModality, SynthOptions, SynthPatient, SynthResult, SynthSeries, SynthInstance, SynthTransferSyntax } from './types.js';
