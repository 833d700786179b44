import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DicomJson } from '../../appliance/src/dicom/model.js';
import { createDicomwebService, type DicomwebService, type ImageUpstream } from '../../appliance/src/dicomweb/index.js';
import { createLogger } from '../../appliance/src/log/logger.js';
import { openDatabase } from '../../appliance/src/store/database.js';
import { DicomwebMetadataCache } from '../../appliance/src/store/dicomweb-cache.js';
import { m001Meta } from '../../appliance/src/store/migrations/001-meta.js';
import { m004DicomwebCache } from '../../appliance/src/store/migrations/004-dicomweb-cache.js';

// A manifest just published: the source box builds the study's series metadata before the first consumer asks, so
// that the consumer's first image does not wait for it.
const BASE = 'https://box.example/dicom-web';
const STUDY = '1.2.826.0.1.3680043.10.1';
const SERIES = ['1.2.826.0.1.3680043.10.1.1', '1.2.826.0.1.3680043.10.1.2'];

const item = (se: string, i: number): DicomJson => ({
  '0020000E': { vr: 'UI', Value: [se] },
  '00080018': { vr: 'UI', Value: [`${se}.${i}`] },
  '00200013': { vr: 'IS', Value: [i] },
});

/** A PACS with its own DICOMweb: counts its series searches and metadata builds; `failing` makes its search fail. */
class FakePacs implements ImageUpstream {
  readonly description = 'fake PACS DICOMweb';
  readonly searchIsPaged = true;
  readonly metadataCalls: string[] = [];
  instanceCalls = 0;
  failing = false;
  withSeriesMetadata = true;

  async *search(): AsyncGenerator<DicomJson> {
    if (this.failing) throw new Error('PACS unreachable');
    for (const se of SERIES) yield { '0020000E': { vr: 'UI', Value: [se] }, '00201209': { vr: 'IS', Value: [3] } };
  }

  async *instances(): AsyncGenerator<never> {
    this.instanceCalls++;
    throw new Error('not used: metadata comes from the PACS');
  }

  get seriesMetadata(): ImageUpstream['seriesMetadata'] {
    if (!this.withSeriesMetadata) return undefined;
    return async (_st: string, se: string) => {
      this.metadataCalls.push(se);
      await new Promise((resolve) => setTimeout(resolve, 10));
      return [1, 2, 3].map((i) => item(se, i));
    };
  }
}

let dir: string;
let pacs: FakePacs;
let service: DicomwebService;
let cache: DicomwebMetadataCache;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'metadata-prepare-'));
  pacs = new FakePacs();
  cache = new DicomwebMetadataCache(openDatabase(':memory:', [m001Meta, { ...m004DicomwebCache, version: 2 }]));
  service = await createDicomwebService({ upstream: pacs, publicBaseUrl: BASE, tempDir: dir, cache, log: createLogger({ test: 'prepare' }) });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('series metadata prepared when a manifest is published', () => {
  it('builds every series of the study once, and the first request is then served from the cache', async () => {
    await Promise.all([service.prepareStudy(STUDY), service.prepareStudy(STUDY)]);
    expect([...pacs.metadataCalls].sort()).toEqual(SERIES);
    for (const se of SERIES) expect(cache.get(STUDY, se)?.instanceCount).toBe(3);

    const answer = await service.seriesMetadata(STUDY, SERIES[0]!, { accept: 'application/dicom+json', signal: new AbortController().signal });
    const chunks: Buffer[] = [];
    for await (const c of answer.body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
    expect(JSON.parse(Buffer.concat(chunks).toString('utf8'))).toHaveLength(3);
    expect(pacs.metadataCalls).toHaveLength(2); // nothing built again
  });

  it('never rejects: a PACS failure leaves the build to the first request', async () => {
    pacs.failing = true;
    await expect(service.prepareStudy(STUDY)).resolves.toBeUndefined();
    expect(cache.get(STUDY, SERIES[0]!)).toBeUndefined();
    pacs.failing = false;
    await service.prepareStudy(STUDY);
    expect(cache.get(STUDY, SERIES[0]!)).toBeDefined();
  });

  it('does nothing over a PACS without its own series metadata (DIMSE: it would mean retrieving every image)', async () => {
    pacs.withSeriesMetadata = false;
    await service.prepareStudy(STUDY);
    expect(pacs.instanceCalls).toBe(0);
    expect(cache.get(STUDY, SERIES[0]!)).toBeUndefined();
  });
});
