import { join, resolve, sep } from 'node:path';

/**
 * UID syntax (PS3.5 §9.1): digits and dots, at most 64 characters, no empty component. Leading zeros,
 * which PS3.5 forbids, are tolerated: some PACS emit them and refusing their instances helps nobody.
 */
const UID = /^[0-9]+(\.[0-9]+)*$/;

export function isValidUid(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 64 && UID.test(value);
}

/** Strips the trailing NUL/space padding of a UI value (PS3.5 §6.2). */
export function trimUid(value: string): string {
  return value.replace(/[\0 ]+$/, '');
}

/**
 * Path of the Part-10 file for an instance: `<dir>/<SOP Instance UID>.dcm`. The UID is validated first,
 * so the name can only be digits and dots; the resolved path is checked to stay inside dir all the same.
 */
export function instancePath(dir: string, sopInstanceUid: string): string {
  if (!isValidUid(sopInstanceUid)) {
    throw new Error(`invalid SOP Instance UID ${JSON.stringify(String(sopInstanceUid).slice(0, 80))}: refusing to name a file after it`);
  }
  const root = resolve(dir);
  const path = join(root, `${sopInstanceUid}.dcm`);
  if (!path.startsWith(root + sep)) throw new Error(`instance path escapes ${root}`);
  return path;
}
