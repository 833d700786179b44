import { Hono, type Context, type Next } from 'hono';
import { streamSSE } from 'hono/streaming';
import { chooseSituation, displayName, isAuthenticated, type AuthenticatedSession, type Session } from '../auth/session/index.js';
import { safeReturnTo, type ConsumerService, type Result } from '../consumer/index.js';
import { log as defaultLog, type Logger } from '../log/logger.js';
import { contextConfirmPage, errorPage, fill, homePage, jobPage, loadPortalAssets, logoutPage, patientPage, studyPage, welcomePage, type LayoutUser } from '../../../ui/portal/index.js';
import { PORTAL as FR } from '../../../ui/strings/index.js';
import { createDicomwebRoutes, type AuditSink } from './dicomweb-routes.js';
import { mountCardRoutes } from './card-routes.js';
import { PORTAL_CSP, setPageHeaders } from './page-headers.js';
import type { CardReader } from '../auth/card/card-reader.js';
import type { InvokeImageDisplay } from '../source/invoke-image-display.js';

/**
 * The consumer portal's HTTP surface, mounted at /portal: thin over the consumer service. Pages are French HTML
 * rendered on the server; `/api/jobs/:id` (JSON and Server-Sent Events) gives live progress; `/dicom-web` is the
 * viewer's read path over the cache. A page or call that needs a login sends the browser to Pro Santé Connect.
 */

export interface ConsumerRoutesOptions {
  consumer: ConsumerService;
  /** Audit trail of image access (store/audit.ts AuditLog): the viewer's reads are audited like the source's. */
  audit: AuditSink;
  log?: Logger;
  /** The box's CPS card reader, on the kiosk's portal only (the touch screen where the card is). */
  card?: CardReader;
  /** The source box's answer to an IHE Invoke Image Display link (source/invoke-image-display.ts). */
  invokeImageDisplay?: (query: URLSearchParams) => InvokeImageDisplay;
}

const MAX_FORM_BYTES = 16 * 1024;

function param(c: Context, name: string): string {
  return c.req.param(name) ?? '';
}

type Env = { Variables: { session: Session | undefined } };

function userOf(s: AuthenticatedSession): LayoutUser {
  const situation = chooseSituation(s.user);
  return { name: displayName(s.user), ...(situation?.name ? { structure: situation.name } : {}) };
}

/** A form body, refused past 16 KiB (a contextual call or a search is a few hundred bytes). */
async function readForm(c: Context): Promise<string | Response> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    return c.text(FR.formTypeRequired, 415);
  }
  const declared = Number(c.req.header('content-length') ?? '0');
  if (declared > MAX_FORM_BYTES) return c.text(fill(FR.formTooLarge, { max: MAX_FORM_BYTES }), 413);
  const body = await c.req.arrayBuffer();
  if (body.byteLength > MAX_FORM_BYTES) return c.text(fill(FR.formTooLarge, { max: MAX_FORM_BYTES }), 413);
  return new TextDecoder('utf-8').decode(body);
}

// DICOM UID (PS3.5 §9.1): what may go into a viewer link.
const UID = /^[0-2](\.(0|[1-9][0-9]*))+$/;

