/** The consumer DRIMbox: portal login, contextual call, DMP search and retrieve, image cache, viewer read path, import. */
export { createConsumerService, safeReturnTo, type ConsumerDeps, type ConsumerService, type ConsumerSettings, type ExamList, type OpenedStudy, type Result, type StudyView } from './service.js';
export { consumerConfigSchema, type ConsumerConfig } from './config-schema.js';
export { consumerSettingsFrom } from './settings.js';
export { CONTEXT_PARAMETERS, parseContextCall, type ContextCall, type ContextCallResult, type Sex } from './context-call.js';
export { INS_OIDS, insKey, insLabel, insMatriculeProblem, normaliseInsOid, type Ins } from './ins.js';
export type { ExamSummary } from './exams.js';
export type { OpenedPatient, PatientTraits } from './patients.js';
export type { Job, JobProgress, JobState, JobKind, JobFailure } from './jobs.js';
export type { DmpConsumerPort } from './dmp.js';
export type { LocalAccess, LocalResource } from './local-dicomweb.js';
export { coerceFile, issuerElements, CoercionError, type LocalPatientId } from './coerce.js';
export { ImageCache, CacheError } from './cache/image-cache.js';
