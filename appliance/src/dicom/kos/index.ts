export type {
  KosInstanceRef,
  KosSeriesRef,
  KosStudy,
  KosBuildInput,
  BuiltKos,
  KosManifest,
  KosManifestSeries,
} from './types.js';
export { buildKos } from './build.js';
export { parseKos } from './parse.js';
export { buildRejectionNote, type RejectionNoteInput } from './rejection.js';
export { KosBuildError, KosParseError } from './errors.js';
export { KOS_SOP_CLASS_UID, MANIFEST, REJECTION_TITLES, isRejectionTitle, type RejectionReason } from './codes.js';
export { studyFromFiles, type StudyFromFiles } from './study-from-files.js';
