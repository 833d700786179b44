import type { OrthancPeer } from '../peers/orthanc.js';
import { HttpBrowser } from '../peers/http-browser.js';
import { loginWithPassword } from '../peers/psc-sim/login-driver.js';
import { bernardContextCall } from '../fixtures/patients.js';
import type { StepFn } from './steps.js';

const JOB_TIMEOUT_MS = 120_000;

/** Dr Martin in Strasbourg: contextual call from the RIS, PSC login, the exam from the DMP, the images, the import. */
export async function consumerStory(
  step: StepFn,
  ctx: { portalOrigin: string; pscIssuer: string; password: string; kosUid: string; study: string; instances: number; localPacs: OrthancPeer },
): Promise<void> {
  const browser = new HttpBrowser(ctx.portalOrigin);
  const patientUrl = await step('appel contextuel du RIS de Strasbourg, connexion Pro Santé Connect', async () => {
    const posted = await browser.post('/portal/contexte', bernardContextCall({ PatientID: 'STRAS-004512', PatientIDIssuer: 'CABINET-STRASBOURG&1.2.250.1.999.67.1&ISO' }));
    if (posted.status !== 303) throw new Error(`contextual call: HTTP ${posted.status} ${await posted.text()}`);
    const toPsc = await browser.go(posted.headers.get('location')!);
    const { callbackUrl } = await loginWithPassword(new URL(toPsc.headers.get('location')!), { user: 'claire.martin', password: ctx.password });
    const landing = await browser.go(callbackUrl);
    if (landing.status !== 303) throw new Error(`login callback: HTTP ${landing.status}`);
    return landing.headers.get('location')!;
  });
  await step('examens du patient trouvés dans le DMP (ITI-18)', async () => {
    const page = await (await browser.go(patientUrl)).text();
    if (!page.includes(`data-document="${ctx.kosUid}"`)) throw new Error('the published KOS is not in the exam list');
    return page;
  }, () => 'KOS de Saint-Pierre listé');
  const waitJob = async (location: string) => {
    const id = location.split('/').pop()!;
    const deadline = Date.now() + JOB_TIMEOUT_MS;
    for (;;) {
      const p = await browser.json<{ state: string; transferred: number; total?: number; failed: number; message?: string }>(`/portal/api/jobs/${id}`);
      if (p.state === 'done') return p;
      if (p.state === 'failed' || p.state === 'cancelled') throw new Error(`job ${p.state}: ${p.message ?? ''}`);
      if (Date.now() > deadline) throw new Error(`job ${id} still ${p.state} after ${JOB_TIMEOUT_MS} ms (${p.transferred} transferred)`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await step('KOS récupéré (ITI-43), images tirées de Saint-Pierre en WADO-RS', async () => {
    const res = await browser.post(`${patientUrl}/ouvrir`, { document: ctx.kosUid });
    if (res.status !== 303) throw new Error(`open exam: HTTP ${res.status}`);
    return waitJob(res.headers.get('location')!);
  }, (p) => `${p.transferred} instances en cache`);
  await step('visionneuse : DICOMweb du cache local', async () => {
    const series = await browser.json<unknown[]>(`/portal/dicom-web/studies/${ctx.study}/series`);
    if (series.length === 0) throw new Error('no series served to the viewer');
    return series.length;
  }, (n) => `${n} série(s) servie(s) à /viewer`);
  await step('import dans le PACS de Strasbourg (C-STORE)', async () => {
    const res = await browser.post(`/portal/etudes/${ctx.study}/importer`, {});
    if (res.status !== 303) throw new Error(`import: HTTP ${res.status}`);
    const p = await waitJob(res.headers.get('location')!);
    const stored = (await ctx.localPacs.rest<string[]>('/instances')).length;
    if (stored !== ctx.instances) throw new Error(`the Strasbourg PACS holds ${stored} instances, expected ${ctx.instances}`);
    return p;
  }, (p) => `${p.transferred} instances importées, ${p.failed} refusée(s)`);
}
