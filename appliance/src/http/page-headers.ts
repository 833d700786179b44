import type { Context, MiddlewareHandler } from 'hono';
import { WAIT_FOR_RESTART_HASH } from '../../../ui/setup/other-pages.js';

/**
 * The headers of a page served to a person's browser (the portal, the setup and status screens): never framed (no
 * clickjacking of a PIN or a factory reset), never sniffed into another type, no Referer to other sites (same-origin:
 * the browser still sends Origin on the page's own forms), and a Content Security Policy saying what the page may load.
 */
export function setPageHeaders(c: Context, csp: string): void {
  c.header('x-content-type-options', 'nosniff');
  c.header('x-frame-options', 'DENY');
  c.header('referrer-policy', 'same-origin');
  c.header('content-security-policy', csp);
}

/** The portal's pages load only the box's own files; no form-action: the logout form's answer leads on to Pro Santé Connect. */
export const PORTAL_CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

/**
 * The setup and status screens load only the box's own files; the one inline script they run is the wait for the
 * restart (ui/setup/other-pages.tsx), by its hash; their forms post to the box only.
 */
export const PRACTICE_SCREENS_CSP = [
  "default-src 'self'",
  `script-src 'self' ${WAIT_FOR_RESTART_HASH}`,
  "img-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

/** First middleware of the setup and status route groups: every answer, static files included, gets the headers. */
export function practiceScreenHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    // Pages carry form tokens and the box's state: not kept. Static files say their own (no-cache).
    if (!c.res.headers.has('cache-control')) c.header('cache-control', 'no-store');
    setPageHeaders(c, PRACTICE_SCREENS_CSP);
  };
}
