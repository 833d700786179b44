import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../appliance/src/store/database.js';
import type { CachedSeriesMetadata } from '../../appliance/src/dicomweb/metadata.js';
import { DicomwebMetadataCache } from '../../appliance/src/store/dicomweb-cache.js';
import { m001Meta } from '../../appliance/src/store/migrations/001-meta.js';
import { m003Audit } from '../../appliance/src/store/migrations/003-audit.js';
import { m004DicomwebCache } from '../../appliance/src/store/migrations/004-dicomweb-cache.js';
import { AuditLog } from '../../appliance/src/store/audit.js';

// 004 and 005 renumbered after 001: the source side's 002/003 are registered by the lead.
const open = () => openDatabase(':memory:', [m001Meta, { ...m003Audit, version: 2 }, { ...m004DicomwebCache, version: 3 }]);

const entry = (st: string, se: string, bytes: number): CachedSeriesMetadata => ({
  studyInstanceUid: st,
  seriesInstanceUid: se,
  instanceCount: 3,
  baseUrl: 'https://box/dicom-web',
  gzippedJson: Buffer.alloc(bytes, 1),
  builtAt: '2026-01-01T00:00:00.000Z',
});

describe('DICOMweb metadata cache (SQLite)', () => {
  it('stores, replaces and invalidates series by study', () => {
    const cache = new DicomwebMetadataCache(open());
    cache.put(entry('1.1', '1.1.1', 10));
    cache.put(entry('1.1', '1.1.2', 10));
    cache.put(entry('1.2', '1.2.1', 10));
    cache.put({ ...entry('1.1', '1.1.1', 20), instanceCount: 4 });
    expect(cache.get('1.1', '1.1.1')).toMatchObject({ instanceCount: 4, baseUrl: 'https://box/dicom-web' });
    expect(cache.get('1.1', '1.1.1')!.gzippedJson.length).toBe(20);
    expect(cache.invalidateStudy('1.1')).toBe(2);
    expect(cache.get('1.1', '1.1.2')).toBeUndefined();
    expect(cache.get('1.2', '1.2.1')).toBeDefined();
  });

  it('keeps its total size bounded, dropping the least recently used series first, never the one just stored', async () => {
    const cache = new DicomwebMetadataCache(open(), 100);
    cache.put(entry('1', 'a', 40));
    await new Promise((r) => setTimeout(r, 5));
    cache.put(entry('1', 'b', 40));
    await new Promise((r) => setTimeout(r, 5));
    cache.get('1', 'a'); // a is now more recent than b
    await new Promise((r) => setTimeout(r, 5));
    cache.put(entry('1', 'c', 40));
    expect(cache.get('1', 'b')).toBeUndefined();
    expect(cache.get('1', 'a')).toBeDefined();
    expect(cache.totalBytes()).toBe(80);
    cache.put(entry('1', 'huge', 500));
    expect(cache.get('1', 'huge')).toBeDefined();
  });
});

describe('audit log (SQLite)', () => {
  it('begins a row before serving and completes it, filters by study, subject and time, clips long values', () => {
    const audit = new AuditLog(open());
    const id = audit.begin({ at: '2026-02-01T10:00:00.000Z', method: 'GET', path: '/dicom-web/studies/1.2', action: 'retrieve', studyUid: '1.2', subjectNameId: 'ANS1' });
    audit.finish(id, { status: 200, outcome: 'complete', instances: 5, skipped: 1, bytesSent: 1000, durationMs: 12.6 });
    audit.record({ at: '2026-02-02T10:00:00.000Z', method: 'GET', path: 'x'.repeat(5000), action: 'search', status: 401, outcome: 'refused', instances: 0, skipped: 0, bytesSent: 0, durationMs: 1, subjectNameId: 'ANS2' });
    expect(audit.list({ studyUid: '1.2' })).toMatchObject([{ id, status: 200, outcome: 'complete', instances: 5, skipped: 1, bytesSent: 1000, durationMs: 13 }]);
    expect(audit.list({ subjectNameId: 'ANS2' })[0]!.path).toHaveLength(1024);
    expect(audit.list({ since: '2026-02-02T00:00:00Z' }).map((r) => r.subjectNameId)).toEqual(['ANS2']);
    expect([...audit.iterate({ until: '2026-02-02T00:00:00Z' })].map((r) => r.id)).toEqual([id]);
  });
});
