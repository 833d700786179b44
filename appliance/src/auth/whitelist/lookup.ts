import { sameDistinguishedName, type DistinguishedName } from './dn.js';
import type { Whitelist, WhitelistDomain } from './parse.js';

/** The whitelisted DRIMbox whose API (db) or viewer (vi) host this is; port and trailing dot ignored. */
export function findDomainByHost(list: Whitelist, host: string): WhitelistDomain | undefined {
  const name = normaliseHost(host);
  if (!name) return undefined;
  return list.domains.find((d) => d.db === name || d.vi === name);
}

/** The whitelisted DRIMbox whose operator certificate subject (DNCertificatOperateur) this is. */
export function findDomainByCertificate(list: Whitelist, subject: DistinguishedName): WhitelistDomain | undefined {
  return list.domains.find((d) => sameDistinguishedName(d.operatorDn, subject));
}

function normaliseHost(host: string): string | undefined {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) return undefined; // IPv6 literal: never a whitelisted name
  h = h.replace(/:\d+$/, '').replace(/\.$/, '');
  return h || undefined;
}
