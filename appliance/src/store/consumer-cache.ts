import type { Statement, Transaction } from 'better-sqlite3';
import type { Db } from './database.js';

/**
 * Index of the consumer's local image cache (consumer/cache writes the files): which instances of which study are
 * on disk, their size, the attributes QIDO answers with, and when each study was last used (LRU eviction by study).
 * An instance is indexed only once its file is complete, so the index never names a partial file.
 */

export interface CachedStudyRow {
  studyUid: string;
  bytes: number;
  instances: number;
  studyJson: string;
  createdAt: number;
  lastUsedAt: number;
}

export interface CachedSeriesRow {
  studyUid: string;
  seriesUid: string;
  seriesJson: string;
  instances: number;
}

export interface CachedInstanceRow {
  studyUid: string;
  seriesUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
  transferSyntaxUid: string;
  bytes: number;
  instanceNumber?: number;
  instanceJson: string;
  storedAt: number;
}

export interface NewCachedInstance extends CachedInstanceRow {
  /** Study-level attributes: written when the study is first indexed. */
  studyJson: string;
  /** Series-level attributes: written when the series is first indexed. */
  seriesJson: string;
}

interface RawInstance {
  study_uid: string;
  series_uid: string;
  sop_instance_uid: string;
  sop_class_uid: string;
  transfer_syntax_uid: string;
  bytes: number;
  instance_number: number | null;
  instance_json: string;
  stored_at: number;
}

interface RawStudy {
  study_uid: string;
  bytes: number;
  instances: number;
  study_json: string;
  created_at: number;
  last_used_at: number;
}

function instanceFrom(r: RawInstance): CachedInstanceRow {
  return {
    studyUid: r.study_uid,
    seriesUid: r.series_uid,
    sopInstanceUid: r.sop_instance_uid,
    sopClassUid: r.sop_class_uid,
    transferSyntaxUid: r.transfer_syntax_uid,
    bytes: r.bytes,
    ...(r.instance_number === null ? {} : { instanceNumber: r.instance_number }),
    instanceJson: r.instance_json,
    storedAt: r.stored_at,
  };
}

function studyFrom(r: RawStudy): CachedStudyRow {
  return { studyUid: r.study_uid, bytes: r.bytes, instances: r.instances, studyJson: r.study_json, createdAt: r.created_at, lastUsedAt: r.last_used_at };
}

/**
 * How the image cache commits its index rows: in one write transaction that is not synced to disk as it commits
 * (`synchronous = NORMAL` for it, the connection's own level again after). In WAL mode such a commit is atomic
 * but may roll back after a power loss (sqlite.org/pragma.html#pragma_synchronous); the files its rows named are then
 * nobody's, ImageCache.open() deletes them and a later pull fetches them again: a cached copy, never the only one. The
 * fsync a FULL commit waits for blocked the pull's event loop, network reads included, ~5–10 ms per batch of 64 on
 * the benches' machine. Everything else the box commits stays FULL, and its next commit syncs these rows too.
 */
export function cacheIndexTransaction(db: Db): (work: () => void) => void {
  return (work) => {
    const level = db.pragma('synchronous', { simple: true }) as number;
    db.pragma('synchronous = NORMAL');
    try {
      db.transaction(work).immediate();
    } finally {
      db.pragma(`synchronous = ${level}`);
    }
  };
}

export class ConsumerCacheIndex {
  /** Statements prepared once each: several run per instance, hundreds a second during a pull. */
  private readonly statements = new Map<string, Statement<unknown[]>>();

  constructor(private readonly db: Db) {}

