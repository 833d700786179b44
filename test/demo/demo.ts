/**
 * The DRIMbox demonstration: Mr Bernard has a head CT in Saint-Pierre (La Réunion); the source box publishes
 * its manifest to the DMP; in Strasbourg his radiologist finds it, views it and imports it into the practice's
 * PACS. Everything runs on this machine: two Orthanc PACS, the DMP and Pro Santé Connect simulators, two boxes.
 * `--check` runs the story headless, prints the time of each step and exits non-zero if one fails.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { freePort, waitFor } from '../peers/ports.js';
import { startDmpForBox } from '../peers/dmp-for-box.js';
import { startPscSimulator } from '../peers/psc-sim/server.js';
import { loadConfig } from '../../appliance/src/config/load.js';
import { startBox, type RunningBox } from '../../appliance/src/start-box.js';
import { startSourceInContainer, startSourceInProcess } from './demo-source.js';
import { synthesizeStudy } from '../../appliance/src/dicom/synth/index.js';
import { sendMllp, readAck } from '../../appliance/src/hl7/index.js';
import { oruForStudy } from '../fixtures/hl7/report-message.js';
import { BERNARD } from '../fixtures/patients.js';
import { HttpBrowser } from '../peers/http-browser.js';
import { loginWithPassword } from '../peers/psc-sim/login-driver.js';
import { bernardContextCall } from '../fixtures/patients.js';

const run = promisify(execFile);


interface Step {
  name: string;
  ms: number;
  ok: boolean;
  detail?: string;
}

export interface DemoOptions {
  check: boolean;
  /** Slices of the head CT (512×512). */
  slices?: number;
  workDir?: string;
  /** Run the source box from this container image (scripts/build-image.sh) instead of in this process. */
  sourceImage?: string;
}

async function preferredPort(port: number): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolvePort) => {
    const s = createServer();
    s.once('error', () => void freePort().then(resolvePort));
    s.listen(port, '127.0.0.1', () => s.close(() => resolvePort(port)));
  });
}

