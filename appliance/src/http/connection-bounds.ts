import type { Socket } from 'node:net';
import { normaliseAddress } from '../auth/address-list.js';

/**
 * What a peer may hold open on a listener of the box: the listener's ports face practices and other DRIMboxes, and a
 * stranger opening connections and saying nothing must not run the box out of file descriptors.
 */
export interface ConnectionLimits {
  /** A connection silent this long (no byte either way; for HTTP/2, no frame) is closed. */
  idleMs: number;
  /** A TLS handshake not done within this long is abandoned (Node's default is 120 s). */
  handshakeMs: number;
  /** Connections open at once from one address: a practice behind one address, its browsers and its DRIMbox. */
  perAddress: number;
  /** Connections open at once in all. */
  total: number;
}

export const CONNECTION_LIMITS: ConnectionLimits = { idleMs: 120_000, handshakeMs: 20_000, perAddress: 64, total: 1024 };

/** Counts the open connections per remote address; refuses one over the bounds (the caller closes it). */
export class ConnectionBounds {
  private readonly open = new Map<string, number>();
  private total = 0;

  constructor(private readonly limits: Pick<ConnectionLimits, 'perAddress' | 'total'>) {}

  /** Whether the socket may stay; if so it is counted until it closes. */
  admit(socket: Socket): boolean {
    const address = normaliseAddress(socket.remoteAddress ?? '');
    const count = this.open.get(address) ?? 0;
    if (count >= this.limits.perAddress || this.total >= this.limits.total) return false;
    this.open.set(address, count + 1);
    this.total++;
    socket.once('close', () => {
      this.total--;
      const left = (this.open.get(address) ?? 1) - 1;
      if (left > 0) this.open.set(address, left);
      else this.open.delete(address);
    });
    return true;
  }
}
