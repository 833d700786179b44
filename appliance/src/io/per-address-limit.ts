import type { Socket } from 'node:net';
import { normaliseAddress } from '../auth/address-list.js';

/**
 * Open connections per remote address, bounded: what one host may hold open on a listener of the box (the HL7 and
 * HTTPS listeners; the total is the server's own `maxConnections`).
 */
export class PerAddressLimit {
  private readonly open = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Whether the socket may stay (the caller closes it otherwise); if so it is counted until it closes. */
  admit(socket: Socket): boolean {
    const address = normaliseAddress(socket.remoteAddress ?? '');
    const count = this.open.get(address) ?? 0;
    if (count >= this.max) return false;
    this.open.set(address, count + 1);
    socket.once('close', () => {
      const left = (this.open.get(address) ?? 1) - 1;
      if (left > 0) this.open.set(address, left);
      else this.open.delete(address);
    });
    return true;
  }
}
