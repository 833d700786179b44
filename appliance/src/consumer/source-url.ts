import { findDomainByHost, type Whitelist } from '../auth/whitelist/index.js';

/**
 * Where the consumer may pull images from: the Retrieve URL of each series in the KOS, if it names a DRIMbox of the
 * ANS whitelist (its `db` host) over HTTPS and points at that very study and series (ci-sis-imaging.md §3.1, §3.2).
 * The ANS demonstrator calls whatever host a KOS names (ans-reference-drimbox.md §7): a KOS is data from elsewhere.
 */

export interface SourcePolicy {
  /** The verified whitelist in force; undefined when none ever verified (then no remote host is allowed). */
  whitelist(): Whitelist | undefined;
  /** Tests and the one-machine demo: loopback hosts are allowed without the whitelist, over plain HTTP too. */
  allowInsecureSourceHosts: boolean;
  /** Ports a whitelisted source DRIMbox may be reached on (default 443): the user's token goes nowhere else. */
  sourcePorts?: readonly number[];
  /** Path under which a source DRIMbox serves WADO-RS (default /dicom-web). */
  sourcePathPrefix?: string;
}

export type SourceCheck = { ok: true; seriesUrl: URL; source: string } | { ok: false; reason: string };

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function checkRetrieveUrl(raw: string | undefined, studyUid: string, seriesUid: string, policy: SourcePolicy): SourceCheck {
  if (!raw) return { ok: false, reason: "la série n'a pas d'URL de récupération (Retrieve URL) dans le KOS" };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "l'URL de récupération du KOS n'est pas une URL" };
  }
  if (url.username || url.password || url.search || url.hash) {
    return { ok: false, reason: "l'URL de récupération du KOS porte des identifiants, une requête ou un fragment : refusée" };
  }
  const loopback = LOOPBACK.test(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback && policy.allowInsecureSourceHosts)) {
    return { ok: false, reason: `la DRIMbox source doit être jointe en HTTPS (${url.protocol}//${url.host} refusé)` };
  }
  let source: string;
  if (loopback && policy.allowInsecureSourceHosts) source = url.host;
  else {
    const list = policy.whitelist();
    if (!list) return { ok: false, reason: "aucune liste blanche DRIM-M vérifiée n'est disponible : récupération impossible" };
    const domain = findDomainByHost(list, url.hostname);
    // Only a DRIMbox API host (db) serves WADO-RS; a viewer host (vi) does not.
    if (!domain || domain.db !== url.hostname.toLowerCase().replace(/\.$/, '')) {
      return { ok: false, reason: `la DRIMbox source ${url.hostname} ne figure pas dans la liste blanche DRIM-M` };
    }
    source = domain.db;
    const port = Number(url.port || 443);
    if (!(policy.sourcePorts ?? [443]).includes(port)) {
      return { ok: false, reason: `la DRIMbox source ${url.hostname} doit être jointe sur le port ${(policy.sourcePorts ?? [443]).join(' ou ')} (port ${port} refusé)` };
    }
  }
  const prefix = (policy.sourcePathPrefix ?? '/dicom-web').replace(/\/+$/, '');
  if (!url.pathname.startsWith(`${prefix}/studies/`)) {
    return { ok: false, reason: `l'URL de récupération du KOS doit être sous ${prefix}/ de la DRIMbox source` };
  }
  // The URL must name this study and series (series-level, as DRIM-M KOS do), or this study (study-level).
  const path = url.pathname.replace(/\/+$/, '');
  const st = escapeRegExp(studyUid);
  const se = escapeRegExp(seriesUid);
  let seriesUrl: URL;
  if (new RegExp(`/studies/${st}/series/${se}$`).test(path)) seriesUrl = new URL(url.origin + path);
  else if (new RegExp(`/studies/${st}$`).test(path)) seriesUrl = new URL(`${url.origin}${path}/series/${seriesUid}`);
  else return { ok: false, reason: "l'URL de récupération du KOS ne désigne pas l'examen et la série qu'il référence" };
  return { ok: true, seriesUrl, source };
}
