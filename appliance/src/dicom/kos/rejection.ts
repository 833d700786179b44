import type { DcmDataset } from '../dataset/dcmjs.js';
import { personName, text } from '../dataset/elements.js';
import { REJECTION_TITLES, type RejectionReason } from './codes.js';
import { composeKos } from './document.js';
import { KosBuildError } from './errors.js';
import { checkedIdentifier, fitPersonName, validDate, validTime } from './vr.js';
import type { BuiltKos, KosStudy } from './types.js';

export interface RejectionNoteInput {
  /** The study and the instances it rejects. */
  study: KosStudy;
  patient: { id: string; issuer?: string; name?: string; birthDate?: string; sex?: string };
  /** Document title, CID 7010: 113001 (quality, default), 113037 (patient safety), 113038 (worklist), 113039 (retention). */
  reason?: RejectionReason;
  uidRoot: string;
  now?: Date;
  sopInstanceUid?: string;
  seriesInstanceUid?: string;
  manufacturer?: string;
}

/**
 * An IHE IOCM rejection note: a Key Object Selection document whose title says why the referenced instances
 * are rejected, as a PACS sends it to the box when images are withdrawn from an exam.
 */
export function buildRejectionNote(input: RejectionNoteInput): BuiltKos {
  const reason = input.reason ?? '113001';
  const title = REJECTION_TITLES[reason];
  if (!title) throw new KosBuildError(`unknown rejection reason "${reason}": expected one of ${Object.keys(REJECTION_TITLES).join(', ')}`);
  const p = input.patient;
  const patient: DcmDataset = {
    '00100010': personName(fitPersonName(p.name)),
    '00100020': text('LO', checkedIdentifier('LO', p.id, 'Patient ID')),
    ...(p.issuer ? { '00100021': text('LO', checkedIdentifier('LO', p.issuer, 'Issuer of Patient ID')) } : {}),
    '00100030': text('DA', validDate(p.birthDate)),
    '00100040': text('CS', p.sex === 'M' || p.sex === 'F' || p.sex === 'O' ? p.sex : undefined),
  };
  const built = composeKos({
    title,
    patient,
    study: input.study,
    studyDate: validDate(input.study.studyDate),
    studyTime: validTime(input.study.studyTime),
    requests: [],
    uidRoot: input.uidRoot,
    now: input.now ?? new Date(),
    sopInstanceUid: input.sopInstanceUid,
    seriesInstanceUid: input.seriesInstanceUid,
    manufacturer: input.manufacturer ?? 'DRIMbox',
  });
  return { ...built, studyInstanceUid: input.study.studyInstanceUid.trim() };
}