  private prepare(sql: string): Statement<unknown[]> {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  totalBytes(): number {
    return (this.prepare('SELECT coalesce(sum(bytes), 0) AS n FROM consumer_cache_studies').get() as { n: number }).n;
  }

  study(studyUid: string): CachedStudyRow | undefined {
    const r = this.prepare('SELECT * FROM consumer_cache_studies WHERE study_uid = ?').get(studyUid) as RawStudy | undefined;
    return r ? studyFrom(r) : undefined;
  }

  /** Least recently used first. */
  studiesByAge(): CachedStudyRow[] {
    return (this.prepare('SELECT * FROM consumer_cache_studies ORDER BY last_used_at, created_at').all() as RawStudy[]).map(studyFrom);
  }

  series(studyUid: string): CachedSeriesRow[] {
    return (
      this.db
        .prepare(
          `SELECT s.study_uid, s.series_uid, s.series_json, (SELECT count(*) FROM consumer_cache_instances i WHERE i.study_uid = s.study_uid AND i.series_uid = s.series_uid) AS n
           FROM consumer_cache_series s WHERE s.study_uid = ? ORDER BY s.series_uid`,
        )
        .all(studyUid) as { study_uid: string; series_uid: string; series_json: string; n: number }[]
    ).map((r) => ({ studyUid: r.study_uid, seriesUid: r.series_uid, seriesJson: r.series_json, instances: r.n }));
  }

  /** Instances of a study (or of one of its series, or one instance), by series then instance number. */
  instances(studyUid: string, seriesUid?: string, sopInstanceUid?: string): CachedInstanceRow[] {
    const clauses = ['study_uid = ?'];
    const params: string[] = [studyUid];
    if (seriesUid) {
      clauses.push('series_uid = ?');
      params.push(seriesUid);
    }
    if (sopInstanceUid) {
      clauses.push('sop_instance_uid = ?');
      params.push(sopInstanceUid);
    }
    return (
      this.db
        .prepare(`SELECT * FROM consumer_cache_instances WHERE ${clauses.join(' AND ')} ORDER BY series_uid, instance_number, sop_instance_uid`)
        .all(...params) as RawInstance[]
    ).map(instanceFrom);
  }

  /** Whether the instance is indexed, its file complete. */
  hasInstance(studyUid: string, sopInstanceUid: string): boolean {
    return this.prepare('SELECT 1 FROM consumer_cache_instances WHERE study_uid = ? AND sop_instance_uid = ?').get(studyUid, sopInstanceUid) !== undefined;
  }

  /** SOP Instance UIDs of a study on disk, per series. */
  cachedSops(studyUid: string): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    const rows = this.prepare('SELECT series_uid, sop_instance_uid FROM consumer_cache_instances WHERE study_uid = ?').all(studyUid) as {
      series_uid: string;
      sop_instance_uid: string;
    }[];
    for (const r of rows) {
      let set = out.get(r.series_uid);
      if (!set) out.set(r.series_uid, (set = new Set()));
      set.add(r.sop_instance_uid);
    }
    return out;
  }