export async function runDemo(options: DemoOptions): Promise<number> {
  const steps: Step[] = [];
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const step = async <T>(name: string, fn: () => Promise<T>, detail?: (v: T) => string): Promise<T> => {
    const t0 = performance.now();
    process.stderr.write(`… ${name}\n`);
    try {
      const v = await fn();
      steps.push({ name, ms: performance.now() - t0, ok: true, detail: detail?.(v) });
      process.stderr.write(`✓ ${name} (${Math.round(performance.now() - t0)} ms)${detail ? ` — ${detail(v)}` : ''}\n`);
      return v;
    } catch (err) {
      steps.push({ name, ms: performance.now() - t0, ok: false, detail: (err as Error).message });
      process.stderr.write(`✗ ${name}: ${(err as Error).message}\n`);
      throw err;
    }
  };
  const work = resolve(options.workDir ?? 'var/demo');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const stopAll = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        // best effort: the rest must still stop
      }
    }
  };

  try {
    const env = { ...process.env, TCP_NODELAY: '1' };
    const sourcePorts = { http: await preferredPort(8080), hl7: await preferredPort(2575), dimse: await preferredPort(11112) };
    const consumerPorts = { http: await preferredPort(8081), hl7: await preferredPort(2576), dimse: await preferredPort(11113) };
    const portalOrigin = `http://127.0.0.1:${consumerPorts.http}`;
    const pacsSp = await step('PACS de Saint-Pierre (Orthanc)', () =>
      startOrthanc({ aeTitle: 'ORTHANC_SP', modalities: { drimbox: { aeTitle: 'DRIMBOX_SP', host: '127.0.0.1', port: sourcePorts.dimse } } }),
    );
    cleanups.push(() => pacsSp.stop());
    const { sim: dmp, xds } = await step('DMP (simulateur XDS.b, mTLS)', () => startDmpForBox(join(work, 'dmp')), (d) => d.sim.url);
    cleanups.push(() => dmp.stop());
    const psc = await step('Pro Santé Connect (simulateur OIDC)', () =>
      startPscSimulator({
        clients: [
          { clientId: 'drimbox-saint-pierre', clientSecret: 'demo-secret-sp', redirectUris: [`http://127.0.0.1:${sourcePorts.http}/portal/callback`] },
          { clientId: 'drimbox-strasbourg', clientSecret: 'demo-secret-st', redirectUris: [`${portalOrigin}/portal/callback`], postLogoutRedirectUris: [`${portalOrigin}/portal/`] },
        ],
        accessTokenTtlSeconds: 3600,
      }),
      (p) => p.issuer,
    );
    cleanups.push(() => psc.stop());

    const study = await step(
      'scanner cérébral de M. Bernard (synthétique)',
      async () => {
        const s = await synthesizeStudy({
          modality: 'CT',
          instances: options.slices ?? 64,
          outDir: join(work, 'bernard-ct'),
          studyDescription: 'SCANNER CEREBRAL SANS INJECTION',
          institutionName: 'Imagerie médicale de Saint-Pierre',
          patient: { name: 'BERNARD^JEAN', id: BERNARD.ins, issuer: 'ASIP-SANTE-INS-NIR', insOid: '1.2.250.1.213.1.4.10', birthDate: BERNARD.birthDate, sex: 'M' },
        });
        await run('storescu', ['-aet', 'MODALITY', '-aec', pacsSp.aeTitle, '+sd', '+r', '127.0.0.1', String(pacsSp.dicomPort), join(work, 'bernard-ct')], { env, maxBuffer: 1 << 26 });
        return s;
      },
      (s) => `${s.files.length} images, étude ${s.studyInstanceUid}`,
    );

    const sourceConfig = {
      box: { name: 'Imagerie médicale de Saint-Pierre', aeTitle: 'DRIMBOX_SP', publicBaseUrl: `http://127.0.0.1:${sourcePorts.http}/dicom-web` },
      pacs: { aeTitle: pacsSp.aeTitle, port: pacsSp.dicomPort },
      dimse: { port: sourcePorts.dimse, listenHost: '127.0.0.1' },
      http: { port: sourcePorts.http, host: '127.0.0.1', tls: { enabled: false } },
      lan: { port: 0, host: '127.0.0.1' },
      kiosk: { port: 0 },
      hl7: { port: sourcePorts.hl7, host: '127.0.0.1' },
      source: { stableAfterMs: 2000, recheckMs: 500 },
      xds,
      psc: { issuer: psc.issuer, clientId: 'drimbox-saint-pierre', clientSecret: 'demo-secret-sp' },
      // On one machine there is no ANS whitelist to check boxes against: the PSC token still decides.
      access: { requireWhitelisted: false },
      // Watch it appear while the box streams a study, and go once the stream ends (balena's update lock).
      device: { updateLockFile: options.sourceImage ? '/data/updates.lock' : join(work, 'source/updates.lock') },
      log: { level: 'warn' },
    };
    const updateLock = options.sourceImage ? join(work, 'saint-pierre/updates.lock') : join(work, 'source/updates.lock');
    const source = await step(
      options.sourceImage ? `DRIMbox source « Saint-Pierre » (image ${options.sourceImage})` : 'DRIMbox source « Saint-Pierre »',
      () => (options.sourceImage ? startSourceInContainer(options.sourceImage, join(work, 'saint-pierre'), sourceConfig, dmp) : startSourceInProcess(join(work, 'saint-pierre'), sourceConfig)),
    );
    cleanups.push(() => source.stop());

    const report = oruForStudy({ studyUid: study.studyInstanceUid, patient: BERNARD, accession: 'SP26-1127', controlId: `DEMO-${Date.now()}` });
    await step('compte rendu validé envoyé par le RIS (ORU^R01, MLLP)', async () => {
      const ack = readAck(await sendMllp('127.0.0.1', sourcePorts.hl7, report, { timeoutMs: 10_000 }));
      if (ack.code !== 'AA') throw new Error(`RIS got ${ack.code}: ${ack.text}`);
      return ack;
    });
    const kos = await step(
      'KOS publié au DMP',
      () => source.published(study.studyInstanceUid),
      (k) => `KOS ${k.sopInstanceUid}`,
    );

    const pacsSt = await step('PACS de Strasbourg (Orthanc)', () =>
      startOrthanc({ aeTitle: 'ORTHANC_ST', modalities: { drimbox: { aeTitle: 'DRIMBOX_ST', host: '127.0.0.1', port: consumerPorts.dimse } } }),
    );
    cleanups.push(() => pacsSt.stop());
    const consumer: RunningBox = await step('DRIMbox consommatrice « Strasbourg »', () =>
      startBox(
        loadConfig({
          env: {},
          overrides: {
            dataDir: join(work, 'strasbourg'),
            box: { name: 'Cabinet de radiologie de Strasbourg', aeTitle: 'DRIMBOX_ST', publicBaseUrl: `${portalOrigin}/dicom-web` },
            pacs: { aeTitle: pacsSt.aeTitle, port: pacsSt.dicomPort },
            dimse: { port: consumerPorts.dimse, listenHost: '127.0.0.1' },
            http: { port: consumerPorts.http, host: '127.0.0.1', tls: { enabled: false } },
            lan: { port: 0, host: '127.0.0.1' },
            kiosk: { port: 0 },
            hl7: { port: consumerPorts.hl7, host: '127.0.0.1' },
            xds: xds as never,
            psc: { issuer: psc.issuer, clientId: 'drimbox-strasbourg', clientSecret: 'demo-secret-st' },
            // One machine, plain HTTP: the source box is on loopback, not a whitelisted https host.
            consumer: { publicBaseUrl: portalOrigin, allowInsecureSourceHosts: true, secureCookies: false },
            device: { updateLockFile: join(work, 'consumer/updates.lock') },
            access: { requireWhitelisted: false },
            log: { level: 'warn' },
          },
        }),
      ),
    );
    cleanups.push(() => consumer.stop());

    const token = await psc.mintToken('claire.martin', { ttlSeconds: 3600, clientId: 'drimbox-saint-pierre' });
    const dicomweb = `http://127.0.0.1:${sourcePorts.http}/dicom-web`;
    if (options.check) {
      await step(
        'images servies en WADO-RS avec le jeton PSC',
        async () => {
          const res = await fetch(`${dicomweb}/studies/${study.studyInstanceUid}/series`, { headers: { authorization: `Bearer ${token}`, 'kos-sopinstanceuid': kos.sopInstanceUid } });
          if (res.status !== 200) throw new Error(`QIDO through the source box: HTTP ${res.status}`);
          const refused = await fetch(`${dicomweb}/studies/${study.studyInstanceUid}/series`);
          if (refused.status !== 401) throw new Error(`a request without token got HTTP ${refused.status}`);
          const series = (await res.json()) as unknown[];
          return series.length;
        },
        (n) => `${n} série(s)`,
      );
      await consumerStory(step, { portalOrigin, pscIssuer: psc.issuer, password: psc.testPassword, kosUid: kos.sopInstanceUid, study: study.studyInstanceUid, instances: study.files.length, localPacs: pacsSt });
    }

    // The link the report carries: PSC login on the source box, then its viewer.
    const viewer = `http://127.0.0.1:${sourcePorts.http}/portal/visionneuse?study=${study.studyInstanceUid}&kos=${kos.sopInstanceUid}`;
    process.stdout.write(
      JSON.stringify({
        ready: true,
        source: { dicomweb, studyInstanceUID: study.studyInstanceUid, kosSopInstanceUID: kos.sopInstanceUid, updateLock },
        consumer: { portal: `${portalOrigin}/portal/` },
        psc: { issuer: psc.issuer },
        token,
      }) + '\n',
    );
    process.stderr.write(
      [
        '',
        'DRIMbox — démonstration prête',
        `  Source Saint-Pierre : http://127.0.0.1:${sourcePorts.http}/health · DICOMweb ${dicomweb}`,
        `  Portail de Strasbourg : ${portalOrigin}/portal/   (appel contextuel : POST ${portalOrigin}/portal/contexte)`,
        `  Lien visionneuse du compte rendu : ${viewer}`,
        `  DMP (simulateur) : ${dmp.url}   ·   PSC (simulateur) : ${psc.issuer}`,
        `  Connexion de test : claire.martin / ${psc.testPassword}`,
        '',
        ...steps.map((s) => `  ${s.ok ? '✓' : '✗'} ${s.name.padEnd(58)} ${String(Math.round(s.ms)).padStart(6)} ms`),
        '',
      ].join('\n'),
    );
    if (options.check) return 0;
    process.stderr.write('Ctrl-C pour arrêter.\n');
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    return 0;
  } catch {
    process.stderr.write(`\nla démonstration a échoué:\n${steps.map((s) => `  ${s.ok ? '✓' : '✗'} ${s.name}${s.ok ? '' : ` — ${s.detail}`}`).join('\n')}\n`);
    return 1;
  } finally {
    await stopAll();
  }
}


type StepFn = <T>(name: string, fn: () => Promise<T>, detail?: (v: T) => string) => Promise<T>;

/** Dr Martin in Strasbourg: contextual call from the RIS, PSC login, the exam from the DMP, the images, the import. */
async function consumerStory(
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
    for (;;) {
      const p = await browser.json<{ state: string; transferred: number; total?: number; failed: number; message?: string }>(`/portal/api/jobs/${id}`);
      if (p.state === 'done') return p;
      if (p.state === 'failed' || p.state === 'cancelled') throw new Error(`job ${p.state}: ${p.message ?? ''}`);
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
