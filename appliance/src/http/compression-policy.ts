import { BlockList, isIP } from 'node:net';

/**
 * When the box gzips the images it serves (WADO-RS instances): `wan`, for callers outside the private networks —
 * another box or a viewer across the internet, where bytes cost and a CT compresses to about 40 % — but not on the
 * practice's LAN, where the link is fast and the box's CPU is the limit; `always` and `never` as they say.
 */
export type ImageCompression = 'never' | 'wan' | 'always';

const privateNetworks = new BlockList();
for (const [net, prefix] of [['127.0.0.0', 8], ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['169.254.0.0', 16], ['100.64.0.0', 10]] as const) {
  privateNetworks.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [['::1', 128], ['fc00::', 7], ['fe80::', 10]] as const) privateNetworks.addSubnet(net, prefix, 'ipv6');

/** Loopback, RFC 1918, link-local, CGNAT, IPv6 ULA and link-local (IPv4-mapped IPv6 read as IPv4). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const plain = mapped ?? address.replace(/%.*$/, '');
  const family = isIP(plain);
  if (family === 0) return false;
  return privateNetworks.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}

export function compressImagesFor(policy: ImageCompression, clientAddress: string | undefined): boolean {
  if (policy !== 'wan') return policy === 'always';
  return clientAddress !== undefined && !isPrivateAddress(clientAddress);
}
