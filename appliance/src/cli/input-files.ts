import { readFile, stat } from 'node:fs/promises';
import type { ReportEvent } from '../report/types.js';

/** A file given on the command line that cannot be used: the command says why and exits 1. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export const MAX_REPORT_BYTES = 32 * 1024 * 1024;

/** Reads a regular file no larger than `max`, with errors that name it. */
export async function readBounded(path: string, max: number, what: string): Promise<Buffer> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new InputError(`${what} ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  if (!info.isFile()) throw new InputError(`${what} ${path} is not a file`);
  if (info.size > max) throw new InputError(`${what} ${path} is ${info.size} bytes, more than the ${max} accepted`);
  return readFile(path);
}

/** The report event from a CDA, an HL7 v2 message or its JSON form, recognised by content, not by name. */
export async function loadReportFile(path: string): Promise<ReportEvent> {
  const bytes = await readBounded(path, MAX_REPORT_BYTES, 'report');
  const head = bytes.subarray(0, 64).toString('latin1').replace(/^\xEF\xBB\xBF/, '').trimStart();
  try {
    if (head.startsWith('{')) return reportFromJson(bytes.toString('utf8'));
    if (!head.startsWith('<') && !head.startsWith('MSH') && !head.startsWith('\x0bMSH')) {
      throw new InputError(`report ${path} is neither a CDA (XML), an HL7 v2 message (MSH...) nor a report event (JSON)`);
    }
    const { reportFromBytes } = await import('../report/parse.js');
    return reportFromBytes(bytes);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`report ${path}: ${(err as Error).message}`);
  }
}

function reportFromJson(json: string): ReportEvent {
  const value = JSON.parse(json) as Partial<ReportEvent> | null;
  if (!value || typeof value !== 'object' || typeof value.patient !== 'object' || value.patient === null) {
    throw new InputError('JSON report event without a "patient" object');
  }
  return {
    action: 'publish',
    trigger: 'JSON',
    modalities: [],
    regions: [],
    document: {},
    dmp: { sendToDmp: true, maskedFromProfessionals: false, invisibleToPatient: false, invisibleToLegalRepresentatives: false },
    ...value,
  } as ReportEvent;
}
