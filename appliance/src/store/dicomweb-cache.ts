import type { CachedSeriesMetadata, SeriesMetadataCache } from '../dicomweb/metadata.js';
import type { Db } from './database.js';

/** Gzipped series metadata for the DICOMweb service, bounded in total size: the least recently used series go first. */

interface RawRow {
  study_uid: string;
  series_uid: string;
  instance_count: number;
  base_url: string;
  json_gz: Buffer;
  built_at: string;
}

export class DicomwebMetadataCache implements SeriesMetadataCache {
  constructor(
    private readonly db: Db,
    /** Total gzipped bytes kept (a 1,300-instance CT series is about 0.5 MB gzipped). */
    private readonly maxBytes = 256 * 1024 * 1024,
  ) {}

  get(studyInstanceUid: string, seriesInstanceUid: string): CachedSeriesMetadata | undefined {
    const r = this.db
      .prepare('SELECT study_uid, series_uid, instance_count, base_url, json_gz, built_at FROM dicomweb_series_metadata WHERE study_uid = ? AND series_uid = ?')
      .get(studyInstanceUid, seriesInstanceUid) as RawRow | undefined;
    if (!r) return undefined;
    this.db.prepare('UPDATE dicomweb_series_metadata SET used_at = ? WHERE study_uid = ? AND series_uid = ?').run(new Date().toISOString(), studyInstanceUid, seriesInstanceUid);
    return {
      studyInstanceUid: r.study_uid,
      seriesInstanceUid: r.series_uid,
      instanceCount: r.instance_count,
      baseUrl: r.base_url,
      gzippedJson: r.json_gz,
      builtAt: r.built_at,
    };
  }

  put(entry: CachedSeriesMetadata): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO dicomweb_series_metadata (study_uid, series_uid, instance_count, base_url, json_gz, bytes, built_at, used_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (study_uid, series_uid) DO UPDATE SET instance_count = excluded.instance_count, base_url = excluded.base_url,
             json_gz = excluded.json_gz, bytes = excluded.bytes, built_at = excluded.built_at, used_at = excluded.used_at`,
        )
        .run(entry.studyInstanceUid, entry.seriesInstanceUid, entry.instanceCount, entry.baseUrl, entry.gzippedJson, entry.gzippedJson.length, entry.builtAt, new Date().toISOString());
      this.prune(entry);
    }).immediate();
  }

  /** When the exam changed (IOCM rejection, late images, corrected report): its series are rebuilt on next use. */
  invalidateStudy(studyInstanceUid: string): number {
    return this.db.prepare('DELETE FROM dicomweb_series_metadata WHERE study_uid = ?').run(studyInstanceUid).changes;
  }

  totalBytes(): number {
    return (this.db.prepare('SELECT COALESCE(SUM(bytes), 0) AS n FROM dicomweb_series_metadata').get() as { n: number }).n;
  }

  /** Drops least recently used series until the total fits; never the one just stored. */
  private prune(keep: CachedSeriesMetadata): void {
    let total = this.totalBytes();
    if (total <= this.maxBytes) return;
    const rows = this.db.prepare('SELECT study_uid, series_uid, bytes FROM dicomweb_series_metadata ORDER BY used_at, rowid').all() as { study_uid: string; series_uid: string; bytes: number }[];
    const del = this.db.prepare('DELETE FROM dicomweb_series_metadata WHERE study_uid = ? AND series_uid = ?');
    for (const r of rows) {
      if (total <= this.maxBytes) break;
      if (r.study_uid === keep.studyInstanceUid && r.series_uid === keep.seriesInstanceUid) continue;
      del.run(r.study_uid, r.series_uid);
      total -= r.bytes;
    }
  }
}
