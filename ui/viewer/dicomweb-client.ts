import type { DicomJsonDataset } from './dicom-json.js';
import { firstPart } from './loader-metadata.js';

/** The few QIDO-RS / WADO-RS calls the viewer makes (PS3.18 §10.6, §10.4), all through one same-origin base. */

export class DicomwebHttpError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
  ) {
    super(`DICOMweb ${url}: HTTP ${status}`);
    this.name = 'DicomwebHttpError';
  }
}

export interface DicomwebClient {
  readonly base: string;
  searchSeries(study: string): Promise<DicomJsonDataset[]>;
  seriesMetadata(study: string, series: string): Promise<DicomJsonDataset[]>;
  /** The WADO-RS URI of one frame (1-based), as the image loader fetches it. */
  frameUrl(study: string, series: string, sop: string, frame: number): string;
  /**
   * The bytes behind a BulkDataURI of the metadata, fetched on this client's own base whatever host the URI names
   * (the server writes its public address): only a `/studies/…/bulk/tag` path is followed.
   */
  bulkData(uri: string): Promise<Uint8Array>;
}

const BULK_PATH = /\/studies\/[0-9.]+\/series\/[0-9.]+\/instances\/[0-9.]+\/bulk\/[0-9A-Fa-f]{8}$/;

export function createDicomwebClient(base: string, headers: () => Record<string, string>): DicomwebClient {
  const root = base.replace(/\/+$/, '');
  const path = (...parts: string[]) => `${root}/${parts.map(encodeURIComponent).join('/')}`;

  async function getJson(url: string): Promise<DicomJsonDataset[]> {
    const res = await fetch(url, { headers: { Accept: 'application/dicom+json', ...headers() }, credentials: 'same-origin' });
    // QIDO-RS answers 204 when nothing matches (PS3.18 §8.3.4.3).
    if (res.status === 204) return [];
    if (!res.ok) throw new DicomwebHttpError(res.status, url);
    const body: unknown = await res.json();
    if (!Array.isArray(body)) throw new DicomwebHttpError(502, url);
    return body.filter((d): d is DicomJsonDataset => d !== null && typeof d === 'object');
  }

  return {
    base: root,
    searchSeries: (study) => getJson(path('studies', study, 'series')),
    seriesMetadata: (study, series) => getJson(path('studies', study, 'series', series, 'metadata')),
    frameUrl: (study, series, sop, frame) => `${path('studies', study, 'series', series, 'instances', sop, 'frames')}/${frame}`,
    async bulkData(uri) {
      const tail = BULK_PATH.exec(new URL(uri, location.origin).pathname)?.[0];
      if (!tail) throw new DicomwebHttpError(400, uri);
      const url = root + tail;
      const res = await fetch(url, { headers: { Accept: 'multipart/related; type="application/octet-stream"', ...headers() }, credentials: 'same-origin' });
      if (!res.ok) throw new DicomwebHttpError(res.status, url);
      return firstPart(new Uint8Array(await res.arrayBuffer()), res.headers.get('content-type') ?? '').bytes;
    },
  };
}
