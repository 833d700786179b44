/** Server-side sessions of the consumer portal (cookie, records, login rotation, expiry) and the logged-in user. */
export { DEFAULT_COOKIE, clearCookie, cookieValues, serializeCookie, type CookieSettings } from './cookie.js';
export {
  SessionManager,
  isAuthenticated,
  tokenUsable,
  type AuthenticatedSession,
  type IssuedSession,
  type PendingPortalLogin,
  type Session,
  type SessionRecord,
  type SessionRecords,
  type SessionSettings,
} from './sessions.js';
export { chooseSituation, displayName, portalUserFrom, portalUserFromCard, type CardAuthentication, type CertifiedHolder, type PortalUser, type PracticeSituation } from './user.js';