export function createConsumerRoutes(options: ConsumerRoutesOptions): Hono<Env> {
  const { consumer, audit } = options;
  const log = options.log ?? defaultLog;
  const assets = loadPortalAssets();
  const publicOrigin = new URL(consumer.redirectUri).origin;
  const app = new Hono<Env>();

  const page = (c: Context, html: string | Promise<string>, status = 200) => c.html(html, status as 200);
  const errorFor = (c: Context, r: Extract<Result<unknown>, { ok: false }>, session?: AuthenticatedSession) => {
    if (r.relogin) {
      // After the new login, back to the page the form was on (a POST's own path is not a page).
      const path = new URL(c.req.url).pathname;
      const back = c.req.method === 'POST' ? path.replace(/\/[^/]+$/, '') : path;
      return c.redirect(`/portal/login?suite=${encodeURIComponent(back)}`, 303);
    }
    return page(c, errorPage(r.message, session ? userOf(session) : undefined), r.status);
  };

  app.use('*', async (c, next) => {
    c.set('session', consumer.sessions.resolve(c.req.header('cookie')));
    await next();
    if (!c.req.path.startsWith('/portal/dicom-web')) {
      c.header('cache-control', 'no-store');
      setPageHeaders(c, PORTAL_CSP);
    }
  });

  /** Portal forms only: a POST from another site is refused (the cookie is SameSite=Lax as well). */
  const sameOrigin = async (c: Context, next: Next) => {
    const origin = c.req.header('origin');
    const site = c.req.header('sec-fetch-site');
    const own = new URL(c.req.url).origin;
    if ((origin && origin !== own && origin !== publicOrigin) || site === 'cross-site') return page(c, errorPage(FR.forbiddenOrigin), 403);
    await next();
  };

  /** Pages behind the login: a GET goes through PSC and comes back, anything else is refused. */
  const loggedIn = async (c: Context<Env>, next: Next) => {
    if (isAuthenticated(c.get('session'))) return next();
    if (c.req.path.startsWith('/portal/api/')) return c.json({ error: FR.sessionRequired }, 401);
    // Back to the very page after the login, its query included (an IHE Invoke Image Display link).
    if (c.req.method === 'GET') return c.redirect(`/portal/login?suite=${encodeURIComponent(c.req.path + new URL(c.req.url).search)}`, 302);
    return page(c, errorPage(FR.sessionRequired), 401);
  };
  const session = (c: Context<Env>) => c.get('session') as AuthenticatedSession;

  app.get('/portal/assets/:name', (c) => {
    const asset = assets.get(param(c, 'name'));
    if (!asset) return c.text(FR.notFound, 404);
    return c.body(asset.body, 200, { 'content-type': asset.contentType, 'cache-control': 'public, max-age=3600' });
  });

  if (options.card) mountCardRoutes(app, { consumer, card: options.card, sameOrigin, readForm });

  app.get('/portal', (c) => c.redirect('/portal/', 301));
  app.get('/portal/', (c) => {
    const s = c.get('session');
    if (!isAuthenticated(s)) return page(c, welcomePage(!!options.card));
    return page(c, homePage(userOf(s), consumer.patients(s), consumer.studies(s), consumer.jobsOf(s)));
  });

  /**
   * The viewer link a source box puts in its reports (`/portal/visionneuse?study=…&kos=…`): the professional logs in
   * with Pro Santé Connect, then the viewer opens the study over this box's DICOMweb with their own access token
   * (which the DICOMweb access check introspects, and which the viewer drops from the address bar at once).
   */
  app.get('/portal/visionneuse', async (c) => {
    const study = c.req.query('study') ?? '';
    const kos = c.req.query('kos');
    const isUid = (v: string) => v.length <= 64 && UID.test(v);
    if (!isUid(study) || (kos !== undefined && !isUid(kos))) return page(c, errorPage(FR.notFound), 400);
    const s = c.get('session');
    if (!isAuthenticated(s) || !s.tokens) {
      // The source box's DICOMweb checks a PSC token: a card login does not give one.
      const back = `/portal/visionneuse?study=${study}${kos ? `&kos=${kos}` : ''}`;
      return c.redirect(`/portal/login?suite=${encodeURIComponent(back)}`, 302);
    }
    const live = await consumer.usableSession(s);
    if (!live?.tokens) return c.redirect(`/portal/login?suite=${encodeURIComponent(`/portal/visionneuse?study=${study}${kos ? `&kos=${kos}` : ''}`)}`, 302);
    // The token goes in the fragment: browsers never send it to a server, so no access log or Referer holds it.
    const token = encodeURIComponent(live.tokens.accessToken);
    return c.redirect(`/viewer/?study=${study}${kos ? `&kos=${kos}` : ''}&base=/dicom-web#token=${token}`, 302);
  });

  /**
   * The report's viewer link in its IHE Invoke Image Display form (`/IHEInvokeImageDisplay?…` lands here): the
   * professional logs in first — nothing says whether an exam exists before that — then goes to the viewer.
   */
  app.get('/portal/iid', loggedIn, (c) => {
    const resolved = options.invokeImageDisplay?.(new URL(c.req.url).searchParams) ?? { ok: false as const, status: 404 as const, message: FR.notFound };
    if (!resolved.ok) return page(c, errorPage(resolved.message, userOf(session(c))), resolved.status);
    return c.redirect(`/portal/visionneuse?study=${resolved.studyInstanceUid}&kos=${resolved.kosSopInstanceUid}`, 302);
  });

  // ---------------------------------------------------------------------------------------------- login

  app.get('/portal/login', async (c) => {
    const s = c.get('session');
    const suite = c.req.query('suite');
    // The same check as after a login: a local portal path, nothing else (a CR/LF here once made a 500).
    // A card login has no PSC token: logging in with PSC then adds one (same professional, same patients).
    // An expired token that cannot be renewed needs the login too (else the page and this route would loop).
    if (isAuthenticated(s) && s.tokens && (await consumer.usableSession(s))) return c.redirect(safeReturnTo(suite), 302);
    try {
      const { location, setCookie } = await consumer.startLogin(s, suite);
      if (setCookie) c.header('set-cookie', setCookie);
      return c.redirect(location, 302);
    } catch (err) {
      log.warn('portal: PSC unavailable for login', { error: err });
      return page(c, errorPage(FR.pscUnavailable, undefined, FR.loginFailedTitle), 502);
    }
  });

  app.get('/portal/callback', async (c) => {
    const r = await consumer.finishLogin(c.get('session'), new URL(c.req.url).searchParams);
    if (!r.ok) return page(c, errorPage(r.message, undefined, FR.loginFailedTitle), r.status);
    c.header('set-cookie', r.value.setCookie);
    return c.redirect(r.value.location, 303);
  });

  app.get('/portal/logout', (c) => {
    const s = c.get('session');
    return isAuthenticated(s) ? page(c, logoutPage(userOf(s))) : c.redirect('/portal/', 302);
  });
  app.post('/portal/logout', sameOrigin, async (c) => {
    const auth = c.get('session')?.user?.authentication;
    if (auth?.method === 'cps-card') await options.card?.endSession(auth.cardSerial);
    const { location, setCookie } = await consumer.logout(c.get('session'));
    c.header('set-cookie', setCookie);
    return c.redirect(location, 303);
  });

  // ------------------------------------------------------------------------------------ contextual call

  // Cross-site by design (the RIS's page posts here): no origin check; nothing is done before the redirect's GET.
  app.post('/portal/contexte', async (c) => {
    const body = await readForm(c);
    if (body instanceof Response) {
      consumer.recordFailedContextCall(`requête refusée (HTTP ${body.status})`);
      return body;
    }
    const r = consumer.receiveContextCall(body);
    if (!r.ok) return c.text(r.message, 400);
    return c.redirect(r.value.location, 303);
  });

  app.get('/portal/contexte/:token', async (c) => {
    try {
      const r = await consumer.openContext(c.get('session'), param(c, 'token'));
      if (!r.ok) return page(c, errorPage(r.message), r.status);
      if (r.value.setCookie) c.header('set-cookie', r.value.setCookie);
      return c.redirect(r.value.location, 303);
    } catch (err) {
      log.warn('portal: PSC unavailable for a contextual call', { error: err });
      return page(c, errorPage(FR.pscUnavailable, undefined, FR.loginFailedTitle), 502);
    }
  });

  app.get('/portal/contexte-confirmation', loggedIn, (c) => {
    const call = consumer.pendingContext(session(c));
    if (!call) return c.redirect('/portal/', 302);
    return page(c, contextConfirmPage(userOf(session(c)), call));
  });

  app.post('/portal/contexte-confirmation', sameOrigin, loggedIn, async (c) => {
    const body = await readForm(c);
    if (body instanceof Response) return body;
    const decision = new URLSearchParams(body).get('decision');
    return c.redirect(consumer.confirmContext(session(c), decision === 'ouvrir').location, 303);
  });

  app.get('/portal/api/statistiques/modelstat.csv', loggedIn, (c) => {
    const csv = [...consumer.modelStat({ since: c.req.query('depuis'), until: c.req.query('jusqua') })].join('');
    return c.body(csv, 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="ModelStat.csv"' });
  });

  // ---------------------------------------------------------------------------------- patients and exams

  app.post('/portal/recherche', sameOrigin, loggedIn, async (c) => {
    const body = await readForm(c);
    if (body instanceof Response) return body;
    const form = new URLSearchParams(body);
    const r = consumer.openPatientByIns(session(c), form.get('ins') ?? '', form.get('oid') ?? '');
    if (!r.ok) return errorFor(c, r, session(c));
    return c.redirect(`/portal/patient/${r.value.handle}`, 303);
  });

  app.get('/portal/patient/:handle', loggedIn, async (c) => {
    const s = session(c);
    const patient = consumer.patient(s, param(c, 'handle'));
    if (!patient) return page(c, errorPage(FR.patientNotOpened, userOf(s)), 404);
    const r = await consumer.listExams(s, patient.handle);
    return page(c, patientPage(userOf(s), r.ok ? r.value.patient : patient, r.ok ? { ok: true, exams: r.value.exams } : { ok: false, message: r.message }));
  });

  app.post('/portal/patient/:handle/ouvrir', sameOrigin, loggedIn, async (c) => {
    const body = await readForm(c);
    if (body instanceof Response) return body;
    const documentUniqueId = new URLSearchParams(body).get('document') ?? '';
    if (!/^[\x21-\x7e]{1,128}$/.test(documentUniqueId)) return page(c, errorPage(FR.badDocument, userOf(session(c))), 400);
    const r = await consumer.openExam(session(c), param(c, 'handle'), documentUniqueId);
    if (!r.ok) return errorFor(c, r, session(c));
    return c.redirect(`/portal/travaux/${r.value.progress.id}`, 303);
  });

  // ----------------------------------------------------------------------------------- studies and jobs

  app.get('/portal/etudes/:study', loggedIn, (c) => {
    const s = session(c);
    const view = consumer.study(s, param(c, 'study'));
    if (!view) return page(c, errorPage(FR.studyNotOpened, userOf(s)), 404);
    return page(c, studyPage(userOf(s), view, consumer.jobsOf(s)));
  });

  app.post('/portal/etudes/:study/reprendre', sameOrigin, loggedIn, async (c) => {
    const r = await consumer.resumeStudy(session(c), param(c, 'study'));
    if (!r.ok) return errorFor(c, r, session(c));
    return c.redirect(`/portal/travaux/${r.value.progress.id}`, 303);
  });

  app.post('/portal/etudes/:study/importer', sameOrigin, loggedIn, async (c) => {
    const body = await readForm(c);
    if (body instanceof Response) return body;
    const form = new URLSearchParams(body);
    const coercion = form.get('coercion') === '1' ? { id: form.get('ipp') ?? '', issuer: form.get('emetteur') ?? '' } : undefined;
    const r = consumer.importStudy(session(c), param(c, 'study'), coercion);
    if (!r.ok) return errorFor(c, r, session(c));
    return c.redirect(`/portal/travaux/${r.value.progress.id}`, 303);
  });

  app.get('/portal/travaux/:id', loggedIn, (c) => {
    const s = session(c);
    const job = consumer.job(s, param(c, 'id'));
    if (!job) return page(c, errorPage(FR.jobUnknown, userOf(s)), 404);
    const progress = job.snapshot();
    return page(c, jobPage(userOf(s), progress, consumer.study(s, progress.studyInstanceUid)));
  });

  app.get('/portal/api/jobs/:id', loggedIn, (c) => {
    const job = consumer.job(session(c), param(c, 'id'));
    return job ? c.json(job.snapshot()) : c.json({ error: FR.jobUnknown }, 404);
  });

  app.get('/portal/api/jobs/:id/events', loggedIn, (c) => {
    const job = consumer.job(session(c), param(c, 'id'));
    if (!job) return c.json({ error: FR.jobUnknown }, 404);
    return streamSSE(c, async (stream) => {
      let ended = false;
      let wake: (() => void) | undefined;
      const queue: string[] = [JSON.stringify(job.snapshot())];
      const unsubscribe = job.subscribe((p) => {
        queue.push(JSON.stringify(p));
        wake?.();
      });
      stream.onAbort(() => {
        ended = true;
        wake?.();
      });
      try {
        while (!ended) {
          while (queue.length) await stream.writeSSE({ event: 'progress', data: queue.shift()! });
          if (job.finished) break;
          // Wake on progress, or every 15 s for a keep-alive comment (proxies close silent streams).
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, 15_000).unref();
          });
          wake = undefined;
          if (!queue.length && !ended) await stream.write(': keep-alive\n\n');
        }
      } finally {
        unsubscribe();
      }
    });
  });

  // ------------------------------------------------------------------------- the viewer's DICOMweb path

  app.route(
    '/portal/dicom-web',
    createDicomwebRoutes({
      service: consumer.dicomweb,
      authorize: (request, resource) => consumer.authorize(request, resource),
      audit,
      log,
    }),
  );

  app.all('/portal/*', (c) => page(c, errorPage(FR.notFound, isAuthenticated(c.get('session')) ? userOf(c.get('session') as AuthenticatedSession) : undefined), 404));
  return app;
}
