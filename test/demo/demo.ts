/**
 * The DRIMbox demonstration: Mr Bernard has a head CT in Saint-Pierre (La Réunion); the source box publishes
 * its manifest to the DMP; in Strasbourg his radiologist finds it, views it and imports it into the practice's
 * PACS. Everything runs on this machine: two Orthanc PACS, the DMP and Pro Santé Connect simulators (in this
 * process), and each box as its own process, as on a device (`drimbox serve` on its configuration file).
 * `--check` runs the story headless, prints the time of each step and exits non-zero if one fails.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { boxProcess } from './box-process.js';
import { consumerBoxConfig, demoPorts, sourceBoxConfig } from './box-configs.js';
import { consumerStory } from './consumer-story.js';
import { pushHeadCt, sendReport } from './demo-bed.js';
import { startDmp, startPacs, startPsc } from './demo-peers.js';
import { startSourceInContainer, startSourceProcess } from './demo-source.js';
import { Cleanups, stepRecorder } from './steps.js';

export interface DemoOptions {
  check: boolean;
  /** Slices of the head CT (512×512). */
  slices?: number;
  workDir?: string;
  /** Run the source box from this container image (scripts/build-image.sh) instead of as a process of the checkout. */
  sourceImage?: string;
}

export async function runDemo(options: DemoOptions): Promise<number> {
  const { step, steps } = stepRecorder();
  const cleanups = new Cleanups();
  const work = resolve(options.workDir ?? 'var/demo');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });

  try {
    const ports = await demoPorts();
    const portalOrigin = `http://127.0.0.1:${ports.consumer.http}`;
    const pacsSp = await step('PACS de Saint-Pierre (Orthanc)', () => startPacs('ORTHANC_SP', { aeTitle: 'DRIMBOX_SP', dimsePort: ports.source.dimse }));
    cleanups.add(() => pacsSp.stop());
    const { sim: dmp, xds } = await step('DMP (simulateur XDS.b, mTLS)', () => startDmp(work), (d) => d.sim.url);
    cleanups.add(() => dmp.stop());
    const psc = await step('Pro Santé Connect (simulateur OIDC)', () => startPsc(ports), (p) => p.issuer);
    cleanups.add(() => psc.stop());

    const study = await step(
      'scanner cérébral de M. Bernard (synthétique)',
      () => pushHeadCt(pacsSp, join(work, 'bernard-ct'), options.slices ?? 64),
      (s) => `${s.files.length} images, étude ${s.studyInstanceUid}`,
    );

    const updateLock = options.sourceImage ? join(work, 'saint-pierre/updates.lock') : join(work, 'source/updates.lock');
    const sourceConfig = sourceBoxConfig(ports.source, { pacs: pacsSp, xds, pscIssuer: psc.issuer }, options.sourceImage ? '/data/updates.lock' : updateLock);
    const source = await step(
      options.sourceImage ? `DRIMbox source « Saint-Pierre » (image ${options.sourceImage})` : 'DRIMbox source « Saint-Pierre » (processus drimbox serve)',
      () => (options.sourceImage ? startSourceInContainer(options.sourceImage, join(work, 'saint-pierre'), sourceConfig, dmp) : startSourceProcess(join(work, 'saint-pierre'), work, sourceConfig, dmp)),
    );
    cleanups.add(() => source.stop());

    await step('compte rendu validé envoyé par le RIS (ORU^R01, MLLP)', () => sendReport(ports.source.hl7, study.studyInstanceUid, 'SP26-1127'));
    const kos = await step('KOS publié au DMP', () => source.published(study.studyInstanceUid), (k) => `KOS ${k.sopInstanceUid}`);

    const pacsSt = await step('PACS de Strasbourg (Orthanc)', () => startPacs('ORTHANC_ST', { aeTitle: 'DRIMBOX_ST', dimsePort: ports.consumer.dimse }));
    cleanups.add(() => pacsSt.stop());
    const consumer = boxProcess({ name: 'strasbourg', dataDir: join(work, 'strasbourg'), logDir: work, config: consumerBoxConfig(ports.consumer, { pacs: pacsSt, xds, pscIssuer: psc.issuer }, work) });
    cleanups.add(() => consumer.stop());
    await step('DRIMbox consommatrice « Strasbourg » (processus drimbox serve)', () => consumer.start());

    const token = await psc.mintToken('claire.martin', { ttlSeconds: 3600, clientId: 'drimbox-saint-pierre' });
    const dicomweb = `http://127.0.0.1:${ports.source.http}/dicom-web`;
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
    const viewer = `http://127.0.0.1:${ports.source.http}/portal/visionneuse?study=${study.studyInstanceUid}&kos=${kos.sopInstanceUid}`;
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
        `  Source Saint-Pierre : http://127.0.0.1:${ports.source.http}/health · DICOMweb ${dicomweb}`,
        `  Portail de Strasbourg : ${portalOrigin}/portal/   (appel contextuel : POST ${portalOrigin}/portal/contexte)`,
        `  Lien visionneuse du compte rendu : ${viewer}`,
        `  DMP (simulateur) : ${dmp.url}   ·   PSC (simulateur) : ${psc.issuer}`,
        `  Connexion de test : claire.martin / ${psc.testPassword}`,
        `  Journaux des boîtiers : ${options.sourceImage ? '' : `${join(work, 'saint-pierre.log')} · `}${consumer.logFile}`,
        '',
        ...steps.map((s) => `  ${s.ok ? '✓' : '✗'} ${s.name.padEnd(64)} ${String(Math.round(s.ms)).padStart(6)} ms`),
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
    await cleanups.run();
  }
}
