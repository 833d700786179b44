import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** Every address a host name resolves to (an IP stays itself). */
export async function addressesOf(host: string): Promise<string[]> {
  if (isIP(host)) return [host];
  try {
    return (await lookup(host, { all: true })).map((a) => a.address);
  } catch (err) {
    throw new Error(`cannot resolve the PACS host "${host}" (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): check pacs.host`, { cause: err });
  }
}

/**
 * The local address the box would use to reach `host`: the interface facing the PACS. A connected UDP socket asks
 * the kernel's routing table and sends nothing.
 */
export async function localAddressFacing(host: string): Promise<string> {
  const [address] = await addressesOf(host);
  const family = isIP(address!) === 6 ? 'udp6' : 'udp4';
  const socket = createSocket(family);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(9, address!, () => resolve());
    });
    return socket.address().address;
  } finally {
    socket.close();
  }
}
