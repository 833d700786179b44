import { networkInterfaces } from 'node:os';

/** The address to give the RIS: the listener's own when it is bound to one, else the box's first LAN IPv4. */
export function lanAddress(listenHost: string): string {
  if (listenHost !== '0.0.0.0' && listenHost !== '::') return listenHost;
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
