import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { EXPLICIT_VR_LE, IMPLICIT_VR_LE } from '../transfer-syntax-uids.js';
import { UUID_ROOT, createUid, isValidUid, type RandomBytes } from '../uid.js';
import { firstNonLatin1 } from './dcmjs.js';
import { isValidDate } from './format.js';
import { resolvePatient, type ResolvedPatient } from './patient.js';
import { SeededRandom, normalizeSeed, randomSeed } from './random.js';
import { ctProfile } from './ct.js';
import { mrProfile } from './mr.js';
import { crProfile } from './cr.js';
import type { ModalityProfile } from './profile.js';
import type { SynthCharset, SynthModality, SynthOptions } from './types.js';

export class SynthOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SynthOptionsError';
  }
}

export const PROFILES: Record<SynthModality, ModalityProfile> = { CT: ctProfile, MR: mrProfile, CR: crProfile };

export const TRANSFER_SYNTAX_UIDS = {
  'explicit-le': EXPLICIT_VR_LE,
  'implicit-le': IMPLICIT_VR_LE,
} as const;

export const DEFAULT_UID_ROOT = UUID_ROOT;
export const MAX_INSTANCES = 200_000;
const MIN_SIZE = 8;
const MAX_SIZE = 4096;

/** Everything the generator needs, validated, with defaults applied. */
export interface StudyPlan {
  profile: ModalityProfile;
  outDir: string;
  seriesSizes: number[];
  rows: number;
  columns: number;
  patient: ResolvedPatient;
  charset: SynthCharset;
  transferSyntaxUid: string;
  uidRoot: string;
  studyInstanceUid: string;
  accessionNumber: string;
  studyDescription: string;
  institutionName: string;
  studyDate: Date;
  /** Source of UID randomness: seeded when a seed is given, else the system's. */
  uidRandom: RandomBytes;
  pixelRandom: SeededRandom;
  onProgress?: (done: number, total: number) => void;
}

const fail = (message: string): never => {
  throw new SynthOptionsError(message);
};

/** table[key] for the table's own keys only ("constructor" or "toString" from a caller must not match). */
function ownValue<T>(table: Record<string, T>, key: unknown): T | undefined {
  return typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : undefined;
}

function checkInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) fail(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}

/** LO/SH/PN text: length in characters, no backslash (value separator), no control characters. */
function checkText(name: string, value: unknown, maxChars: number, charset: SynthCharset): string {
  if (typeof value !== 'string') return fail(`${name} must be a string, got ${typeof value}`);
  if ([...value].length > maxChars) fail(`${name} "${value}" is longer than ${maxChars} characters`);
  if (/[\\\u0000-\u001f\u007f-\u009f]/.test(value)) fail(`${name} "${value}" contains a backslash or a control character`);
  if (charset === 'ISO_IR 100') {
    const bad = firstNonLatin1(value);
    if (bad !== undefined) fail(`${name} "${value}" has "${bad}", which ISO_IR 100 (Latin-1) cannot encode; use charset ISO_IR 192`);
  }
  return value;
}

/** PN: up to three component groups of up to five components, each group at most 64 characters. */
function checkPersonName(name: string, value: unknown, charset: SynthCharset): string {
  if (typeof value !== 'string') return fail(`${name} must be a string, got ${typeof value}`);
  const groups = value.split('=');
  if (value.trim() === '' || groups.length > 3 || groups.some((g) => g.split('^').length > 5)) {
    fail(`${name} "${value}" is not a DICOM person name (FAMILY^Given, at most 5 components)`);
  }
  for (const g of groups) checkText(name, g, 64, charset);
  return value;
}

function checkUid(name: string, value: unknown): string {
  if (typeof value !== 'string' || !isValidUid(value)) {
    return fail(`${name} "${String(value)}" is not a valid UID (PS3.5 §9.1: digits and dots, no leading zeros, at most 64 characters)`);
  }
  return value;
}

/** Instances spread over series as evenly as possible, the first series taking the remainder. */
export function seriesSizes(instances: number, seriesCount: number): number[] {
  const base = Math.floor(instances / seriesCount);
  const extra = instances % seriesCount;
  return Array.from({ length: seriesCount }, (_, i) => base + (i < extra ? 1 : 0));
}

