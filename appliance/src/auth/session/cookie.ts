/**
 * The portal's session cookie (RFC 6265): an opaque random value, HttpOnly (no script reads it), Secure, SameSite=Lax
 * (a cross-site POST does not carry it, a top-level link does), scoped to the portal's path.
 */

export interface CookieSettings {
  name: string;
  path: string;
  /** Off only for plain-HTTP test benches; browsers accept Secure cookies on loopback anyway. */
  secure: boolean;
}

export const DEFAULT_COOKIE: CookieSettings = { name: 'drimbox_portail', path: '/portal', secure: true };

const VALUE = /^[A-Za-z0-9_-]{20,128}$/;

export function serializeCookie(settings: CookieSettings, value: string, maxAgeSeconds: number): string {
  if (!VALUE.test(value)) throw new RangeError('session cookie value must be base64url');
  const parts = [`${settings.name}=${value}`, `Path=${settings.path}`, `Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`, 'HttpOnly', 'SameSite=Lax'];
  if (settings.secure) parts.push('Secure');
  return parts.join('; ');
}

export function clearCookie(settings: CookieSettings): string {
  const parts = [`${settings.name}=`, `Path=${settings.path}`, 'Max-Age=0', 'HttpOnly', 'SameSite=Lax'];
  if (settings.secure) parts.push('Secure');
  return parts.join('; ');
}

/** Every well-formed value of the cookie in a Cookie header (a browser may send two of the same name). */
export function cookieValues(header: string | null | undefined, name: string): string[] {
  if (!header) return [];
  const out: string[] = [];
  for (const piece of header.split(';')) {
    const eq = piece.indexOf('=');
    if (eq < 0 || piece.slice(0, eq).trim() !== name) continue;
    const value = piece.slice(eq + 1).trim();
    if (VALUE.test(value)) out.push(value);
  }
  return out;
}