  /**
   * Indexes complete files in one transaction; for each, false when it was already indexed (nothing changes for it
   * then). The study and series rows are written once per batch (a series' first row keeps its JSON), and each
   * study's totals once, rather than four statements and a savepoint per instance: a pull indexes its instances up
   * to 64 at a time.
   */
  addInstances(rows: readonly NewCachedInstance[], now: number): boolean[] {
    this.adding ??= this.db.transaction((rows: readonly NewCachedInstance[], now: number) => {
      const grown = new Map<string, { bytes: number; instances: number }>();
      const series = new Set<string>();
      const added: boolean[] = [];
      for (const i of rows) {
        let study = grown.get(i.studyUid);
        if (!study) {
          this.prepare(
            `INSERT INTO consumer_cache_studies (study_uid, study_json, created_at, last_used_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (study_uid) DO UPDATE SET last_used_at = excluded.last_used_at`,
          ).run(i.studyUid, i.studyJson, now, now);
          grown.set(i.studyUid, (study = { bytes: 0, instances: 0 }));
        }
        const seriesKey = `${i.studyUid}/${i.seriesUid}`;
        if (!series.has(seriesKey)) {
          this.prepare('INSERT OR IGNORE INTO consumer_cache_series (study_uid, series_uid, series_json) VALUES (?, ?, ?)').run(i.studyUid, i.seriesUid, i.seriesJson);
          series.add(seriesKey);
        }
        const changes = this.prepare(
          `INSERT OR IGNORE INTO consumer_cache_instances
             (study_uid, series_uid, sop_instance_uid, sop_class_uid, transfer_syntax_uid, bytes, instance_number, instance_json, stored_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(i.studyUid, i.seriesUid, i.sopInstanceUid, i.sopClassUid, i.transferSyntaxUid, i.bytes, i.instanceNumber ?? null, i.instanceJson, now).changes;
        if (changes > 0) {
          study.bytes += i.bytes;
          study.instances++;
        }
        added.push(changes > 0);
      }
      for (const [studyUid, { bytes, instances }] of grown) {
        if (instances > 0) this.prepare('UPDATE consumer_cache_studies SET bytes = bytes + ?, instances = instances + ? WHERE study_uid = ?').run(bytes, instances, studyUid);
      }
      return added;
    });
    return this.adding.immediate(rows, now);
  }

  private adding?: Transaction<(rows: readonly NewCachedInstance[], now: number) => boolean[]>;

  /** Forgets an instance whose file went missing. */
  removeInstance(studyUid: string, sopInstanceUid: string): void {
    this.db.transaction(() => {
      const r = this.prepare('SELECT bytes FROM consumer_cache_instances WHERE study_uid = ? AND sop_instance_uid = ?').get(studyUid, sopInstanceUid) as
        | { bytes: number }
        | undefined;
      if (!r) return;
      this.prepare('DELETE FROM consumer_cache_instances WHERE study_uid = ? AND sop_instance_uid = ?').run(studyUid, sopInstanceUid);
      this.prepare('UPDATE consumer_cache_studies SET bytes = bytes - ?, instances = instances - 1 WHERE study_uid = ?').run(r.bytes, studyUid);
    }).immediate();
  }

  touch(studyUid: string, at: number): void {
    this.prepare('UPDATE consumer_cache_studies SET last_used_at = max(last_used_at, ?) WHERE study_uid = ?').run(at, studyUid);
  }

  deleteStudy(studyUid: string): boolean {
    return this.prepare('DELETE FROM consumer_cache_studies WHERE study_uid = ?').run(studyUid).changes > 0;
  }

  allStudyUids(): string[] {
    return (this.prepare('SELECT study_uid FROM consumer_cache_studies').all() as { study_uid: string }[]).map((r) => r.study_uid);
  }
}

/** Series metadata built from the cached files, kept gzipped (the dicomweb/ metadata service's cache interface). */
export class ConsumerMetadataCache {
  constructor(private readonly db: Db) {}

  get(studyInstanceUid: string, seriesInstanceUid: string) {
    const r = this.db
      .prepare('SELECT instance_count, base_url, gzipped_json, built_at FROM consumer_series_metadata WHERE study_uid = ? AND series_uid = ?')
      .get(studyInstanceUid, seriesInstanceUid) as { instance_count: number; base_url: string; gzipped_json: Buffer; built_at: string } | undefined;
    return r
      ? { studyInstanceUid, seriesInstanceUid, instanceCount: r.instance_count, baseUrl: r.base_url, gzippedJson: r.gzipped_json, builtAt: r.built_at }
      : undefined;
  }

  put(entry: { studyInstanceUid: string; seriesInstanceUid: string; instanceCount: number; baseUrl: string; gzippedJson: Buffer; builtAt: string }): void {
    // The study may have been evicted while its metadata was being built: then there is nothing to attach it to.
    this.db
      .prepare(
        `INSERT INTO consumer_series_metadata (study_uid, series_uid, instance_count, base_url, gzipped_json, built_at)
         SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM consumer_cache_studies WHERE study_uid = ?)
         ON CONFLICT (study_uid, series_uid) DO UPDATE SET instance_count = excluded.instance_count, base_url = excluded.base_url,
           gzipped_json = excluded.gzipped_json, built_at = excluded.built_at`,
      )
      .run(entry.studyInstanceUid, entry.seriesInstanceUid, entry.instanceCount, entry.baseUrl, entry.gzippedJson, entry.builtAt, entry.studyInstanceUid);
  }

  invalidateStudy(studyInstanceUid: string): number {
    return this.db.prepare('DELETE FROM consumer_series_metadata WHERE study_uid = ?').run(studyInstanceUid).changes;
  }
}