export function planStudy(options: SynthOptions): StudyPlan {
  const profile = ownValue(PROFILES, options.modality) ?? fail(`modality must be CT, MR or CR, got "${String(options.modality)}"`);
  const instances = checkInteger('instances', options.instances, 1, MAX_INSTANCES);
  const seriesCount = checkInteger('seriesCount', options.seriesCount ?? 1, 1, instances);
  const rows = checkInteger('rows', options.rows ?? profile.defaultRows, MIN_SIZE, MAX_SIZE);
  const columns = checkInteger('columns', options.columns ?? profile.defaultColumns, MIN_SIZE, MAX_SIZE);
  if (typeof options.outDir !== 'string' || options.outDir === '') fail('outDir is required');
  const charset = options.charset ?? 'ISO_IR 192';
  if (charset !== 'ISO_IR 192' && charset !== 'ISO_IR 100') fail(`charset must be "ISO_IR 192" or "ISO_IR 100", got "${String(charset)}"`);
  const transferSyntax = options.transferSyntax ?? 'explicit-le';
  const transferSyntaxUid = ownValue(TRANSFER_SYNTAX_UIDS, transferSyntax) ?? fail(`transferSyntax must be explicit-le or implicit-le, got "${String(transferSyntax)}"`);
  const uidRoot = checkUid('uidRoot', options.uidRoot ?? DEFAULT_UID_ROOT);
  try {
    // A root too long leaves too few digits for uniqueness: createUid says so, and how long it may be.
    createUid(uidRoot, (n) => new Uint8Array(n));
  } catch (err) {
    fail((err as Error).message);
  }

  const patient = resolvePatient(options.patient);
  checkPersonName('patient name', patient.name, charset);
  checkText('patient id', patient.id, 64, charset);
  if (patient.id.trim() === '') fail('patient id must not be empty');
  if (patient.issuer !== undefined) checkText('patient issuer', patient.issuer, 64, charset);
  if (patient.insOid !== undefined) checkUid('patient insOid', patient.insOid);
  if (patient.birthDate !== undefined && !isValidDate(patient.birthDate)) fail(`patient birthDate "${patient.birthDate}" is not a date YYYYMMDD`);
  if (patient.sex !== undefined && !['M', 'F', 'O'].includes(patient.sex)) fail(`patient sex must be M, F or O, got "${String(patient.sex)}"`);

  const seeded = options.seed !== undefined;
  if (seeded && !Number.isSafeInteger(options.seed)) fail(`seed must be an integer, got ${options.seed}`);
  const master = new SeededRandom(seeded ? normalizeSeed(options.seed!) : randomSeed());
  const identityRandom = master.fork();
  const pixelRandom = master.fork();
  const uidRandom: RandomBytes = seeded ? (n) => identityRandom.bytes(n) : randomBytes;

  // Seeded: a fixed day of 2025 (byte-identical output); else now.
  const studyDate = seeded ? new Date(2025, 0, 1 + identityRandom.nextInt(365), 8, identityRandom.nextInt(600)) : new Date();
  const accessionNumber = checkText(
    'accessionNumber',
    options.accessionNumber ?? `A${String(identityRandom.nextInt(1e9)).padStart(10, '0')}`,
    16,
    charset,
  );
  if (accessionNumber.trim() === '') fail('accessionNumber must not be blank (leave it out to have one generated)');

  return {
    profile,
    outDir: resolve(options.outDir),
    seriesSizes: seriesSizes(instances, seriesCount),
    rows,
    columns,
    patient,
    charset,
    transferSyntaxUid,
    uidRoot,
    studyInstanceUid: options.studyInstanceUid !== undefined ? checkUid('studyInstanceUid', options.studyInstanceUid) : createUid(uidRoot, uidRandom),
    accessionNumber,
    studyDescription: checkText('studyDescription', options.studyDescription ?? profile.defaultStudyDescription, 64, charset),
    institutionName: checkText('institutionName', options.institutionName ?? 'Cabinet de radiologie Saint-Éloi', 64, charset),
    studyDate,
    uidRandom,
    pixelRandom,
    ...(options.onProgress && { onProgress: options.onProgress }),
  };
}
