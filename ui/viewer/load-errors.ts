import { STRINGS } from '../strings/viewer.js';

/**
 * What the page says, in French, when something could not be loaded: from an HTTP status wherever it comes from (our
 * DICOMweb client, the image loader's XHR, the YBR loader), a timeout, or a decoder failure. Pure.
 */

export class LoadTimeout extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: no answer in ${ms} ms`);
    this.name = 'LoadTimeout';
  }
}

/** The HTTP status an error carries, if any (0 = the request never got an answer). */
export function httpStatusOf(err: unknown): number | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const status = (err as { status?: unknown }).status;
  return typeof status === 'number' ? status : undefined;
}

export type ErrorScope = 'study' | 'image';

export function errorText(err: unknown, scope: ErrorScope): string {
  if (err instanceof LoadTimeout) return STRINGS.errors.timeout;
  const status = httpStatusOf(err);
  if (status === 401) return STRINGS.errors.sessionExpired;
  if (status === 403) return STRINGS.errors.forbidden;
  if (status === 404) return scope === 'study' ? STRINGS.errors.notFound : STRINGS.errors.imageNotFound;
  if (status === 406 || status === 415 || status === 422) return STRINGS.errors.formatRefused(status);
  if (status !== undefined && (status === 0 || status >= 500)) return STRINGS.errors.unavailable;
  if (err instanceof TypeError && scope === 'study') return STRINGS.errors.unavailable; // fetch: network failure
  return scope === 'image' ? STRINGS.errors.image : STRINGS.errors.generic;
}

/** Rejects with LoadTimeout when `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LoadTimeout(what, ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
