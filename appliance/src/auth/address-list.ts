/** Allow-lists of peer addresses (RIS, PACS, trusted proxies): an address is where a peer is, never who it is. */
import { BlockList, isIP } from 'node:net';

/** `::ffff:192.0.2.1` (an IPv4 client on a dual-stack socket) is `192.0.2.1`. */
export function normaliseAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/** An allow-list of addresses and CIDR blocks (`192.168.1.20`, `192.168.1.0/24`, `fd00::/8`). */
export class AddressList {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(entries: readonly string[], what: string) {
    for (const entry of entries) {
      const [ip, bits, extra] = entry.trim().split('/');
      const family = isIP(ip ?? '');
      if (!family || extra !== undefined) throw new Error(`${what}: "${entry}" is not an IP address or CIDR block`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) {
        this.list.addAddress(ip!, type);
        continue;
      }
      const prefix = Number(bits);
      if (!/^\d+$/.test(bits) || prefix > (family === 4 ? 32 : 128)) throw new Error(`${what}: "${entry}" has an invalid prefix length`);
      this.list.addSubnet(ip!, prefix, type);
    }
    this.empty = entries.length === 0;
  }

  has(address: string): boolean {
    const a = normaliseAddress(address);
    const family = isIP(a);
    return family !== 0 && this.list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }
}
