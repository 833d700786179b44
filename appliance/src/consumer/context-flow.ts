import { randomBytes } from 'node:crypto';
import { isAuthenticated, type AuthenticatedSession, type Session } from '../auth/session/index.js';
import { modelStatCsv, type StatsRange } from '../store/consumer-stats.js';
import { parseContextCall, type ContextCall } from './context-call.js';
import { digest, fail, PORTAL, type ConsumerCore, type Result } from './core.js';

/** The RIS's contextual call: received, counted, confirmed by the professional, opened in the session. */
export function contextFlow(core: ConsumerCore) {
  const { settings, psc, now, table, stats, sessions, redirectUri, applyResumeContext, patientUrl } = core;
  return {
    /** POST /portal/contexte: validates and counts the call; a valid one gets a one-time redirect URL. */
    receiveContextCall(body: string): Result<{ location: string }> {
      const parsed = parseContextCall(body);
      if (!parsed.ok) {
        stats.record('erreur', parsed.reason);
        return fail(400, parsed.reason);
      }
      const token = randomBytes(24).toString('base64url');
      table.addPendingContext(digest(token), JSON.stringify(parsed.call), now(), now() + settings.contextTtlMs);
      stats.record('succes', undefined);
      return { ok: true, value: { location: `${PORTAL}/contexte/${token}` } };
    },

    /** A call refused before its parameters could be read (wrong content type, too large): counted as an error. */
    recordFailedContextCall(reason: string): void {
      stats.record('erreur', reason);
    },

    /** GET of the redirect URL: opens the patient in the session, through a PSC login when needed. */
    async openContext(session: Session | undefined, token: string): Promise<Result<{ location: string; setCookie?: string }>> {
      const json = /^[A-Za-z0-9_-]{20,64}$/.test(token) ? table.takePendingContext(digest(token), now()) : undefined;
      if (!json) return fail(410, 'ce lien a déjà servi ou a expiré : relancez l’ouverture depuis votre logiciel');
      if (isAuthenticated(session)) {
        // A call can be posted by any site onto a logged-in professional's session: nothing is searched, and no
        // consent is taken, until the professional confirms on the portal's own page.
        sessions.setResumeContext(session, json);
        return { ok: true, value: { location: `${PORTAL}/contexte-confirmation` } };
      }
      let s = session;
      let setCookie: string | undefined;
      if (!s) {
        const issued = sessions.create();
        s = issued.session;
        setCookie = issued.setCookie;
      }
      sessions.setResumeContext(s, json);
      const { url, pending } = await psc.startLogin(redirectUri);
      sessions.beginLogin(s, { ...pending, returnTo: `${PORTAL}/`, startedAt: now() });
      return { ok: true, value: { location: url.toString(), ...(setCookie ? { setCookie } : {}) } };
    },

    /** The call waiting for the logged-in professional's confirmation, if any. */
    pendingContext(session: AuthenticatedSession): ContextCall | undefined {
      if (!session.resumeContext) return undefined;
      try {
        return JSON.parse(session.resumeContext) as ContextCall;
      } catch {
        return undefined;
      }
    },

    /** The professional confirms (opens the patient) or declines (forgets the call). */
    confirmContext(session: AuthenticatedSession, confirmed: boolean): { location: string } {
      if (!confirmed) {
        sessions.setResumeContext(session, undefined);
        return { location: `${PORTAL}/` };
      }
      const opened = applyResumeContext(session);
      return { location: opened ? patientUrl(opened) : `${PORTAL}/` };
    },

    contextCallCounts: (range: StatsRange = {}) => stats.counts(range),
    modelStat: (range: StatsRange = {}) => modelStatCsv(stats, range),

  };
}
