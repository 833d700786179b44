import { AddressList } from '../auth/address-list.js';

/**
 * When the box gzips the images it serves (WADO-RS instances): `wan`, for callers outside the private networks —
 * another box or a viewer across the internet, where bytes cost and a CT compresses to about 40 % — but not on the
 * practice's LAN, where the link is fast and the box's CPU is the limit; `always` and `never` as they say.
 */
export type ImageCompression = 'never' | 'wan' | 'always';

/** Loopback, RFC 1918, link-local, CGNAT, IPv6 ULA and link-local. */
const PRIVATE_NETWORKS = new AddressList(['127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '100.64.0.0/10', '::1/128', 'fc00::/7', 'fe80::/10'], 'private networks');

/** Whether an address is in the private networks (IPv4-mapped IPv6 read as IPv4, a zone id ignored). */
export function isPrivateAddress(address: string): boolean {
  return PRIVATE_NETWORKS.has(address.replace(/%.*$/, ''));
}

export function compressImagesFor(policy: ImageCompression, clientAddress: string | undefined): boolean {
  if (policy !== 'wan') return policy === 'always';
  return clientAddress !== undefined && !isPrivateAddress(clientAddress);
}
