import { portalUserFrom, type AuthenticatedSession, type PortalUser, type Session } from '../auth/session/index.js';
import { fail, PORTAL, safeReturnTo, type ConsumerCore, type Result } from './core.js';

/** Logging in (Pro Santé Connect, a CPS card), renewing PSC tokens, logging out. */
export function loginFlow(core: ConsumerCore) {
  const { psc, log, now, base, table, sessions, jobs, redirectUri, applyResumeContext, patientUrl, withUsableToken } = core;
  return {
    /** Starts a PSC login for the browser's session (created if needed); returns where to send the browser. */
    async startLogin(session: Session | undefined, returnTo: string | undefined): Promise<{ location: string; setCookie?: string }> {
      let setCookie: string | undefined;
      let s = session;
      if (!s) {
        const issued = sessions.create();
        s = issued.session;
        setCookie = issued.setCookie;
      }
      const { url, pending } = await psc.startLogin(redirectUri);
      sessions.beginLogin(s, { ...pending, returnTo: safeReturnTo(returnTo), startedAt: now() });
      return { location: url.toString(), ...(setCookie ? { setCookie } : {}) };
    },

    /** The PSC callback: checks the login in progress, gets tokens and userinfo, rotates the session. */
    async finishLogin(session: Session | undefined, params: URLSearchParams): Promise<Result<{ location: string; setCookie: string }>> {
      const pending = session?.pendingLogin;
      if (!session || !pending) return fail(400, "aucune connexion en cours dans ce navigateur : recommencez depuis la page d'accueil du portail");
      if (now() - pending.startedAt > 10 * 60_000) return fail(400, 'la connexion a pris trop de temps : recommencez');
      if (params.get('error')) return fail(401, `Pro Santé Connect a refusé la connexion (${params.get('error')})`);
      let tokens;
      let info;
      try {
        tokens = await psc.finishLogin(params, pending);
        info = await psc.userInfo(tokens.accessToken, tokens.sub);
      } catch (err) {
        log.warn('consumer: PSC login failed', { error: err });
        const failure = (err as { failure?: string }).failure;
        return failure === 'unreachable'
          ? fail(502, 'Pro Santé Connect ne répond pas : réessayez dans un instant')
          : fail(401, "la connexion Pro Santé Connect n'a pas abouti : recommencez");
      }
      const user = portalUserFrom(info);
      const issued = sessions.completeLogin(session, user, tokens);
      log.info('consumer: professional logged in', { subjectNameId: user.subjectNameId });
      const opened = applyResumeContext(issued.session);
      return { ok: true, value: { location: opened ? patientUrl(opened) : pending.returnTo, setCookie: issued.setCookie } };
    },

    /**
     * A CPS card login (card in the box's reader with its PIN, or a workstation's card by TLS client certificate):
     * a new session for the professional, as after a PSC login but without PSC tokens.
     */
    cardLogin(session: Session | undefined, user: PortalUser): { location: string; setCookie: string } {
      const base = session ?? sessions.create().session;
      const issued = sessions.completeLogin(base, user, undefined);
      log.info('consumer: professional logged in with a CPS card', { subjectNameId: user.subjectNameId, method: user.authentication?.method });
      const opened = applyResumeContext(issued.session);
      return { location: opened ? patientUrl(opened) : `${PORTAL}/`, setCookie: issued.setCookie };
    },

    /** Ends the sessions a card opened at the box (pulled out of the reader), with their jobs. */
    endCardSessions(cardSerial?: string): number {
      const ids = table.deleteCardSessions(cardSerial);
      for (const id of ids) jobs.cancelOwner(id);
      if (ids.length) log.info('consumer: card sessions ended', { count: ids.length, reason: cardSerial ? 'card removed' : 'box start' });
      return ids.length;
    },

    /** Ends the session (its patients, studies and jobs go with it); returns PSC's end-session URL when there is one. */
    async logout(session: Session | undefined): Promise<{ location: string; setCookie: string }> {
      if (!session) return { location: `${PORTAL}/`, setCookie: sessions.clearCookieHeader() };
      jobs.cancelOwner(session.id);
      const setCookie = sessions.end(session);
      const idToken = session.tokens?.idToken;
      if (!idToken) return { location: `${PORTAL}/`, setCookie };
      try {
        const url = await psc.logoutUrl(idToken, `${base}${PORTAL}/`);
        return { location: url.toString(), setCookie };
      } catch (err) {
        log.warn('consumer: PSC logout URL unavailable', { error: err });
        return { location: `${PORTAL}/`, setCookie };
      }
    },

    /** The session with a PSC access token usable now (renewed with the refresh token when it has expired). */
    usableSession: (session: AuthenticatedSession) => withUsableToken(session),
  };
}
