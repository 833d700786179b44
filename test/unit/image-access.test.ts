import { describe, it, expect, beforeEach } from 'vitest';
import { openDatabase } from '../../appliance/src/store/database.js';
import { KosArchive } from '../../appliance/src/store/kos-archive.js';
import { createImageAccess } from '../../appliance/src/source/image-access.js';
import { createRateLimiter } from '../../appliance/src/auth/access/index.js';
import type { IntrospectionOutcome } from '../../appliance/src/auth/psc/index.js';
import type { DicomwebResource } from '../../appliance/src/http/dicomweb-routes.js';

const STUDY = '1.2.3.4';
const SERIES = '1.2.3.4.1';
const SOP = '1.2.3.4.1.1';
let archive: KosArchive;
let introspections: string[];

const active: IntrospectionOutcome = { state: 'active', subjectNameId: '810000000001', sub: 'claire', scope: ['openid'], exp: Math.floor(Date.now() / 1000) + 600 };

function access(policy = { requireClientCertificate: false, requireWhitelisted: false }) {
  return createImageAccess({
    archive,
    introspector: { check: async (t) => (introspections.push(t), t === 'good' ? active : { state: 'unauthenticated', reason: 'inactive' }) },
    whitelist: () => undefined,
    rateLimiter: createRateLimiter({ capacity: 100, refillPerSecond: 100 }),
    policy,
  });
}

const req = (token?: string, query = '') => new Request(`http://box/dicom-web/studies${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
const res = (r: Partial<DicomwebResource>): DicomwebResource => ({ action: 'retrieve', level: 'study', ...r });

beforeEach(() => {
  archive = new KosArchive(openDatabase(':memory:'));
  introspections = [];
  archive.add({ sopInstanceUid: '9.9.1', studyInstanceUid: STUDY, file: 'kos/9.9.1.dcm', bytes: 1, sha1: 'x', report: {}, refs: [{ seriesInstanceUid: SERIES, sopInstanceUid: SOP }] });
});

describe('the source box’s image access', () => {
  it('serves what an active KOS of this box references, to a valid PSC token', async () => {
    const d = await access()(req('good'), res({ studyInstanceUid: STUDY, seriesInstanceUid: SERIES, sopInstanceUid: SOP, level: 'instance', kosSopInstanceUid: '9.9.1' }));
    expect(d).toMatchObject({ outcome: 'allow', subjectNameId: '810000000001', kosSopInstanceUid: '9.9.1' });
    // Without the manifest's UID, nothing: a PSC token alone does not open every published exam.
    expect(await access()(req('good'), res({ studyInstanceUid: STUDY, seriesInstanceUid: SERIES, sopInstanceUid: SOP, level: 'instance' }))).toMatchObject({ outcome: 'deny', status: 403, reason: 'kos-required' });
  });

  it('refuses without a token (401), with an inactive one (401), and outside the KOS (403)', async () => {
    expect(await access()(req(), res({ studyInstanceUid: STUDY }))).toMatchObject({ outcome: 'deny', status: 401 });
    expect(await access()(req('bad'), res({ studyInstanceUid: STUDY }))).toMatchObject({ outcome: 'deny', status: 401 });
    expect(await access()(req('good'), res({ studyInstanceUid: '1.2.3.5' }))).toMatchObject({ outcome: 'deny', status: 403, reason: 'study-not-published' });
    expect(await access()(req('good'), res({ studyInstanceUid: STUDY, seriesInstanceUid: '1.2.3.4.9', level: 'series' }))).toMatchObject({ outcome: 'deny', status: 403 });
    expect(await access()(req('good'), res({ studyInstanceUid: STUDY, kosSopInstanceUid: '9.9.2' }))).toMatchObject({ outcome: 'deny', status: 403, reason: 'kos-mismatch' });
  });

  it('stops serving a withdrawn manifest', async () => {
    archive.markWithdrawn(archive.bySopInstanceUid('9.9.1')!.id);
    expect(await access()(req('good'), res({ studyInstanceUid: STUDY }))).toMatchObject({ outcome: 'deny', status: 403 });
  });

  it('lets a study search disclose the one published study it names, only with a token, and never lists all', async () => {
    const named = `?StudyInstanceUID=${STUDY}`;
    expect(await access()(req(undefined, named), res({ action: 'search' }))).toMatchObject({ outcome: 'deny', status: 401 });
    expect(await access()(req('good'), res({ action: 'search' }))).toMatchObject({ outcome: 'deny', status: 403, reason: 'search-needs-study' });
    expect(await access()(req('good', '?PatientName=*'), res({ action: 'search' }))).toMatchObject({ outcome: 'deny', reason: 'search-needs-study' });
    const d = await access()(req('good', named), res({ action: 'search' }));
    expect(d.outcome).toBe('allow');
    if (d.outcome !== 'allow') return;
    expect(d.mayDisclose?.(STUDY)).toBe(true);
    expect(d.mayDisclose?.('1.2.3.5')).toBe(false);
  });

  it('refuses a caller without a client certificate before asking PSC, when mutual TLS is required', async () => {
    const d = await access({ requireClientCertificate: true, requireWhitelisted: true })(req('good'), res({ studyInstanceUid: STUDY }));
    expect(d).toMatchObject({ outcome: 'deny', status: 403, reason: 'client-certificate-required' });
    expect(introspections).toEqual([]);
  });
});
