import type { Db } from './database.js';

/**
 * The local archive of every KOS this box built and published: the file under the data dir plus an index
 * of what it references. The serving side checks image requests against it (ci-sis-imaging.md §1.6, §3.2).
 */

export type KosStatus = 'active' | 'replaced' | 'withdrawn';

export interface KosRecord {
  id: number;
  sopInstanceUid: string;
  studyInstanceUid: string;
  patientIns: string | null;
  patientInsOid: string | null;
  accession: string | null;
  documentId: string | null;
  file: string;
  bytes: number;
  sha1: string;
  instanceCount: number;
  status: KosStatus;
  replacesId: number | null;
  report: unknown;
  createdAt: string;
}

export interface NewKos {
  sopInstanceUid: string;
  studyInstanceUid: string;
  patientIns?: string;
  patientInsOid?: string;
  accession?: string;
  documentId?: string;
  file: string;
  bytes: number;
  sha1: string;
  report: unknown;
  refs: { seriesInstanceUid: string; sopInstanceUid: string }[];
}

interface Raw {
  id: number;
  sop_instance_uid: string;
  study_instance_uid: string;
  patient_ins: string | null;
  patient_ins_oid: string | null;
  accession: string | null;
  document_id: string | null;
  file: string;
  bytes: number;
  sha1: string;
  instance_count: number;
  status: KosStatus;
  replaces_id: number | null;
  report: string;
  created_at: string;
}

const fromRaw = (r: Raw): KosRecord => ({
  id: r.id,
  sopInstanceUid: r.sop_instance_uid,
  studyInstanceUid: r.study_instance_uid,
  patientIns: r.patient_ins,
  patientInsOid: r.patient_ins_oid,
  accession: r.accession,
  documentId: r.document_id,
  file: r.file,
  bytes: r.bytes,
  sha1: r.sha1,
  instanceCount: r.instance_count,
  status: r.status,
  replacesId: r.replaces_id,
  report: JSON.parse(r.report),
  createdAt: r.created_at,
});

export interface CoverageQuery {
  studyInstanceUid: string;
  seriesInstanceUid?: string;
  sopInstanceUid?: string;
  /** The KOS the caller found the study through (KOS-SOPInstanceUID header), when given. */
  kosSopInstanceUid?: string;
}

export class KosArchive {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Adds a KOS; the active KOS of the same study (if any) becomes 'replaced'. Call inside the caller's transaction. */
  add(kos: NewKos): { record: KosRecord; replaced?: KosRecord } {
    const previous = this.activeForStudy(kos.studyInstanceUid);
    if (previous) this.db.prepare(`UPDATE kos_archive SET status = 'replaced' WHERE id = ?`).run(previous.id);
    const { lastInsertRowid } = this.db
      .prepare(
        `INSERT INTO kos_archive (sop_instance_uid, study_instance_uid, patient_ins, patient_ins_oid, accession, document_id, file, bytes, sha1, instance_count, status, replaces_id, report, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?)`,
      )
      .run(
        kos.sopInstanceUid,
        kos.studyInstanceUid,
        kos.patientIns ?? null,
        kos.patientInsOid ?? null,
        kos.accession ?? null,
        kos.documentId ?? null,
        kos.file,
        kos.bytes,
        kos.sha1,
        kos.refs.length,
        previous?.id ?? null,
        JSON.stringify(kos.report),
        this.now().toISOString(),
      );
    const id = Number(lastInsertRowid);
    const insertRef = this.db.prepare('INSERT OR IGNORE INTO kos_refs (kos_id, series_instance_uid, sop_instance_uid) VALUES (?, ?, ?)');
    for (const r of kos.refs) insertRef.run(id, r.seriesInstanceUid, r.sopInstanceUid);
    return { record: this.get(id)!, replaced: previous };
  }

  get(id: number): KosRecord | undefined {
    const r = this.db.prepare('SELECT * FROM kos_archive WHERE id = ?').get(id) as Raw | undefined;
    return r && fromRaw(r);
  }

  bySopInstanceUid(uid: string): KosRecord | undefined {
    const r = this.db.prepare('SELECT * FROM kos_archive WHERE sop_instance_uid = ?').get(uid) as Raw | undefined;
    return r && fromRaw(r);
  }

  activeForStudy(studyInstanceUid: string): KosRecord | undefined {
    const r = this.db
      .prepare(`SELECT * FROM kos_archive WHERE study_instance_uid = ? AND status = 'active' ORDER BY id DESC LIMIT 1`)
      .get(studyInstanceUid) as Raw | undefined;
    return r && fromRaw(r);
  }

  /** Every KOS built for a study, whatever its state, newest first. */
  forStudy(studyInstanceUid: string): KosRecord[] {
    return (this.db.prepare('SELECT * FROM kos_archive WHERE study_instance_uid = ? ORDER BY id DESC').all(studyInstanceUid) as Raw[]).map(fromRaw);
  }

  activeForAccession(accession: string): KosRecord[] {
    return (this.db.prepare(`SELECT * FROM kos_archive WHERE accession = ? AND status = 'active'`).all(accession) as Raw[]).map(fromRaw);
  }

  /** Active KOS created since a date (late-image watch). */
  activeSince(since: Date): KosRecord[] {
    return (this.db.prepare(`SELECT * FROM kos_archive WHERE status = 'active' AND created_at >= ?`).all(since.toISOString()) as Raw[]).map(fromRaw);
  }

  markWithdrawn(id: number): void {
    this.db.prepare(`UPDATE kos_archive SET status = 'withdrawn' WHERE id = ?`).run(id);
  }

  list(limit = 100): KosRecord[] {
    return (this.db.prepare('SELECT * FROM kos_archive ORDER BY id DESC LIMIT ?').all(limit) as Raw[]).map(fromRaw);
  }

  /**
   * Whether an active KOS covers the request: the study (and the series / instance when asked) must be
   * referenced by it; with a KOS UID, by that very KOS.
   */
  covers(q: CoverageQuery): KosRecord | undefined {
    const kos = q.kosSopInstanceUid ? this.bySopInstanceUid(q.kosSopInstanceUid) : this.activeForStudy(q.studyInstanceUid);
    if (!kos || kos.status !== 'active' || kos.studyInstanceUid !== q.studyInstanceUid) return undefined;
    if (q.sopInstanceUid) {
      const hit = this.db
        .prepare('SELECT series_instance_uid AS s FROM kos_refs WHERE kos_id = ? AND sop_instance_uid = ?')
        .get(kos.id, q.sopInstanceUid) as { s: string } | undefined;
      if (!hit || (q.seriesInstanceUid && hit.s !== q.seriesInstanceUid)) return undefined;
    } else if (q.seriesInstanceUid) {
      const hit = this.db.prepare('SELECT 1 FROM kos_refs WHERE kos_id = ? AND series_instance_uid = ? LIMIT 1').get(kos.id, q.seriesInstanceUid);
      if (!hit) return undefined;
    }
    return kos;
  }

  refs(kosId: number): { seriesInstanceUid: string; sopInstanceUid: string }[] {
    return this.db
      .prepare('SELECT series_instance_uid AS seriesInstanceUid, sop_instance_uid AS sopInstanceUid FROM kos_refs WHERE kos_id = ?')
      .all(kosId) as { seriesInstanceUid: string; sopInstanceUid: string }[];
  }
}
