/**
 * What the page was asked to show, read from its URL. Everything here is untrusted: a link can be forged, so the
 * DICOMweb base must stay on this origin (the bearer token is sent to it) and the study UID must be a UID.
 */

export const DEFAULT_DICOMWEB_BASE = '/dicom-web';

/** PS3.5 §9.1: digits and dots, components without leading zeros, at most 64 characters. */
const UID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;

export function isUid(value: string): boolean {
  return value.length <= 64 && UID.test(value);
}

export type ViewerRequest =
  | {
      ok: true;
      studyInstanceUid: string;
      seriesInstanceUid?: string;
      dicomwebBase: string;
      token?: string;
      /** The KOS the study was found through: sent as `KOS-SOPInstanceUID` (ci-sis-imaging.md §3.2). */
      kosSopInstanceUid?: string;
      /** An earlier exam of the same patient, on the same DICOMweb base, shown beside it for comparison. */
      priorStudyInstanceUid?: string;
    }
  | { ok: false; reason: 'missingStudy' | 'badStudy' | 'badBase' };

/**
 * Accepts only a same-origin absolute path as DICOMweb base (`/dicom-web`, `/portal/dicom-web`): no scheme, no host,
 * no `//`, no backslash, no dot segment, no query or fragment. Returns it without a trailing slash.
 */
export function safeDicomwebBase(raw: string | null): string | undefined {
  if (raw === null || raw === '') return DEFAULT_DICOMWEB_BASE;
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(raw) || raw.startsWith('//')) return undefined;
  const segments = raw.split('/').slice(1);
  if (segments.some((s) => s === '.' || s === '..')) return undefined;
  const trimmed = raw.replace(/\/+$/, '');
  if (trimmed === '' || trimmed.includes('//')) return undefined;
  return trimmed;
}

/**
 * Reads the page's address. The bearer token comes in the fragment (`#token=…`: never sent to a server, never in an
 * access log); `?token=` is still read from older links and wiped at once like the fragment.
 */
export function parseViewerRequest(search: string, hash = ''): ViewerRequest {
  const params = new URLSearchParams(search);
  const fragment = new URLSearchParams(hash.replace(/^#/, ''));
  const study = params.get('study')?.trim();
  if (!study) return { ok: false, reason: 'missingStudy' };
  if (!isUid(study)) return { ok: false, reason: 'badStudy' };
  const series = params.get('series')?.trim();
  if (series && !isUid(series)) return { ok: false, reason: 'badStudy' };
  const dicomwebBase = safeDicomwebBase(params.get('base'));
  if (dicomwebBase === undefined) return { ok: false, reason: 'badBase' };
  const kos = params.get('kos')?.trim();
  if (kos && !isUid(kos)) return { ok: false, reason: 'badStudy' };
  const prior = params.get('prior')?.trim();
  if (prior && (!isUid(prior) || prior === study)) return { ok: false, reason: 'badStudy' };
  const token = fragment.get('token')?.trim() || params.get('token')?.trim() || undefined;
  return {
    ok: true,
    studyInstanceUid: study,
    ...(series ? { seriesInstanceUid: series } : {}),
    dicomwebBase,
    ...(token ? { token } : {}),
    ...(kos ? { kosSopInstanceUid: kos } : {}),
    ...(prior ? { priorStudyInstanceUid: prior } : {}),
  };
}

/** The same URL without its token (query or fragment), so the bearer token leaves the address bar and the history. */
export function withoutToken(href: string): string {
  const url = new URL(href);
  const fragment = new URLSearchParams(url.hash.replace(/^#/, ''));
  if (!url.searchParams.has('token') && !fragment.has('token')) return href;
  if (url.searchParams.has('token')) url.searchParams.delete('token');
  if (fragment.has('token')) {
    fragment.delete('token');
    url.hash = fragment.toString();
  }
  return url.toString();
}
