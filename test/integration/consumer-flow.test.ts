import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobProgress } from '../../appliance/src/consumer/index.js';
import { AuditLog } from '../../appliance/src/store/audit.js';
import { readPart10 } from '../../appliance/src/dicom/dataset/part10.js';
import { boundaryOf, readMultipart } from '../../appliance/src/dicomweb/multipart-reader.js';
import { datasetBytes } from '../fixtures/mini-instances.js';
import { loginWithPassword } from '../peers/psc-sim/login-driver.js';
import { BERNARD, HttpBrowser, startConsumerBed, type ConsumerBed, type PublishedExam } from './consumer-bed.js';
import { bernardContextCall } from '../fixtures/patients.js';

/**
 * The consumer DRIMbox against real peers: the PSC simulator's login page, the strict DMP simulator, Orthanc as
 * both PACS, and our own DICOMweb routes as the source box (checking the PSC token by introspection and the
 * KOS-SOPInstanceUID header). Driven over HTTP like a browser.
 */

let bed: ConsumerBed;
let main: PublishedExam;
let other: PublishedExam;

const PASSWORD = 'psc-sim-2026';

function contextForm(patch: Record<string, string> = {}): Record<string, string> {
  return bernardContextCall(patch);
}

/** Follows a redirect to the PSC simulator, logs in on its page, comes back to the portal's callback. */
async function throughPsc(browser: HttpBrowser, toPsc: Response, user: string): Promise<Response> {
  expect([302, 303]).toContain(toPsc.status);
  const authorize = new URL(toPsc.headers.get('location')!);
  expect(authorize.href.startsWith(`${bed.psc.issuer}/protocol/openid-connect/auth`)).toBe(true);
  expect(authorize.searchParams.get('acr_values')).toBe('eidas1');
  expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
  const { callbackUrl } = await loginWithPassword(authorize, { user, password: PASSWORD });
  return browser.go(callbackUrl);
}

/** Opens Mr Bernard through a contextual call as `user`; returns the patient page URL. */
async function openBernard(browser: HttpBrowser, user: string, patch: Record<string, string> = {}): Promise<string> {
  const posted = await browser.post('/portal/contexte', contextForm(patch));
  expect(posted.status).toBe(303);
  const toPsc = await browser.go(posted.headers.get('location')!);
  const landing = await throughPsc(browser, toPsc, user);
  expect(landing.status).toBe(303);
  return landing.headers.get('location')!;
}

