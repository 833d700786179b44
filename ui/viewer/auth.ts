import { withoutToken } from './params.js';

/**
 * The bearer token for DICOMweb calls. It comes once in the link's fragment (`#token=`), is kept for the tab's lifetime in
 * sessionStorage (never localStorage: it must not outlive the tab) and is wiped from the address bar at once.
 * Without a token the calls rely on the same-origin session cookie (consumer portal).
 */

const STORAGE_KEY = 'drimbox.viewer.token';

/** RFC 6750 §2.1 b64token. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export function adoptToken(fromLink: string | undefined): string | undefined {
  if (fromLink !== undefined && B64TOKEN.test(fromLink)) {
    try {
      sessionStorage.setItem(STORAGE_KEY, fromLink);
    } catch {
      // storage disabled: the token still works for this page
    }
  }
  if (location.search.includes('token=') || location.hash.includes('token=')) history.replaceState(history.state, '', withoutToken(location.href));
  if (fromLink !== undefined && B64TOKEN.test(fromLink)) return fromLink;
  try {
    const stored = sessionStorage.getItem(STORAGE_KEY);
    return stored !== null && B64TOKEN.test(stored) ? stored : undefined;
  } catch {
    return undefined;
  }
}

/** Headers of every DICOMweb call: the bearer token (RFC 6750 §2.1) and the KOS the study was found through. */
export function dicomwebHeaders(token: string | undefined, kosSopInstanceUid?: string): Record<string, string> {
  return {
    ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
    ...(kosSopInstanceUid === undefined ? {} : { 'KOS-SOPInstanceUID': kosSopInstanceUid }),
  };
}
