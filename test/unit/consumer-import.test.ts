import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageCache } from '../../appliance/src/consumer/cache/image-cache.js';
import { runImport } from '../../appliance/src/consumer/import.js';
import { JobRegistry } from '../../appliance/src/consumer/jobs.js';
import { readPart10 } from '../../appliance/src/dicom/dataset/part10.js';
import { PacsError, type PacsBridge, type StoreOutcome } from '../../appliance/src/dimse/types.js';
import { createLogger } from '../../appliance/src/log/logger.js';
import { ConsumerCacheIndex } from '../../appliance/src/store/consumer-cache.js';
import { makeMiniStudy, type MiniStudy } from '../fixtures/mini-instances.js';
import { consumerDb, fileBody, nullBridge } from './consumer-helpers.js';

const log = createLogger({ component: 'test' });
let work: string;
let study: MiniStudy;
let cache: ImageCache;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'consumer-import-'));
  study = await makeMiniStudy({ outDir: join(work, 'src'), instances: 9, seriesCount: 3, patientId: '279035121518989' });
  cache = new ImageCache({ dir: join(work, 'cache'), maxBytes: 64 * 1024 * 1024, index: new ConsumerCacheIndex(consumerDb()), log });
  await cache.open();
  for (const s of study.series) {
    for (const i of s.instances) {
      await cache.store({ studyUid: study.studyInstanceUid, seriesUid: s.seriesInstanceUid, sopInstanceUid: i.sopInstanceUid }, fileBody(i.path));
    }
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A PACS that reads what it is sent, keeps the Patient ID of each file, and refuses one SOP Instance. */
function recordingPacs(refuse: string): PacsBridge & { received: Map<string, string> } {
  const received = new Map<string, string>();
  return {
    ...nullBridge,
    received,
    async store(files, onOutcome) {
      const out: StoreOutcome[] = [];
      for await (const path of files) {
        const ds = readPart10(readFileSync(path)).dataset;
        const sop = ds['00080018']!.Value![0] as string;
        const o: StoreOutcome =
          sop === refuse
            ? { path, sopInstanceUid: sop, status: 'refused', dimseStatus: 0xa700, reason: 'the PACS refused it: 0xA700 Out of Resources' }
            : { path, sopInstanceUid: sop, status: 'stored', transferSyntaxUid: '1.2.840.10008.1.2.1' };
        if (o.status === 'stored') received.set(sop, ds['00100020']!.Value![0] as string);
        out.push(o);
        onOutcome?.(o);
      }
      return out;
    },
  };
}

const sops = () => study.series.flatMap((s) => s.instances.map((i) => i.sopInstanceUid));

describe('import into the local PACS', () => {
  it('sends every instance the KOS references, with the local IPP when asked, and reports each refusal with its reason', async () => {
    const refused = study.series[1]!.instances[0]!.sopInstanceUid;
    const pacs = recordingPacs(refused);
    const job = new JobRegistry().create('s', 'import', study.studyInstanceUid, 9);
    const only = new Set(sops().slice(0, 8)); // the KOS references 8 of the 9 cached instances
    await runImport(job, { studyInstanceUid: study.studyInstanceUid, only, coercion: { id: 'IPP-0042', issuer: 'CAB&1.2.250.1.999.1&ISO' } }, { cache, bridge: pacs, tempDir: join(work, 'tmp'), log, lanes: 2 });
    expect(job.progress).toMatchObject({ state: 'failed', total: 8, done: 8, transferred: 7, failed: 1 });
    expect(job.progress.failures).toEqual([{ sopInstanceUid: refused, reason: 'the PACS refused it: 0xA700 Out of Resources' }]);
    expect(job.progress.message).toMatch(/1 instance\(s\) refusée\(s\)/);
    expect([...pacs.received.keys()].sort()).toEqual([...only].filter((s) => s !== refused).sort());
    expect(new Set(pacs.received.values())).toEqual(new Set(['IPP-0042']));
    // coerced copies are gone, the cache is untouched
    expect(existsSync(join(work, 'tmp')) ? readdirSync(join(work, 'tmp')) : []).toEqual([]);
    const cached = cache.instances(study.studyInstanceUid)[0]!;
    expect(readPart10(readFileSync(cache.pathOf(cached.studyUid, cached.seriesUid, cached.sopInstanceUid))).dataset['00100020']!.Value).toEqual(['279035121518989']);
  });

  it('without coercion the cached files themselves are sent', async () => {
    const pacs = recordingPacs('none');
    const job = new JobRegistry().create('s', 'import', study.studyInstanceUid, 9);
    await runImport(job, { studyInstanceUid: study.studyInstanceUid }, { cache, bridge: pacs, tempDir: join(work, 'tmp'), log });
    expect(job.progress).toMatchObject({ state: 'done', total: 9, transferred: 9, failed: 0 });
    expect(new Set(pacs.received.values())).toEqual(new Set(['279035121518989']));
  });

  it('a PACS that cannot be reached fails the job with a reason; a study no longer cached says so', async () => {
    const down: PacsBridge = {
      ...nullBridge,
      async store() {
        throw new PacsError('unreachable', 'PACS STRASBOURG@127.0.0.1:9 is not reachable (connection refused)');
      },
    };
    const job = new JobRegistry().create('s', 'import', study.studyInstanceUid, 9);
    await runImport(job, { studyInstanceUid: study.studyInstanceUid }, { cache, bridge: down, tempDir: join(work, 'tmp'), log });
    expect(job.progress.state).toBe('failed');
    expect(job.progress.message).toMatch(/unreachable.*connection refused/);
    const gone = new JobRegistry().create('s', 'import', '1.2.3.4', 0);
    await runImport(gone, { studyInstanceUid: '1.2.3.4' }, { cache, bridge: down, tempDir: join(work, 'tmp'), log });
    expect(gone.progress.message).toMatch(/plus\) dans le cache/);
  });

  it('an import of a study the cache holds only in part says it is incomplete, and how much is missing', async () => {
    const pacs = recordingPacs('none');
    const only = new Set([...sops(), '1.2.826.0.1.3680043.10.1558.404.1', '1.2.826.0.1.3680043.10.1558.404.2']); // two never pulled
    const job = new JobRegistry().create('s', 'import', study.studyInstanceUid, only.size);
    await runImport(job, { studyInstanceUid: study.studyInstanceUid, only }, { cache, bridge: pacs, tempDir: join(work, 'tmp'), log });
    expect(job.progress).toMatchObject({ state: 'done', total: 9, transferred: 9 });
    expect(job.progress.details.incomplete).toBe('9/11');
    expect(job.progress.message).toBe("import incomplet : 9 image(s) sur les 11 de l'examen ; 2 n'ont pas été récupérées de la DRIMbox source");
  });
});