async function waitJob(browser: HttpBrowser, id: string, timeoutMs = 60_000): Promise<{ final: JobProgress; seen: JobProgress[] }> {
  const seen: JobProgress[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = await browser.json<JobProgress>(`/portal/api/jobs/${id}`);
    seen.push(p);
    if (p.state === 'done' || p.state === 'failed' || p.state === 'cancelled') return { final: p, seen };
    if (Date.now() > deadline) throw new Error(`job ${id} still ${p.state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function openExam(browser: HttpBrowser, patientUrl: string, exam: PublishedExam): Promise<string> {
  const res = await browser.post(`${patientUrl}/ouvrir`, { document: exam.documentUniqueId });
  expect(res.status, await res.clone().text()).toBe(303);
  const location = res.headers.get('location')!;
  expect(location).toMatch(/^\/portal\/travaux\/[A-Za-z0-9_-]+$/);
  return location.split('/').pop()!;
}

async function orthancSops(peer: ConsumerBed['localPacs']): Promise<string[]> {
  const ids = await peer.rest<string[]>('/instances');
  const sops: string[] = [];
  for (const id of ids) sops.push((await peer.rest<{ MainDicomTags: { SOPInstanceUID: string } }>(`/instances/${id}`)).MainDicomTags.SOPInstanceUID);
  return sops.sort();
}

async function orthancFile(peer: ConsumerBed['localPacs'], sop: string): Promise<Buffer> {
  const [hit] = await peer.rest<{ ID: string }[]>('/tools/lookup', { method: 'POST', body: sop });
  const res = await fetch(`${peer.httpUrl}/instances/${hit!.ID}/file`);
  return Buffer.from(await res.arrayBuffer());
}

/** A file's dataset in one canonical encoding (dcmconv: no meta header, explicit lengths, no group lengths). */
function canonical(path: string): Buffer {
  const out = `${path}.canonical`;
  execFileSync('dcmconv', ['-F', '+e', '-g', path, out], { stdio: ['ignore', 'ignore', 'pipe'] });
  return readFileSync(out);
}

const sopsOf = (exam: PublishedExam) => exam.study.series.flatMap((s) => s.instances.map((i) => i.sopInstanceUid)).sort();

beforeAll(async () => {
  bed = await startConsumerBed({ examSizes: [24, 40] });
  [main, other] = bed.exams as [PublishedExam, PublishedExam];
}, 180_000);
afterAll(async () => {
  await bed?.stop();
});

describe('consumer DRIMbox, from the DMP to the local PACS', () => {
  let claire: HttpBrowser;
  let patientUrl: string;
  let jobId: string;

  it('a contextual call goes through the PSC login page and lands on the patient: INS traits, and both exams from the DMP', async () => {
    claire = new HttpBrowser(bed.portal);
    patientUrl = await openBernard(claire, 'claire.martin');
    expect(patientUrl).toMatch(/^\/portal\/patient\/[A-Za-z0-9_-]+$/);
    const html = await (await claire.go(patientUrl)).text();
    expect(html).toContain('<dd id="trait-nom-naissance">BERNARD</dd>');
    expect(html).toContain('<dd id="trait-premier-prenom">JEAN</dd>');
    expect(html).toContain('<dd id="trait-date-naissance">12/03/1979</dd>');
    expect(html).toContain('<dd id="trait-sexe">Masculin</dd>');
    expect(html).toContain('<dd id="trait-lieu-naissance">97416</dd>');
    expect(html).toContain(`<dd id="trait-ins">${BERNARD.ins}</dd>`);
    expect(html).toContain('<strong>Claire MARTIN</strong>');
    const rows = [...html.matchAll(/<tr class="examen" data-document="([^"]+)">/g)].map((m) => m[1]);
    expect(rows.sort()).toEqual([main.documentUniqueId, other.documentUniqueId].sort());
    expect(html).toContain('CT');
    // The strict DMP simulator took the ITI-18 (mTLS, signed VIHF of the logged-in professional, XSD-valid query).
    const iti18 = bed.dmp.requests().filter((r) => r.transaction === 'iti18');
    expect(iti18.length).toBeGreaterThan(0);
    expect(iti18.every((r) => r.status === 'Success')).toBe(true);
  });

  it('opening an exam fetches its KOS (ITI-43) and pulls the images from the source box into the cache, with live progress', async () => {
    jobId = await openExam(claire, patientUrl, main);
    // Server-Sent Events while it runs.
    const events = await claire.go(`/portal/api/jobs/${jobId}/events`);
    expect(events.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const sse = (async () => {
      const reader = events.body!.getReader();
      let text = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return text;
        text += Buffer.from(value).toString('utf8');
      }
    })();
    const { final, seen } = await waitJob(claire, jobId);
    expect(final).toMatchObject({ kind: 'retrieve', state: 'done', total: main.instances, done: main.instances, transferred: main.instances, alreadyCached: 0, failed: 0 });
    expect(final.bytes).toBeGreaterThan(main.instances * 64 * 64 * 2);
    expect(final.details.source).toBe(`127.0.0.1:${bed.proxy.port}`);
    expect(seen.length).toBeGreaterThan(0);
    const sseText = await sse;
    const progress = [...sseText.matchAll(/^event: progress\ndata: (.+)$/gm)].map((m) => JSON.parse(m[1]!) as JobProgress);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)!.state).toBe('done');

    // The source box saw Dr MARTIN's own PSC token (introspected) and the KOS header, series by series.
    const mine = bed.sourceRequests.filter((r) => r.study === main.study.studyInstanceUid);
    expect(mine.map((r) => r.level)).toEqual(['series', 'series']);
    expect(mine.every((r) => r.subjectNameId === '810000000001' && r.kos === main.kosSopInstanceUid)).toBe(true);

    // Every instance is in the cache, byte for byte as Saint-Pierre's Orthanc holds it.
    const cached = bed.consumer.cache.instances(main.study.studyInstanceUid);
    expect(cached.map((r) => r.sopInstanceUid).sort()).toEqual(sopsOf(main));
    for (const series of main.study.series) {
      for (const i of series.instances) {
        const mineBytes = readFileSync(bed.consumer.cache.pathOf(main.study.studyInstanceUid, series.seriesInstanceUid, i.sopInstanceUid));
        expect(datasetBytes(mineBytes).equals(datasetBytes(readFileSync(i.path)))).toBe(true);
      }
    }
    const page = await (await claire.go(`/portal/travaux/${jobId}`)).text();
    expect(page).toContain('id="lien-visionneuse"');
    expect(page).toContain('id="form-import"');
    expect(page).toContain('value="STRAS-0042"');
  });

  it('serves the cached study to the viewer over standard DICOMweb under /portal/dicom-web', async () => {
    const st = main.study.studyInstanceUid;
    const series = await claire.json<Record<string, { Value?: unknown[] }>[]>(`/portal/dicom-web/studies/${st}/series`);
    expect(series.map((s) => s['0020000E']?.Value?.[0]).sort()).toEqual(main.study.series.map((s) => s.seriesInstanceUid).sort());
    const se = main.study.series[0]!;
    const instances = await claire.json<Record<string, { Value?: unknown[] }>[]>(`/portal/dicom-web/studies/${st}/series/${se.seriesInstanceUid}/instances`);
    expect(instances).toHaveLength(se.instances.length);
    expect(String(instances[0]!['00081190']?.Value?.[0])).toMatch(new RegExp(`^${bed.portal}/portal/dicom-web/studies/${st}/series/`));

    const sop = se.instances[0]!;
    const res = await claire.go(`/portal/dicom-web/studies/${st}/series/${se.seriesInstanceUid}/instances/${sop.sopInstanceUid}`, {
      headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
    });
    expect(res.status).toBe(200);
    const parts = [];
    for await (const part of readMultipart(res.body! as unknown as AsyncIterable<Uint8Array>, boundaryOf(res.headers.get('content-type'))!)) {
      const chunks: Buffer[] = [];
      for await (const c of part.body) chunks.push(c);
      parts.push(Buffer.concat(chunks));
    }
    expect(parts).toHaveLength(1);
    expect(parts[0]!.equals(readFileSync(bed.consumer.cache.pathOf(st, se.seriesInstanceUid, sop.sopInstanceUid)))).toBe(true);

    const metadata = await claire.json<Record<string, { Value?: unknown[]; BulkDataURI?: string }>[]>(`/portal/dicom-web/studies/${st}/series/${se.seriesInstanceUid}/metadata`);
    expect(metadata).toHaveLength(se.instances.length);
    expect(metadata[0]!['7FE00010']?.BulkDataURI).toMatch(new RegExp(`^${bed.portal}/portal/dicom-web/studies/${st}/`));
    const frame = await claire.go(`/portal/dicom-web/studies/${st}/series/${se.seriesInstanceUid}/instances/${sop.sopInstanceUid}/frames/1`, {
      headers: { accept: 'multipart/related; type="application/octet-stream"' },
    });
    expect(frame.status).toBe(200);
    let frameBytes = 0;
    for await (const part of readMultipart(frame.body! as unknown as AsyncIterable<Uint8Array>, boundaryOf(frame.headers.get('content-type'))!)) for await (const c of part.body) frameBytes += c.length;
    expect(frameBytes).toBe(64 * 64 * 2);
  });

  it('imports the cached study into the local PACS: every instance, datasets byte-identical', async () => {
    // Orthanc (DCMTK) rewrites sequence lengths when it stores; both sides are put in one canonical encoding
    // (dcmconv: dataset only, explicit lengths, no group lengths) and then compared byte for byte.
    const res = await claire.post(`/portal/etudes/${main.study.studyInstanceUid}/importer`, {});
    expect(res.status).toBe(303);
    const id = res.headers.get('location')!.split('/').pop()!;
    const { final } = await waitJob(claire, id);
    expect(final).toMatchObject({ kind: 'import', state: 'done', total: main.instances, transferred: main.instances, failed: 0 });
    expect(await orthancSops(bed.localPacs)).toEqual(sopsOf(main));
    // The audit trail has the pull and the import, each whole, in the professional's name.
    await expect.poll(() => new AuditLog(bed.db).list({ studyUid: main.study.studyInstanceUid }).filter((r) => r.action.startsWith('consumer-')).map((r) => [r.action, r.outcome, r.subjectNameId, r.skipped])).toEqual(
      expect.arrayContaining([
        ['consumer-retrieve', 'complete', '810000000001', 0],
        ['consumer-import', 'complete', '810000000001', 0],
      ]),
    );
    for (const series of main.study.series) {
      for (const i of series.instances) {
        const theirs = join(bed.dir, 'from-orthanc.dcm');
        writeFileSync(theirs, await orthancFile(bed.localPacs, i.sopInstanceUid));
        expect(canonical(theirs).equals(canonical(i.path)), i.sopInstanceUid).toBe(true);
      }
    }
  });

  it('imports with coercion: the local IPP and issuer, the INS kept in Other Patient IDs, pixels untouched, dciodvfy clean', async () => {
    await bed.localPacs.rest(`/studies/${(await bed.localPacs.rest<string[]>('/studies'))[0]}`, { method: 'DELETE' });
    const res = await claire.post(`/portal/etudes/${main.study.studyInstanceUid}/importer`, { coercion: '1', ipp: 'STRAS-0042', emetteur: 'CABINET-STRAS&1.2.250.1.999.67.1&ISO' });
    const id = res.headers.get('location')!.split('/').pop()!;
    const { final } = await waitJob(claire, id);
    expect(final).toMatchObject({ state: 'done', transferred: main.instances, failed: 0, details: { coerced: true, localId: 'STRAS-0042' } });
    const patients = await bed.localPacs.rest<string[]>('/patients');
    expect(patients).toHaveLength(1);
    const patient = await bed.localPacs.rest<{ MainDicomTags: { PatientID: string } }>(`/patients/${patients[0]}`);
    expect(patient.MainDicomTags.PatientID).toBe('STRAS-0042');
    expect(await orthancSops(bed.localPacs)).toEqual(sopsOf(main));
    const sample = main.study.series[1]!.instances[0]!;
    const stored = await orthancFile(bed.localPacs, sample.sopInstanceUid);
    const ds = readPart10(stored).dataset;
    expect(ds['00100020']?.Value).toEqual(['STRAS-0042']);
    expect(ds['00100021']?.Value).toEqual(['CABINET-STRAS']);
    const otherIds = (ds['00101002']?.Value ?? []) as Record<string, { Value?: unknown[] }>[];
    expect(otherIds[0]?.['00100020']?.Value).toEqual([BERNARD.ins]);
    const original = readPart10(readFileSync(sample.path)).dataset;
    expect(Buffer.from(ds['7FE00010']!.Value![0] as ArrayBuffer).equals(Buffer.from(original['7FE00010']!.Value![0] as ArrayBuffer))).toBe(true);
    const file = join(bed.dir, 'coerced-from-orthanc.dcm');
    writeFileSync(file, stored);
    let report = '';
    try {
      report = execFileSync('dciodvfy', [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      report = String((err as { stderr?: string }).stderr ?? '') + String((err as { stdout?: string }).stdout ?? '');
    }
    expect(report.split('\n').filter((l) => /^Error/.test(l))).toEqual([]);
  });

  it('a transfer cut midway is resumed: only the missing instances are asked for, one by one', async () => {
    bed.proxy.armCut(120_000);
    const first = await openExam(claire, patientUrl, other);
    const { final: cut } = await waitJob(claire, first);
    expect(bed.proxy.cuts).toBe(1);
    expect(cut.state).toBe('failed');
    expect(cut.resumable).toBe(true);
    expect(cut.message).toMatch(/coupée|cessé/);
    const got = cut.transferred;
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThan(other.instances);
    expect(bed.consumer.cache.instances(other.study.studyInstanceUid)).toHaveLength(got);
    const studyPage = await (await claire.go(`/portal/etudes/${other.study.studyInstanceUid}`)).text();
    expect(studyPage).toContain('id="reprendre"');

    // What the cut left: per series, the instances already cached.
    const cachedAfterCut = bed.consumer.cache.cachedSops(other.study.studyInstanceUid);
    const asked = bed.sourceRequests.length;
    const resumed = await claire.post(`/portal/etudes/${other.study.studyInstanceUid}/reprendre`, {});
    const { final } = await waitJob(claire, resumed.headers.get('location')!.split('/').pop()!);
    expect(final).toMatchObject({ state: 'done', alreadyCached: got, transferred: other.instances - got, done: other.instances, failed: 0 });
    const after = bed.sourceRequests.slice(asked);
    // A series the cut left partly cached is completed instance by instance, asking only for what is missing;
    // a series never reached is asked whole; nothing already cached is asked again.
    const expectedInstances: string[] = [];
    const expectedSeries: string[] = [];
    for (const series of other.study.series) {
      const have = cachedAfterCut.get(series.seriesInstanceUid) ?? new Set<string>();
      if (have.size === 0) expectedSeries.push(series.seriesInstanceUid);
      else expectedInstances.push(...series.instances.map((i) => i.sopInstanceUid).filter((sop) => !have.has(sop)));
    }
    expect(expectedInstances.length).toBeGreaterThan(0);
    expect(after.filter((r) => r.level === 'instance').map((r) => r.sop).sort()).toEqual(expectedInstances.sort());
    expect(after.filter((r) => r.level === 'series').map((r) => r.series).sort()).toEqual(expectedSeries.sort());
    expect(bed.consumer.cache.instances(other.study.studyInstanceUid).map((r) => r.sopInstanceUid).sort()).toEqual(sopsOf(other));

    // Both exams of the patient are now in the cache: each study page offers the viewer with the other beside it.
    const page = await (await claire.go(`/portal/etudes/${other.study.studyInstanceUid}`)).text();
    const compare = /<a class="bouton" data-compare-with="([^"]+)" href="([^"]+)"/.exec(page);
    expect(compare?.[1]).toBe(main.study.studyInstanceUid);
    expect(compare?.[2]?.replaceAll('&amp;', '&')).toBe(`/viewer/?study=${other.study.studyInstanceUid}&base=/portal/dicom-web&prior=${main.study.studyInstanceUid}`);
  });

  it('two professionals at the same time never see each other’s patients, exams, jobs or images', async () => {
    const paul = new HttpBrowser(bed.portal);
    const marie = new HttpBrowser(bed.portal);
    const OTHER_INS = '162018885045327';
    const [paulPatient, mariePatient] = await Promise.all([
      openBernard(paul, 'paul.durand', {
        'Patient.identifier.value': OTHER_INS,
        'Patient.name.family': 'DURAND',
        'Patient.name.given': 'LUCIE',
        'Patient.gender': 'F',
        'Patient.birthDate': '1962-01-18',
        PatientID: 'STRAS-0099',
      }),
      openBernard(marie, 'marie.hoarau'),
    ]);
    const [paulHome, marieHome] = await Promise.all([paul.go('/portal/').then((r) => r.text()), marie.go('/portal/').then((r) => r.text())]);
    expect(paulHome).toContain(OTHER_INS);
    expect(paulHome).not.toContain(BERNARD.ins);
    expect(paulHome).not.toContain(main.study.studyInstanceUid);
    expect(marieHome).toContain(BERNARD.ins);
    expect(marieHome).not.toContain(OTHER_INS);
    expect(marieHome).not.toContain(main.study.studyInstanceUid); // Claire opened it, not Marie
    const paulPage = await (await paul.go(paulPatient)).text();
    expect(paulPage).toContain('id="aucun-examen"');
    expect(paulPage).not.toContain('BERNARD');

    // Claire's patient, job, study and images are nothing to Paul and Marie, although Marie follows the same patient.
    for (const b of [paul, marie]) {
      expect((await b.go(patientUrl)).status).toBe(404);
      expect((await b.go(`/portal/travaux/${jobId}`)).status).toBe(404);
      expect((await b.go(`/portal/api/jobs/${jobId}`)).status).toBe(404);
      expect((await b.go(`/portal/etudes/${main.study.studyInstanceUid}`)).status).toBe(404);
      expect((await b.go(`/portal/dicom-web/studies/${main.study.studyInstanceUid}/series`, { headers: { accept: 'application/dicom+json' } })).status).toBe(403);
      const all = await b.json<unknown[]>('/portal/dicom-web/studies');
      expect(all).toEqual([]);
    }
    expect((await marie.go(mariePatient)).status).toBe(200);
    expect((await paul.go(mariePatient)).status).toBe(404);
    // Claire still sees hers.
    expect((await claire.go(`/portal/dicom-web/studies/${main.study.studyInstanceUid}/series`, { headers: { accept: 'application/dicom+json' } })).status).toBe(200);
  });

  it('logout ends the session at the box and at PSC', async () => {
    const res = await claire.post('/portal/logout', {});
    expect(res.status).toBe(303);
    expect(res.headers.get('location')!.startsWith(`${bed.psc.issuer}/protocol/openid-connect/logout`)).toBe(true);
    expect((await claire.go(`/portal/dicom-web/studies/${main.study.studyInstanceUid}/series`)).status).toBe(401);
    expect((await claire.go(patientUrl)).status).toBe(302);
  });
});
