import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumerService, type ConsumerService } from '../../appliance/src/consumer/index.js';
import { createConsumerRoutes } from '../../appliance/src/http/consumer-routes.js';
import { AuditLog } from '../../appliance/src/store/audit.js';
import type { Db } from '../../appliance/src/store/database.js';
import { sampleContext } from './xds-helpers.js';
import { Browser, consumerDb, consumerSettings, contextBody, FAKE_PSC_AUTHORIZE, fakeDmp, fakePsc, kosEntry, nullBridge } from './consumer-helpers.js';

const BERNARD_CX = '279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH';
const OTHER_CX = '162018885045327^^^&1.2.250.1.213.1.4.10&ISO^NH';

let dir: string;
let db: Db;
let consumer: ConsumerService;
let psc: ReturnType<typeof fakePsc>;
let dmp: ReturnType<typeof fakeDmp>;
let app: ReturnType<typeof createConsumerRoutes>;

const ORIGIN = 'http://127.0.0.1:8080';
const newBrowser = () => new Browser((path, init) => app.request(`${ORIGIN}${path}`, init));

/** Logs a browser in through the fake PSC: follows the redirect and comes back with the named professional. */
async function login(b: Browser, user: string, start = '/portal/login'): Promise<Response> {
  const toPsc = await b.go(start);
  expect([302, 303]).toContain(toPsc.status);
  const authorize = new URL(toPsc.headers.get('location')!);
  expect(authorize.origin + authorize.pathname).toBe(FAKE_PSC_AUTHORIZE);
  return b.go(`/portal/callback?code=${user}&state=${authorize.searchParams.get('state')}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'consumer-routes-'));
  db = consumerDb();
  psc = fakePsc();
  dmp = fakeDmp({ [BERNARD_CX]: [kosEntry()], [OTHER_CX]: [kosEntry({ uniqueId: '1.2.9', patientId: OTHER_CX, comments: 'Radio du thorax' })] });
  consumer = await createConsumerService({ db, settings: consumerSettings(dir), psc, dmp, xdsContext: sampleContext(), whitelist: () => undefined, bridge: nullBridge });
  app = createConsumerRoutes({ consumer, audit: new AuditLog(db) });
});
afterAll(() => {
  consumer.stop();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('contextual call over HTTP', () => {
  it('303 to a one-time URL, which goes through PSC and lands on the patient with the strict INS traits', async () => {
    const b = newBrowser();
    const posted = await b.post('/portal/contexte', contextBody());
    expect(posted.status).toBe(303);
    const location = posted.headers.get('location')!;
    expect(location).toMatch(/^\/portal\/contexte\/[A-Za-z0-9_-]{32}$/);
    expect(location).not.toContain('279035121518989');

    const landing = await login(b, 'claire.martin', location);
    expect(landing.status).toBe(303);
    const patientUrl = landing.headers.get('location')!;
    expect(patientUrl).toMatch(/^\/portal\/patient\/[A-Za-z0-9_-]{16}$/);
    const page = await b.go(patientUrl);
    expect(page.status).toBe(200);
    const html = await page.text();
    for (const [id, value] of [
      ['trait-nom-naissance', 'BERNARD'],
      ['trait-premier-prenom', 'JEAN'],
      ['trait-prenoms', 'JEAN PIERRE'],
      ['trait-date-naissance', '12/03/1979'],
      ['trait-sexe', 'Masculin'],
      ['trait-lieu-naissance', '97416'],
      ['trait-ins', '279035121518989'],
      ['trait-ins-oid', '1.2.250.1.213.1.4.10 (INS-NIR de test)'],
      ['trait-ipp', 'IPP-0042'],
    ]) {
      expect(html, id).toContain(`<dd id="${id}">${value}</dd>`);
    }
    // The exam list, from ITI-18 under Dr MARTIN's VIHF, in the situation the RIS named.
    expect(html).toContain('Scanner cérébral sans injection');
    expect(html).toContain('Imagerie médicale de Saint-Pierre');
    expect(html).toContain('15/01/2026 10:30'); // 09:30 UTC in Paris
    const vihf = dmp.subjects.at(-1)!;
    expect(vihf).toMatchObject({ nameId: '810000000001', patientId: BERNARD_CX, facilityTypeCode: 'SA08', structureId: '311111111100011' });
    expect(vihf.roles.map((r) => `${r.code}^${r.scheme}`)).toEqual(['10^1.2.250.1.71.1.2.7', 'SM44^1.2.250.1.71.4.2.5']);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.headers.get('cache-control')).toBe('no-store');

    // The one-time URL does not work twice, even for the same browser.
    expect((await b.go(location)).status).toBe(410);
  });

  it('a logged-in browser confirms the patient on the portal\'s own page before anything is searched, no second login', async () => {
    const b = newBrowser();
    await login(b, 'claire.martin');
    const logins = psc.logins;
    const calls = dmp.subjects.length;
    const posted = await b.post('/portal/contexte', contextBody({ 'Patient.identifier.value': '162018885045327' }));
    const opened = await b.go(posted.headers.get('location')!);
    expect(opened.status).toBe(303);
    expect(opened.headers.get('location')).toBe('/portal/contexte-confirmation');
    const confirm = await (await b.go('/portal/contexte-confirmation')).text();
    expect(confirm).toContain('id="contexte-ins">162018885045327');
    expect(confirm).toContain('id="confirmer-contexte"');
    expect(dmp.subjects.length).toBe(calls); // nothing searched yet
    // A cross-site post of the confirmation is refused: only the professional, on the portal, confirms.
    expect((await b.post('/portal/contexte-confirmation', 'decision=ouvrir', { origin: 'https://evil.example' })).status).toBe(403);
    const confirmed = await b.post('/portal/contexte-confirmation', 'decision=ouvrir');
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get('location')).toMatch(/^\/portal\/patient\//);
    expect(psc.logins).toBe(logins);
  });

  it('a call the professional declines opens nothing', async () => {
    const b = newBrowser();
    await login(b, 'claire.martin');
    const posted = await b.post('/portal/contexte', contextBody({ 'Patient.identifier.value': '162018885045327' }));
    await b.go(posted.headers.get('location')!);
    const declined = await b.post('/portal/contexte-confirmation', 'decision=annuler');
    expect(declined.headers.get('location')).toBe('/portal/');
    expect((await b.go('/portal/contexte-confirmation')).headers.get('location')).toBe('/portal/');
  });

  it('answers 400 with the reason, 415 for another body type, and counts every call for ModelStat', async () => {
    const before = consumer.contextCallCounts();
    const missing = await newBrowser().post('/portal/contexte', contextBody({ PatientIDIssuer: null }));
    expect(missing.status).toBe(400);
    expect(await missing.text()).toBe('paramètre obligatoire manquant : PatientIDIssuer');
    const unknown = await newBrowser().post('/portal/contexte', `${contextBody()}&StudyInstanceUID=1.2.3`);
    expect(await unknown.text()).toBe('paramètre inconnu : StudyInstanceUID');
    const json = await newBrowser().go('/portal/contexte', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(json.status).toBe(415);
    const good = await newBrowser().post('/portal/contexte', contextBody());
    expect(good.status).toBe(303);
    const after = consumer.contextCallCounts();
    expect(after.total - before.total).toBe(4);
    expect(after.erreur - before.erreur).toBe(3);
    expect(after.succes - before.succes).toBe(1);

    const b = newBrowser();
    expect((await b.go('/portal/api/statistiques/modelstat.csv')).status).toBe(401); // behind the login
    await login(b, 'paul.durand');
    const csv = await (await b.go('/portal/api/statistiques/modelstat.csv')).text();
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe('Nombre_Appel;Statut_Appel');
    expect(lines.length - 1).toBe(after.total);
    expect(lines.slice(1).every((l) => l === '1;succes' || l === '1;erreur')).toBe(true);
    expect(lines.slice(-4)).toEqual(['1;erreur', '1;erreur', '1;erreur', '1;succes']);
  });
});

describe('sessions over HTTP', () => {
  it('sends an anonymous visitor to PSC and back to the page asked for', async () => {
    const b = newBrowser();
    const res = await b.go('/portal/etudes/1.2.3');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`/portal/login?suite=${encodeURIComponent('/portal/etudes/1.2.3')}`);
    const back = await login(b, 'claire.martin', res.headers.get('location')!);
    expect(back.headers.get('location')).toBe('/portal/etudes/1.2.3');
    expect((await newBrowser().go('/portal/api/jobs/abc')).status).toBe(401);
    expect((await newBrowser().go('/portal/dicom-web/studies')).status).toBe(401);
  });

  it('never follows a return path outside the portal', async () => {
    const b = newBrowser();
    const back = await login(b, 'claire.martin', `/portal/login?suite=${encodeURIComponent('//evil.example/portal/')}`);
    expect(back.headers.get('location')).toBe('/portal/');
  });

  it('answers a logged-in professional whose return path carries CR/LF with the portal, not a 500', async () => {
    const b = newBrowser();
    await login(b, 'claire.martin');
    for (const suite of ['/portal/\r\nSet-Cookie: x=1', '/portal/\u0000', '/portal/\\evil']) {
      const res = await b.go(`/portal/login?suite=${encodeURIComponent(suite)}`);
      expect(res.status, JSON.stringify(suite)).toBe(302);
      expect(res.headers.get('location')).toBe('/portal/');
    }
  });

  it('refuses a form posted from another site', async () => {
    const b = newBrowser();
    await login(b, 'claire.martin');
    const res = await b.post('/portal/recherche', { ins: '279035121518989', oid: '1.2.250.1.213.1.4.10' }, { origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    const ok = await b.post('/portal/recherche', { ins: '279035121518989', oid: '1.2.250.1.213.1.4.10' }, { origin: ORIGIN });
    expect(ok.status).toBe(303);
  });

  it('two professionals at once: each sees only the patients they opened', async () => {
    const claire = newBrowser();
    const paul = newBrowser();
    await login(claire, 'claire.martin');
    await login(paul, 'paul.durand');
    const c = await claire.post('/portal/recherche', { ins: '279035121518989', oid: '1.2.250.1.213.1.4.10' });
    const p = await paul.post('/portal/recherche', { ins: '162018885045327', oid: '1.2.250.1.213.1.4.10' });
    const claireUrl = c.headers.get('location')!;
    const paulUrl = p.headers.get('location')!;
    const claireHome = await (await claire.go('/portal/')).text();
    const paulHome = await (await paul.go('/portal/')).text();
    expect(claireHome).toContain('279035121518989');
    expect(claireHome).not.toContain('162018885045327');
    expect(paulHome).toContain('162018885045327');
    expect(paulHome).not.toContain('279035121518989');
    expect((await paul.go(claireUrl)).status).toBe(404);
    expect((await claire.go(paulUrl)).status).toBe(404);
    const paulPage = await (await paul.go(paulUrl)).text();
    expect(paulPage).toContain('Radio du thorax');
    expect(paulPage).not.toContain('Scanner cérébral');
    // Search by INS: the traits come from the DMP's metadata, and say so.
    expect(await (await claire.go(claireUrl)).text()).toContain('Traits issus des métadonnées du DMP.');
  });

  it('refuses the DMP when the patient did not consent', async () => {
    const b = newBrowser();
    await login(b, 'claire.martin');
    const calls = dmp.subjects.length;
    const posted = await b.post('/portal/contexte', contextBody({ InformationEtConsentement: 'false', 'Patient.identifier.value': '162018885045327' }));
    await b.go(posted.headers.get('location')!);
    const opened = await b.post('/portal/contexte-confirmation', 'decision=ouvrir');
    const html = await (await b.go(opened.headers.get('location')!)).text();
    expect(html).toContain('InformationEtConsentement');
    expect(dmp.subjects.length).toBe(calls);
  });

  it('logout ends the session at the box and at PSC', async () => {
    const b = newBrowser();
    await login(b, 'claire.martin');
    expect(b.cookie('drimbox_portail')).toBeDefined();
    const out = await b.post('/portal/logout', {});
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toMatch(/^https:\/\/psc\.test\/logout\?id_token_hint=id-claire\.martin/);
    expect(b.cookie('drimbox_portail')).toBeUndefined();
    expect(await (await b.go('/portal/')).text()).toContain('id="connexion-psc"');
  });
});

describe('an expired PSC access token', () => {
  async function clocked(withRefresh: boolean, name: string) {
    const clock = { now: Date.now() };
    const fake = fakePsc({ withRefresh });
    const own = consumerDb();
    const service = await createConsumerService({ db: own, settings: consumerSettings(join(dir, name)), psc: fake, dmp, xdsContext: sampleContext(), whitelist: () => undefined, bridge: nullBridge, now: () => clock.now });
    const routes = createConsumerRoutes({ consumer: service, audit: new AuditLog(own) });
    const b = new Browser((path, init) => routes.request(`${ORIGIN}${path}`, init));
    const toPsc = await b.go('/portal/login');
    await b.go(`/portal/callback?code=claire.martin&state=${new URL(toPsc.headers.get('location')!).searchParams.get('state')}`);
    return { clock, fake, b, close: () => (service.stop(), own.close()) };
  }
  const study = '1.2.826.0.1.3680043.10.1558.7.1';

  it('is renewed with the refresh token, silently, once', async () => {
    const { clock, fake, b, close } = await clocked(true, 'refresh');
    expect((await b.go(`/portal/visionneuse?study=${study}`)).headers.get('location')).toContain('#token=access-claire.martin');
    expect(fake.refreshes).toBe(0);
    clock.now += 10 * 60_000; // the 5-minute access token has expired; the session (30 min idle) has not
    expect((await b.go(`/portal/visionneuse?study=${study}`)).headers.get('location')).toContain('#token=access-claire.martin-r1');
    expect(fake.refreshes).toBe(1);
    // the renewed token is kept: asking again does not refresh again
    expect((await b.go(`/portal/visionneuse?study=${study}`)).headers.get('location')).toContain('#token=access-claire.martin-r1');
    expect(fake.refreshes).toBe(1);
    close();
  });

  it('without a refresh token, sends the professional to log in again, and back to the page', async () => {
    const { clock, b, close } = await clocked(false, 'no-refresh');
    clock.now += 10 * 60_000;
    const res = await b.go(`/portal/visionneuse?study=${study}`);
    expect(res.headers.get('location')).toBe(`/portal/login?suite=${encodeURIComponent(`/portal/visionneuse?study=${study}`)}`);
    // …and that login page starts a PSC login, never sends back to the page (no loop)
    const login = await b.go(res.headers.get('location')!);
    expect(new URL(login.headers.get('location')!).origin).toBe('https://psc.test');
    close();
  });
});
