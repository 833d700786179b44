import { bearerToken, callerKey, decide, precheck, type CallerPolicy, type PublishedKos, type RateLimiter } from '../auth/access/index.js';
import type { IntrospectionOutcome, TokenIntrospector } from '../auth/psc/index.js';
import type { DistinguishedName, Whitelist } from '../auth/whitelist/index.js';
import type { KosArchive } from '../store/kos-archive.js';
import type { AccessDecision, DicomwebResource } from '../dicomweb/access.js';

/** What the connection says about the caller. */
export interface CallerConnection {
  remoteAddress?: string;
  /** Subject of a client certificate the TLS handshake verified. */
  certificateSubject?: DistinguishedName;
}

export interface ImageAccessDeps {
  archive: KosArchive;
  introspector: TokenIntrospector;
  whitelist: () => Whitelist | undefined;
  rateLimiter: RateLimiter;
  policy: CallerPolicy;
  now?: () => number;
}

/** What the archive says about one study: every KOS built for it, with what each references. */
function publishedKosOf(archive: KosArchive, studyInstanceUid: string): PublishedKos[] {
  return archive.forStudy(studyInstanceUid).map((k) => {
    const series = new Map<string, Set<string>>();
    for (const r of archive.refs(k.id)) {
      let s = series.get(r.seriesInstanceUid);
      if (!s) series.set(r.seriesInstanceUid, (s = new Set()));
      s.add(r.sopInstanceUid);
    }
    return { sopInstanceUid: k.sopInstanceUid, studyInstanceUid: k.studyInstanceUid, active: k.status === 'active', series };
  });
}

/**
 * The source box's access check for its DICOMweb: rate and caller first (no PSC call for a refused caller),
 * then the Pro Santé Connect token by introspection, then the local KOS archive. A search with no study in the
 * path discloses only studies an active KOS of this box covers.
 */
export function createImageAccess(deps: ImageAccessDeps) {
  const now = deps.now ?? Date.now;
  return async (request: Request, resource: DicomwebResource, caller: CallerConnection = {}): Promise<AccessDecision> => {
    const identity = { certificateSubject: caller.certificateSubject };
    const rateLimit = deps.rateLimiter.take(callerKey(caller));
    const whitelist = deps.whitelist();
    const refused = precheck({ rateLimit, caller: identity, policy: deps.policy, whitelist });
    if (refused) return refused;
    const raw = bearerToken(request.headers.get('authorization') ?? undefined);
    const token: IntrospectionOutcome | undefined = raw
      ? await deps.introspector.check(raw)
      : raw === ''
        ? { state: 'unauthenticated', reason: 'malformed-token' }
        : undefined;
    const common = { nowMs: now(), rateLimit, caller: identity, policy: deps.policy, whitelist, token };
    if (!resource.studyInstanceUid) {
      // Study search: only for one named study (never "list all"); the token decides (against a stand-in study),
      // and only a study this box published is disclosed.
      const named = new URL(request.url).searchParams.getAll('StudyInstanceUID');
      if (named.length !== 1 || !/^[0-9.]{1,64}$/.test(named[0]!)) {
        return { outcome: 'deny', status: 403, reason: 'search-needs-study', message: 'a study search must name one StudyInstanceUID: this box never lists the studies it published' };
      }
      const probe = decide({
        ...common,
        resource: { studyInstanceUid: '' },
        kosSopInstanceUid: '',
        publishedKos: [{ sopInstanceUid: '', studyInstanceUid: '', active: true, series: new Map() }],
      });
      if (probe.outcome === 'deny') return probe;
      return { outcome: 'allow', subjectNameId: probe.subjectNameId, mayDisclose: (uid) => uid === named[0] && deps.archive.activeForStudy(uid) !== undefined };
    }
    return decide({
      ...common,
      resource: { studyInstanceUid: resource.studyInstanceUid, seriesInstanceUid: resource.seriesInstanceUid, sopInstanceUid: resource.sopInstanceUid },
      kosSopInstanceUid: resource.kosSopInstanceUid,
      publishedKos: publishedKosOf(deps.archive, resource.studyInstanceUid),
    }) as AccessDecision;
  };
}
