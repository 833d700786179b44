/**
 * What a peer may hold open on a TLS listener of the box: its ports face practices and other DRIMboxes, and a
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
