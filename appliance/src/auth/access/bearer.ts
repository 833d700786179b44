// RFC 6750 §2.1: Authorization: Bearer <b64token>. The scheme is case-insensitive.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The bearer token of an Authorization header: undefined when there is none, '' when the header is there but
 * is not a usable bearer credential (another scheme, several values, bad characters).
 */
export function bearerToken(header: string | readonly string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string') return header.length === 0 ? undefined : header.length === 1 ? bearerToken(header[0]) : '';
  if (header.trim() === '') return undefined;
  return BEARER.exec(header)?.[1] ?? '';
}
